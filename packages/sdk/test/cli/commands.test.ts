/** `synapse login`, `plugin update-config`, `plugin publish --dry-run` and `plugin job get|logs` as a user runs them. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
let root: string;
let configDir: string;

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  root = await mkdtemp(join(import.meta.dirname, '../.tmp/commands-'));
  configDir = await mkdtemp(join(tmpdir(), 'synapse-cli-config-'));
});
afterAll(() =>
  Promise.all([rm(root, { recursive: true, force: true }), rm(configDir, { recursive: true, force: true })]),
);

function synapse(args: string[], cwd = root) {
  const env = { ...process.env, SYNAPSE_CONFIG_DIR: configDir, SYNAPSE_HOST: '', SYNAPSE_ACCESS_TOKEN: '' };
  delete (env as Record<string, string | undefined>).SYNAPSE_HOST;
  delete (env as Record<string, string | undefined>).SYNAPSE_ACCESS_TOKEN;
  return run(process.execPath, [BIN, ...args], { cwd, env });
}

describe('synapse login', () => {
  it('refuses a bad token and saves a good one for the owner only, without printing it', async () => {
    const refused = await synapse(['login', '--host', h.server.url, '--token', 'syn_bad']).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('Error: The token was refused by the backend (401).\n');

    const token = h.server.credentials.accessToken;
    const { stdout } = await synapse(['login', '--host', h.server.url, '--token', token]);
    expect(stdout).not.toContain(token);
    const path = join(configDir, 'config.json');
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({
      host: h.server.url,
      access_token: token,
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('plugin commands on a scaffolded plugin', () => {
  let dir: string;
  beforeAll(async () => {
    await synapse(['login', '--host', h.server.url, '--token', h.server.credentials.accessToken]);
    await synapse(['plugin', 'create', '--name', 'Trainer', '--category', 'neural_net', '--path', 'trainer']);
    dir = join(root, 'trainer');
  });

  it('update-config adds an action found in code, then has nothing to change', async () => {
    await writeFile(
      join(dir, 'plugin', 'evaluate.ts'),
      "import { BaseAction } from 'synapse-sdk';\nexport class EvaluateAction extends BaseAction {\n  execute() {\n    return { ok: true };\n  }\n}\n",
    );
    const first = await synapse(['plugin', 'update-config'], dir);
    expect(first.stdout).toMatch(/^evaluate: added \(entrypoint=plugin\.evaluate\.EvaluateAction/m);
    const config = await readFile(join(dir, 'config.yaml'), 'utf8');
    expect(config).toContain('# Synapse plugin configuration');
    expect(config).toMatch(/evaluate:\n\s+entrypoint: plugin\.evaluate\.EvaluateAction\n\s+method: task/);
    expect((await synapse(['plugin', 'update-config'], dir)).stdout).toBe('No changes needed.\n');
  });

  it('publish --dry-run lists the archive without uploading', async () => {
    const { stdout } = await synapse(['plugin', 'publish', '--dry-run'], dir);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({
      release_id: 0,
      version: '0.1.0',
      checksum: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(result.files).toContain('plugin/train.ts');
    expect(result.files).not.toContain('test/train.test.ts');
    const [, releases] = await h.client.listPluginReleases({ plugin__code: 'trainer' });
    expect(releases).toBe(0);
  });

  it('runs a published job action on the devserver and follows its logs to the end', async () => {
    await synapse(['plugin', 'publish', '--yes'], dir);
    const { job_id: jobId } = await h.client.runPlugin('trainer', {
      agent: h.server.credentials.agentId,
      action: 'train',
      params: { epochs: 2 },
    });
    const logs = await synapse(['plugin', 'job', 'logs', jobId, '--follow'], dir);
    expect(logs.stdout).toContain('INFO: [train] Progress: 100.0% (2/2)');
    const job = JSON.parse((await synapse(['plugin', 'job', 'get', jobId], dir)).stdout);
    expect(job).toMatchObject({ id: jobId, status: 'SUCCEEDED', result: { epochs: 2, final_loss: 0.5 } });
    expect(job.metrics_record.record.categories.train).toEqual({ epoch: 2, loss: 0.5 });
    // The stored console logs are the lines the follow stream showed (which skips empty lines).
    const again = await synapse(['plugin', 'job', 'logs', jobId], dir);
    const nonEmpty = (text: string) => text.split('\n').filter(Boolean);
    expect(nonEmpty(again.stdout)).toEqual(nonEmpty(logs.stdout));
  });

  it('masks credentials in what it prints of runs and jobs', async () => {
    const token = h.server.credentials.accessToken;
    const dsn = 'postgres://app:cli-pass-3141@db.internal/main';
    await writeFile(
      join(dir, 'plugin', 'leak.ts'),
      "import { BaseAction } from 'synapse-sdk';\nexport class LeakAction extends BaseAction<{ token: string; dsn: string }> {\n  execute() {\n    console.log('token ' + this.params.token + ' db ' + this.params.dsn);\n    return { echoed: this.params.token, database: this.params.dsn };\n  }\n}\n",
    );
    await synapse(['plugin', 'update-config'], dir);
    // A local job run: its lines (stderr) and result (stdout), the saved token among them.
    const ran = await synapse(
      ['plugin', 'run', 'leak', '--mode', 'job', '--params', JSON.stringify({ token, dsn })],
      dir,
    );
    for (const text of [ran.stdout, ran.stderr]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain('cli-pass-3141');
    }
    expect(ran.stderr).toContain('token *** db postgres://app:***@db.internal/main');
    expect(JSON.parse(ran.stdout)).toEqual({
      echoed: '***',
      database: 'postgres://app:***@db.internal/main',
    });

    // A job on the platform keeps its params as given; `job get` prints them masked.
    const { job_id: jobId } = await h.client.runPlugin('trainer', {
      agent: h.server.credentials.agentId,
      action: 'train',
      params: { epochs: 1, note: `token ${token}`, source: dsn },
    });
    await synapse(['plugin', 'job', 'logs', jobId, '--follow'], dir);
    const got = await synapse(['plugin', 'job', 'get', jobId], dir);
    expect(got.stdout).not.toContain(token);
    expect(got.stdout).not.toContain('cli-pass-3141');
    expect(JSON.parse(got.stdout).params).toMatchObject({
      note: 'token ***',
      source: 'postgres://app:***@db.internal/main',
    });
  });

  it('says what is wrong with an unknown job', async () => {
    const err = await synapse(['plugin', 'job', 'get', 'nope'], dir).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toBe(`Error: No job nope on ${h.server.url}.\n`);
  });
});
