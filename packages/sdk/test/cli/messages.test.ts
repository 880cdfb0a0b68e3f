/**
 * The CLI's messages with the context to act on them (#15 items 3 and 4), as a user sees them:
 * the real CLI against the shared local platform, or a backend nobody listens on.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
const MARKER = /__SYNAPSE_RESULT_(START|END)__/;
// Its own code: the shared platform holds other files' plugins.
const CODE = `messages-${randomUUID().slice(0, 8)}`;
let root: string;
let plugin: string;
/** Config dirs: logged in to the shared platform (no agent), and to a backend nobody listens on. */
let loggedIn: string;
let unreachable: string;
let deadUrl: string;

const config = (actionKeys = 'entrypoint') => `name: Messages
code: ${CODE}
version: "1.0.0"
category: neural_net
description: the CLI's messages
actions:
  train:
    ${actionKeys}: plugin.actions.TrainAction
    method: job
  fail_silent:
    entrypoint: plugin.actions.failSilent
    method: job
  fail_loud:
    entrypoint: plugin.actions.failLoud
    method: job
`;

const ACTIONS = `
import { BaseAction, z } from 'synapse-sdk';
export class TrainAction extends BaseAction<{ epochs: number; learning_rate: number }> {
  static override paramsSchema = z.object({ epochs: z.number().int().min(1).default(3), learning_rate: z.number().default(0.1) });
  execute() {
    return { epochs: this.params.epochs };
  }
}
export function failSilent() {
  process.exit(3);
}
export function failLoud() {
  console.log('loading the dataset');
  throw new Error('the dataset is empty');
}
`;

async function writePlugin(dir: string, yaml: string): Promise<void> {
  await mkdir(join(dir, 'plugin'), { recursive: true });
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(dir, 'config.yaml'), yaml);
  await writeFile(join(dir, 'plugin', 'actions.ts'), ACTIONS);
}

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  root = await mkdtemp(join(import.meta.dirname, '../.tmp/messages-'));
  plugin = join(root, 'plugin');
  await writePlugin(plugin, config());
  loggedIn = join(root, 'logged-in');
  unreachable = join(root, 'unreachable');
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
  await mkdir(loggedIn);
  await mkdir(unreachable);
  const saved = (host: string, token: string) => JSON.stringify({ host, access_token: token });
  await writeFile(join(loggedIn, 'config.json'), saved(h.server.url, h.server.credentials.accessToken), {
    mode: 0o600,
  });
  await writeFile(join(unreachable, 'config.json'), saved(deadUrl, 'saved-token-31337'), { mode: 0o600 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a user runs it: its exit code and both streams, whether it failed or not. */
function synapse(args: string[], opts: { configDir?: string; cwd?: string } = {}): Promise<Output> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    SYNAPSE_CONFIG_DIR: opts.configDir ?? loggedIn,
  };
  for (const name of ['SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_DEBUG']) delete env[name];
  return run(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? plugin, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

describe('an unreachable backend', () => {
  it('is named by its URL (without credentials), with `synapse doctor` to run', async () => {
    const hint = 'Is the platform running? Run `synapse doctor` to check.';
    const withCredentials = `${deadUrl.replace('://', '://bob:pw-s3cret@')}/api/?token=t0k#x`;
    // At once: each command retries the refused connection with backoff (seconds of waiting).
    const [publish, get, doctor] = await Promise.all([
      synapse(['plugin', 'publish', '--yes'], { configDir: unreachable }),
      synapse(['plugin', 'job', 'get', '7', '--host', withCredentials], { configDir: unreachable }),
      synapse(['doctor'], { configDir: unreachable }),
    ]);
    expect(publish).toMatchObject({
      code: 1,
      stderr: `Error: Failed to upload plugin: Backend connection refused at ${deadUrl}. ${hint}\n`,
    });
    expect(get).toMatchObject({
      code: 1,
      stderr: `Error: Backend connection refused at ${deadUrl}/api. ${hint}\n`,
    });
    for (const { stderr } of [publish, get]) {
      expect(stderr).not.toMatch(/s3cret|t0k|saved-token-31337/);
    }
    // doctor names the platform too, without telling to run itself.
    expect(doctor.stdout).toContain(`✗ token        backend: Backend connection refused at ${deadUrl}.\n`);
  });
});

describe('plugin run', () => {
  it('in remote mode without an agent, says how to select one', async () => {
    const result = await synapse(['plugin', 'run', 'train', '--mode', 'remote']);
    // A usage error (exit 2): nothing was submitted, the command line needs an agent chosen first.
    expect(result).toMatchObject({
      code: 2,
      stderr:
        'Error: No agent selected to run the plugin on. Run `synapse agent select` to choose one ' +
        '(`synapse dev` selects its local agent).\n',
    });
  });

  it.each(['local', 'task', 'job'])(
    'lists the actions of an unknown one and suggests the closest (%s mode)',
    async (mode) => {
      const result = await synapse(['plugin', 'run', 'trian', '--mode', mode]);
      expect(result).toMatchObject({
        code: 1,
        stderr: `Error: Action 'trian' not found in plugin '${CODE}'. Did you mean 'train'? Its actions: train, fail_silent and fail_loud.\n`,
      });
    },
  );

  it.each(['local', 'task', 'job'])(
    'warns on stderr about a param the action does not declare; stdout stays the JSON result (%s mode)',
    async (mode) => {
      const result = await synapse(['plugin', 'run', 'train', '--mode', mode, '--params', '{"epoch": 5}']);
      expect(result.code).toBe(0);
      // The typo'd key is dropped: epochs keeps its default.
      expect(JSON.parse(result.stdout)).toEqual({ epochs: 3 });
      const warning =
        "WARNING: Unknown param 'epoch' is ignored. Did you mean 'epochs'? Declared params: epochs and learning_rate.";
      expect(result.stderr.split('\n').filter((line) => line === warning)).toHaveLength(1);
      expect(result.stderr).not.toMatch(MARKER);
    },
  );

  it('names a typo of a required config key; warns about a typo of an optional one', async () => {
    const typo = join(root, 'typo');
    await writePlugin(typo, config('entrypiont'));
    const failed = await synapse(['plugin', 'run', 'train'], { cwd: typo });
    expect(failed).toMatchObject({
      code: 1,
      stderr:
        "Error: Invalid plugin configuration: Action 'train' missing required 'entrypoint' field " +
        "(found 'entrypiont': did you mean 'entrypoint'?)\n",
    });
    await writePlugin(
      typo,
      config().replace('    method: job\n', '    method: job\n    descripton: trains\n'),
    );
    const warned = await synapse(['plugin', 'run', 'train'], { cwd: typo });
    expect(warned.code).toBe(0);
    expect(JSON.parse(warned.stdout)).toEqual({ epochs: 3 });
    expect(warned.stderr).toContain(
      "WARNING: Unknown key 'descripton' in action 'train' is ignored. Did you mean 'description'?\n",
    );
  });

  it('a failed job points at the output it streamed, never at an empty "Logs:"', async () => {
    const silent = await synapse(['plugin', 'run', 'fail_silent', '--mode', 'job']);
    expect(silent.code).toBe(1);
    expect(silent.stderr).toMatch(
      /^Job process exited with code 3\nError: Job \w+ failed with status FAILED; its output is above\.\n$/,
    );
    const loud = await synapse(['plugin', 'run', 'fail_loud', '--mode', 'job']);
    expect(loud.code).toBe(1);
    expect(loud.stderr).toContain('loading the dataset\n');
    expect(loud.stderr).toContain('the dataset is empty');
    expect(loud.stderr).toMatch(/\nError: Job \w+ failed with status FAILED; its output is above\.\n$/);
    expect(loud.stderr).not.toContain('Logs:');
  });
});

describe('plugin create', () => {
  it('lists the categories as people write them, with the closest', async () => {
    const result = await synapse(['plugin', 'create', '--name', 'X', '--category', 'neural-net'], {
      cwd: root,
    });
    expect(result).toMatchObject({
      code: 2,
      stderr:
        "Error: Invalid category 'neural-net'. Must be one of neural_net, export, upload, smart_tool, " +
        "post_annotation, pre_annotation, data_validation or custom. Did you mean 'neural_net'?\n",
    });
  });
});

describe('jobs on the platform', () => {
  it('an unknown job id: no job <id> on <platform>', async () => {
    for (const command of ['get', 'logs']) {
      const result = await synapse(['plugin', 'job', command, '99999']);
      expect(result).toMatchObject({ code: 1, stderr: `Error: No job 99999 on ${h.server.url}.\n` });
    }
  });

  it('publishing a version twice says to bump it or --overwrite; the global --debug shows the stack', async () => {
    const first = await synapse(['plugin', 'publish', '--yes']);
    expect(first).toMatchObject({ code: 0, stderr: expect.stringContaining('Successfully published') });
    const again = await synapse(['plugin', 'publish', '--yes']);
    expect(again).toMatchObject({
      code: 1,
      stderr:
        `Error: Failed to upload plugin: Version 1.0.0 of plugin '${CODE}' already exists on the platform. ` +
        'Bump `version` in config.yaml to publish a new release, or replace this one with `--overwrite`.\n',
    });
    // --debug after the command is the global flag again (it used to overwrite).
    const debug = await synapse(['plugin', 'publish', '--yes', '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('already exists on the platform');
    expect(debug.stderr).toMatch(/\n\s+at /);
    const overwrite = await synapse(['plugin', 'publish', '--yes', '--overwrite']);
    expect(overwrite.code).toBe(0);
    expect(JSON.parse(overwrite.stdout)).toMatchObject({ code: CODE, version: '1.0.0' });
  });

  it("a job's logs and console show no result markers; the result still reaches the job", async () => {
    const [, releases] = await h.client.listPluginReleases({ plugin__code: CODE });
    if (releases === 0) expect((await synapse(['plugin', 'publish', '--yes'])).code).toBe(0);
    const { job_id: jobId } = await h.client.runPlugin(CODE, {
      agent: h.server.credentials.agentId,
      action: 'train',
      params: { epochs: 2 },
    });
    const followed = await synapse(['plugin', 'job', 'logs', jobId, '--follow']);
    expect(followed.code).toBe(0);
    const stored = await synapse(['plugin', 'job', 'logs', jobId]);
    const job = await h.client.getJob(jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { epochs: 2 } });
    const consoleLines = (job.console_logs ?? []) as string[];
    for (const text of [followed.stdout, stored.stdout, consoleLines.join('\n')]) {
      expect(text).not.toMatch(MARKER);
      expect(text).not.toContain('{"epochs":2}');
    }
  });
});
