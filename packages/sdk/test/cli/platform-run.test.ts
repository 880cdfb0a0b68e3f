/**
 * A published plugin run on the platform through the CLI (#15 items 1 and 2), against the suite's
 * shared local platform: `synapse plugin run --on-platform` checks params before submitting,
 * follows the job to its end (lines, result, exit code), `--no-wait` and `--mode remote` keep the
 * immediate answer; `synapse plugin job list|stop`; Ctrl-C on a followed run (a real SIGINT).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { interruptDecision, jobDuration, textTable } from '../../src/cli/platform.ts';
import { useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
// Unique across the suite's workers, which share the platform.
const CODE = `ticker-${randomUUID().slice(0, 8)}`;
let root: string;
let dir: string;
let env: NodeJS.ProcessEnv;
const started: ChildProcess[] = [];

const TRAIN = `
import { BaseAction, z } from 'synapse-sdk';

const Params = z.object({ epochs: z.number().int().min(1) });

export class TrainAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  async execute() {
    for (let epoch = 1; epoch <= this.params.epochs; epoch++) {
      this.setProgress(epoch, this.params.epochs, 'train');
      this.setMetrics({ epoch, loss: 1 / epoch }, 'train');
      console.log('epoch ' + epoch + ' done');
    }
    return { epochs: this.params.epochs, loss: 1 / this.params.epochs };
  }
}
`;

const FAIL = `
import { defineAction } from 'synapse-sdk';
export const broken = defineAction({ name: 'broken' }, async () => {
  console.log('loading the dataset');
  throw new Error('dataset folder is missing');
});
`;

// Runs until it is stopped, saying so every 200 ms.
const FOREVER = `
import { defineAction } from 'synapse-sdk';
export const forever = defineAction({ name: 'forever', stoppable: true }, async (_params, ctx) => {
  for (let n = 1; ; n++) {
    ctx.throwIfStopped();
    console.log('tick ' + n);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});
`;

const config = (code: string) => `name: Ticker
code: ${code}
version: "1.0.0"
category: neural_net
description: jobs for the platform-run tests
actions:
  train:
    entrypoint: plugin/train.ts:TrainAction
    method: job
  broken:
    entrypoint: plugin/broken.ts:broken
    method: job
  forever:
    entrypoint: plugin/forever.ts:forever
    method: job
`;

function synapse(args: string[], cwd = dir) {
  return run(process.execPath, [BIN, ...args], { cwd, env });
}

async function failure(args: string[], cwd = dir) {
  const err = await synapse(args, cwd).then(
    () => null,
    (e) => e,
  );
  expect(err, `synapse ${args.join(' ')} should fail`).not.toBeNull();
  return { code: err.code as number, stdout: err.stdout as string, stderr: err.stderr as string };
}

async function jobsOfPlugin() {
  const plugin = await h.client.getPlugin(CODE);
  const [jobs] = await h.client.listJobs({ plugin: plugin.id, page_size: 1000 });
  return jobs;
}

/** Spawns the CLI with its output collected; `seen(text)` resolves once the output shows it. */
function spawnCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters) w();
  };
  child.stdout!.on('data', (c) => {
    stdout += c;
    notify();
  });
  child.stderr!.on('data', (c) => {
    stderr += c;
    notify();
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    seen: (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const match = stderr.match(pattern) ?? stdout.match(pattern);
          if (match) resolve(match);
        };
        waiters.push(check);
        check();
        exited.then(() => {
          check();
          reject(new Error(`the CLI exited before printing ${pattern}:\n${stderr}`));
        });
      }),
  };
}

beforeAll(async () => {
  const tmp = join(import.meta.dirname, '../.tmp');
  await mkdir(tmp, { recursive: true });
  // Inside the repository, so the plugin's `synapse-sdk` import resolves to this package.
  root = await mkdtemp(join(tmp, 'platform-run-'));
  dir = join(root, 'ticker');
  await mkdir(join(dir, 'plugin'), { recursive: true });
  await writeFile(join(dir, 'config.yaml'), config(CODE));
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(dir, 'plugin/train.ts'), TRAIN);
  await writeFile(join(dir, 'plugin/broken.ts'), FAIL);
  await writeFile(join(dir, 'plugin/forever.ts'), FOREVER);
  // The CLI's own config (as `synapse dev` writes it): the platform and its agent.
  const configDir = join(root, 'config');
  await mkdir(configDir);
  const { url, agentUrl, credentials } = h.server;
  await writeFile(
    join(configDir, 'config.json'),
    JSON.stringify({
      host: url,
      access_token: credentials.accessToken,
      agent: { id: credentials.agentId, name: 'local', url: agentUrl, token: credentials.agentToken },
    }),
    { mode: 0o600 },
  );
  const { RAY_DASHBOARD_URL: _ray, ...rest } = process.env;
  env = { ...rest, SYNAPSE_CONFIG_DIR: configDir };
  await synapse(['plugin', 'publish', '--yes']);
});

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  // Nothing of this file keeps running on the shared platform.
  const jobs = await jobsOfPlugin().catch(() => []);
  await Promise.all(
    jobs.filter((j) => j.status === 'RUNNING' || j.status === 'PENDING').map((j) => h.agent.stopJob(j.id)),
  );
  await rm(root, { recursive: true, force: true });
});

describe('synapse plugin run --on-platform', () => {
  it('refuses invalid params before submitting: a usage error naming the field, no job', async () => {
    const before = (await jobsOfPlugin()).length;
    const refused = await failure(['plugin', 'run', 'train', '--on-platform', '--params', '{"epochs": 0}']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^Error: Parameter validation failed: epochs: .*Nothing was submitted\.\n$/,
    );
    const missing = await failure(['plugin', 'run', 'train', '--mode', 'remote', '--params', '{}']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('epochs: Field required');
    expect(await jobsOfPlugin()).toHaveLength(before);
  });

  it('follows the job to its end: its lines and progress on stderr, the result on stdout, exit 0', async () => {
    const { stdout, stderr } = await synapse([
      'plugin',
      'run',
      'train',
      '--on-platform',
      '--params',
      '{"epochs": 3}',
    ]);
    expect(JSON.parse(stdout)).toEqual({ epochs: 3, loss: 1 / 3 });
    const jobId = stderr.match(/^Job (\S+) submitted \(.+ train\); following it\./m)?.[1];
    expect(jobId).toBeDefined();
    for (const line of [
      'epoch 1 done',
      'epoch 3 done',
      '[train] Progress: 100.0% (3/3)',
      '[train] Metrics: {"epoch":3',
    ]) {
      expect(stderr).toContain(line);
    }
    expect(stderr).not.toContain('__SYNAPSE_RESULT');
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(`Job ${jobId} SUCCEEDED.`);
    const job = await h.client.getJob(jobId!);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result).toEqual({ epochs: 3, loss: 1 / 3 });
  });

  it('exits non-zero with the failure reason when the job fails', async () => {
    const failed = await failure(['plugin', 'run', 'broken', '--on-platform']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toContain('loading the dataset');
    const last = failed.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^Error: Job \S+ FAILED: .*dataset folder is missing/);
  });

  it('--no-wait, and --mode remote with it, answer {job_id, status} at once', async () => {
    for (const flags of [
      ['--on-platform', '--no-wait'],
      ['--mode', 'remote', '--no-wait'],
    ]) {
      const { stdout } = await synapse(['plugin', 'run', 'train', ...flags, '--params', '{"epochs": 1}']);
      const answer = JSON.parse(stdout);
      expect(answer).toEqual({ job_id: expect.any(String), status: 'PENDING' });
      expect((await h.client.getJob(answer.job_id)).action).toBe('train');
    }
  });

  it('--on-platform cannot be combined with a local mode', async () => {
    const refused = await failure(['plugin', 'run', 'train', '--on-platform', '--mode', 'job']);
    expect(refused).toMatchObject({
      code: 2,
      stderr:
        'Error: --on-platform runs the action on the platform: it cannot be combined with --mode job.\n',
    });
  });

  it('without a TTY, Ctrl-C detaches and says how to stop the job; the job keeps running', async () => {
    const cli = spawnCli(['plugin', 'run', 'forever', '--on-platform']);
    const [, jobId] = await cli.seen(/^Job (\S+) submitted/m);
    await cli.seen(/tick 2/);
    cli.child.kill('SIGINT');
    const [code] = await cli.exited;
    expect(code).toBe(130);
    const { stderr, stdout } = cli.output();
    expect(stdout).toBe('');
    expect(stderr).toContain(
      `Detached: job ${jobId} keeps running on the platform.\n` +
        `  follow it: synapse plugin job logs ${jobId} --follow\n` +
        `  stop it:   synapse plugin job stop ${jobId}\n`,
    );
    expect((await h.client.getJob(jobId)).status).toBe('RUNNING');

    // The command it names stops it.
    const { stdout: stopped } = await synapse(['plugin', 'job', 'stop', jobId]);
    expect(stopped).toBe(`Stopped job ${jobId} (STOPPED).\n`);
    expect((await h.client.getJob(jobId)).status).toBe('STOPPED');
    const again = await synapse(['plugin', 'job', 'stop', jobId]);
    expect(again.stdout).toBe(`Job ${jobId} has already ended: STOPPED.\n`);
  });

  it('on a terminal, Ctrl-C asks whether to stop the job; y stops it', async () => {
    // A pseudo-terminal (Python's pty module) between this test and the CLI: Ctrl-C typed there
    // is the terminal's SIGINT to the CLI, and the answer is typed at its prompt.
    const child = spawn(
      'python3',
      [
        '-c',
        'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))',
        process.execPath,
        BIN,
        'plugin',
        'run',
        'forever',
        '--on-platform',
      ],
      { cwd: dir, env, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    started.push(child);
    let output = '';
    const waiters: Array<() => void> = [];
    child.stdout!.on('data', (c) => {
      output += c;
      for (const w of waiters) w();
    });
    const exited = once(child, 'exit');
    const seen = (pattern: RegExp) =>
      Promise.race([
        new Promise<RegExpMatchArray>((resolve) => {
          const check = () => {
            const match = output.match(pattern);
            if (match) resolve(match);
          };
          waiters.push(check);
          check();
        }),
        exited.then(() => {
          throw new Error(`the CLI exited before printing ${pattern}:\n${output}`);
        }),
      ]);
    const [, jobId] = await seen(/Job (\S+) submitted/);
    await seen(/tick 2/);
    child.stdin!.write('\x03');
    await seen(new RegExp(`Stop job ${jobId} on the platform\\? \\[y/N\\] `));
    child.stdin!.write('y\r');
    const [code] = await exited;
    expect(output).toContain(`Stopping job ${jobId}...`);
    expect(output).toContain(`Stopped job ${jobId}.`);
    expect(code).toBe(130);
    expect((await h.client.getJob(jobId)).status).toBe('STOPPED');
  });

  it('Ctrl-C asks only on a terminal, and stops only on a yes', () => {
    expect(interruptDecision(true, 'y')).toBe('stop');
    expect(interruptDecision(true, ' Yes ')).toBe('stop');
    expect(interruptDecision(true, '')).toBe('detach');
    expect(interruptDecision(true, 'n')).toBe('detach');
    expect(interruptDecision(false, 'y')).toBe('detach');
  });
});

describe('synapse plugin job list and stop', () => {
  it('lists the newest jobs first as a table, filtered by status and plugin, or as JSON', async () => {
    const { stdout } = await synapse([
      'plugin',
      'run',
      'train',
      '--on-platform',
      '--no-wait',
      '--params',
      '{"epochs": 1}',
    ]);
    const newest = JSON.parse(stdout).job_id as string;
    const table = (await synapse(['plugin', 'job', 'list', '--plugin', CODE])).stdout.split('\n');
    expect(table[0]).toMatch(/^JOB +STATUS +PLUGIN +ACTION +CREATED \(UTC\) +DURATION$/);
    expect(table[1]).toMatch(
      new RegExp(`^${newest} +[A-Z]+ +${CODE} +train +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\d+s$`),
    );

    const { stdout: json } = await synapse([
      'plugin',
      'job',
      'list',
      '--plugin',
      CODE,
      '--status',
      'failed',
      '--json',
    ]);
    const failed = JSON.parse(json) as Array<{ status: string; action: string }>;
    expect(failed.length).toBeGreaterThan(0);
    for (const job of failed) expect(job).toMatchObject({ status: 'FAILED', action: 'broken' });

    const limited = (await synapse(['plugin', 'job', 'list', '--plugin', CODE, '--limit', '1'])).stdout;
    expect(limited).toMatch(/\n\(the 1 newest of \d+ jobs; --limit \d+ shows all\)\n$/);

    const badStatus = await failure(['plugin', 'job', 'list', '--status', 'done']);
    expect(badStatus).toMatchObject({
      code: 2,
      stderr: 'Error: Invalid --status: done. Use pending, running, stopped, succeeded or failed.\n',
    });
    const badPlugin = await failure(['plugin', 'job', 'list', '--plugin', `${CODE}-none`]);
    expect(badPlugin.stderr).toBe(`Error: No plugin ${CODE}-none on the platform.\n`);
  });

  it('says "No job <id>" for an id the platform does not know', async () => {
    const id = randomUUID();
    const unknown = await failure(['plugin', 'job', 'stop', id]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(new RegExp(`^Error: No job ${id} on http://127\\.0\\.0\\.1:\\d+\\.\n$`));
  });

  it('formats tables and durations for people', () => {
    expect(
      textTable(
        ['A', 'LONG'],
        [
          ['xyz', '1'],
          ['q', '22'],
        ],
      ),
    ).toBe('A    LONG\nxyz  1\nq    22\n');
    const created = '2026-01-01T00:00:00Z';
    expect(jobDuration({ created, completed: '2026-01-01T00:00:07Z' })).toBe('7s');
    expect(jobDuration({ created, completed: '2026-01-01T00:02:05Z' })).toBe('2m 05s');
    expect(jobDuration({ created, completed: '2026-01-01T03:04:00Z' })).toBe('3h 04m');
    expect(jobDuration({ created, completed: null }, Date.parse('2026-01-01T00:00:42Z'))).toBe('42s');
  });
});

describe('synapse plugin run --mode job', () => {
  it('says at the end that the job ran on this machine, and how to run it on the platform', async () => {
    const { stdout, stderr } = await synapse([
      'plugin',
      'run',
      'train',
      '--mode',
      'job',
      '--params',
      '{"epochs": 1}',
    ]);
    expect(JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1))).toEqual({ epochs: 1, loss: 1 });
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      'Ran as a job on this machine, not on the platform (nor its dashboard). On the platform: synapse plugin publish, then synapse plugin run train --on-platform',
    );
  });
});
