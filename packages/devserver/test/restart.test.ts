/**
 * `synapse dev` killed under a running job (#11 item 6): the job's process goes with it, and the
 * next start on the same data dir ends the job FAILED with a reason, instead of RUNNING forever.
 * The platform is a real `synapse dev` process, killed with SIGKILL: it gets no chance to clean up.
 * Own server: the test kills and restarts it on a data folder of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BackendClient, loadCredentials } from 'synapse-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { pluginZip, RELEASE_CONFIG, until } from '../../../test-support/job-plugin.ts';

// The `synapse` CLI of the workspace's SDK, whose `dev` command runs this package.
const BIN = join(
  dirname(createRequire(import.meta.url).resolve('synapse-sdk/package.json')),
  'bin/synapse.js',
);
const REASON = 'The local platform restarted while this job was running; its process is gone.';

const dirs: string[] = [];
const children: ChildProcess[] = [];
const pids: number[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // On a platform without the fix the job outlives its server: it must not outlive the test too.
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** `synapse dev` on `dataDir` (its own config dir, no serve gateway); resolves once it answers. */
async function startPlatform(
  dataDir: string,
  configDir: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'dev', '--port', '0', '--data-dir', dataDir, '--no-serve'], {
    env: { ...process.env, SYNAPSE_CONFIG_DIR: configDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('Press Ctrl+C')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`synapse dev exited ${code}: ${lines.join('\n')}`)));
  });
  return { child, url: /running at (http:\/\/\S+)/.exec(lines.join('\n'))![1] };
}

describe('a job when synapse dev is killed and started again', () => {
  it('dies with the platform, and ends FAILED with the reason after the restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'synapse-restart-data-'));
    const configDir = await mkdtemp(join(tmpdir(), 'synapse-restart-config-'));
    dirs.push(dataDir, configDir);
    const pidFile = join(dataDir, 'job.pid');

    const first = await startPlatform(dataDir, configDir);
    const client = new BackendClient(first.url, {
      accessToken: loadCredentials({ SYNAPSE_CONFIG_DIR: configDir }).accessToken,
    });
    await client.createPluginRelease(
      { plugin: 'executor-demo', version: '1.0.0', config: RELEASE_CONFIG },
      { file: { data: pluginZip(), filename: 'plugin.zip' } },
    );
    const agent = loadCredentials({ SYNAPSE_CONFIG_DIR: configDir }).agent!.id;
    const { job_id: jobId } = await client.runPlugin('executor-demo', {
      agent,
      action: 'sleep',
      params: { seconds: 3600, pidFile },
    });
    const pid = Number(await until(() => readFile(pidFile, 'utf8').catch(() => ''), Boolean, 300_000));
    pids.push(pid);
    expect((await client.getJob(jobId)).status).toBe('RUNNING');
    // Its first line is in the record (written in batches) before the platform dies.
    await until(
      async () => ((await client.listJobConsoleLogs(jobId)) as { results: string[] }).results,
      (lines) => lines.includes('sleeping'),
    );
    await client.close();

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    // The job process notices its server is gone and exits (generous bound: a loaded machine).
    await until(
      async () => alive(pid),
      (running) => !running,
      300_000,
    );

    const second = await startPlatform(dataDir, configDir);
    const again = new BackendClient(second.url, {
      accessToken: loadCredentials({ SYNAPSE_CONFIG_DIR: configDir }).accessToken,
    });
    const job = await again.getJob(jobId);
    expect(job).toMatchObject({ status: 'FAILED', is_active: false });
    expect(job.completed).toEqual(expect.any(String));
    const { results } = (await again.listJobConsoleLogs(jobId)) as { results: string[] };
    expect(results).toContain('sleeping');
    expect(results.at(-1)).toBe(`ERROR: ${REASON}`);
    await again.close();

    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  });
});
