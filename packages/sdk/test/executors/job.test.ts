import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, until, writePlugin } from '../../../../test-support/job-plugin.ts';
import { type JobBackend, JobExecutor } from '../../src/index.ts';
import { ActionNotFoundError, ExecutionError, PluginValidationError } from '../../src/plugins/errors.ts';

describe('JobExecutor (process backend)', () => {
  let dir: string;
  let executor: JobExecutor;
  beforeAll(async () => {
    dir = await writePlugin();
    // No credentials: the jobs log to the console.
    executor = new JobExecutor({
      workingDir: dir,
      env: { GREETING: 'hi', SYNAPSE_CONFIG_DIR: dir },
      stopGraceMs: 2000,
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs a job to its result', async () => {
    const id = await executor.submit('plugin.echo.EchoAction', { name: 'Ann' });
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(['RUNNING', 'SUCCEEDED']).toContain(await executor.getStatus(id));
    const result = (await executor.wait(id)) as { pid: number };
    // A generated id is local: the run gets no SYNAPSE_JOB_ID, so it reports to no backend job.
    expect(result).toMatchObject({ greeting: 'hi Ann', jobId: null });
    expect(result.pid).not.toBe(process.pid);
    expect(await executor.getStatus(id)).toBe('SUCCEEDED');
    expect(await executor.getResult(id)).toEqual(result);
    // The result block is protocol, read for the result, not output: the logs leave it out.
    expect(await executor.getLogs(id)).not.toMatch(/__SYNAPSE_RESULT_(START|END)__|"greeting":"hi Ann"/);

    const given = await executor.submit('plugin/scalar.ts:double', { n: 4 }, { jobId: 'given-id' });
    expect(given).toBe('given-id');
    expect(await executor.wait(given)).toEqual({ result: 8 });
  });

  it('validates params and the entrypoint before starting anything', async () => {
    const invalid = await failure(executor.submit('plugin.echo.EchoAction', { name: 3 }));
    expect(invalid).toBeInstanceOf(PluginValidationError);
    expect(invalid.message).toBe('Parameter validation failed: name: Input should be a valid string');
    await expect(executor.submit('plugin.nope.Action', {})).rejects.toBeInstanceOf(ActionNotFoundError);
  });

  it('fails a job whose action throws, with the error on stderr', async () => {
    const id = await executor.submit('plugin.fail.FailAction');
    const err = await failure(executor.wait(id));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toMatch(new RegExp(`^Job ${id} failed with status FAILED\\. Logs:\\n`));
    expect(err.message).toContain('ERROR: Error: boom\n');
    expect(await executor.getStatus(id)).toBe('FAILED');
    expect(await executor.getResult(id)).toBeNull();
  });

  it('fails a job whose process exits on its own', async () => {
    const id = await executor.submit('plugin.crash.CrashAction');
    await expect(executor.wait(id)).rejects.toThrow(`Job ${id} failed with status FAILED`);
    const logs = await executor.getLogs(id);
    expect(logs).toContain('about to crash\n');
    expect(logs).toContain('Job process exited with code 3\n');
    expect(logs).not.toContain('__SYNAPSE_RESULT_START__');
  });

  it('finds the result among noise around and between markers', async () => {
    const id = await executor.submit('plugin.noisy.NoisyAction');
    expect(await executor.wait(id)).toEqual({ real: true });
    const logs = await executor.getLogs(id);
    for (const noise of [
      'noise before',
      'noise between',
      'noise on stderr',
      'an unterminated line',
      'noise after',
    ]) {
      expect(logs).toContain(noise);
    }
    expect(logs).not.toContain('{"real":true}');
  });

  it('passes params of 32,000 characters or more through a file', async () => {
    const small = await executor.submit('plugin.size.SizeAction', { blob: 'x'.repeat(100) });
    expect(await executor.wait(small)).toEqual({ length: 100, viaFile: false });
    const big = await executor.submit('plugin.size.SizeAction', { blob: 'x'.repeat(40_000) });
    expect(await executor.wait(big)).toEqual({ length: 40_000, viaFile: true });
  });

  it('streams output lines to onOutput', async () => {
    const lines: Array<[string, string]> = [];
    const id = await executor.submit(
      'plugin.fail.FailAction',
      {},
      { onOutput: (line, stream) => lines.push([line, stream]) },
    );
    await executor.wait(id).catch(() => {});
    expect(lines).toContainEqual(['ERROR: Error: boom', 'stderr']);
  });

  it('stops a running job: SIGTERM, status STOPPED', async () => {
    const pidFile = join(dir, 'sleep.pid');
    // An hour's sleep: a stop that waited for the action instead of ending it would hit the hang guard.
    const id = await executor.submit('plugin.sleep.SleepAction', { seconds: 3600, pidFile });
    const pid = Number(await until(() => readFile(pidFile, 'utf8').catch(() => ''), Boolean));
    expect(await executor.getStatus(id)).toBe('RUNNING');

    expect(await executor.stop(id)).toBe(true);
    expect(await executor.getStatus(id)).toBe('STOPPED');
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(executor.wait(id)).rejects.toThrow(`Job ${id} failed with status STOPPED`);
    expect(await executor.stop(id)).toBe(false);
  });

  it('ends a job whose supervisor died without a chance to stop it (no orphan runs on)', async () => {
    const pidFile = join(dir, 'orphan.pid');
    const supervisorFile = join(dir, 'supervisor.ts');
    const sdk = join(import.meta.dirname, '../../src/index.ts');
    await writeFile(
      supervisorFile,
      `import { JobExecutor } from ${JSON.stringify(sdk)};
const executor = new JobExecutor({ workingDir: ${JSON.stringify(dir)}, env: { SYNAPSE_CONFIG_DIR: ${JSON.stringify(dir)} } });
await executor.submit('plugin.sleep.SleepAction', { seconds: 3600, pidFile: ${JSON.stringify(pidFile)} });
setInterval(() => {}, 1000);
`,
    );
    const supervisor = spawn(process.execPath, ['--import', 'tsx', supervisorFile], {
      cwd: join(import.meta.dirname, '../../../..'),
      stdio: 'ignore',
    });
    const pid = Number(await until(() => readFile(pidFile, 'utf8').catch(() => ''), Boolean));
    supervisor.kill('SIGKILL');
    // The job notices (its IPC channel closes; as a backstop, it was re-parented) and exits.
    await until(
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      (gone) => gone,
    );
  });

  it('times out waiting, and knows no unknown job', async () => {
    const id = await executor.submit('plugin.sleep.SleepAction', { seconds: 60 });
    await expect(executor.wait(id, { timeoutSeconds: 0.2 })).rejects.toThrow(
      `Job ${id} timed out after 0.2s`,
    );
    await executor.stop(id);

    expect(await executor.getStatus('nope')).toBe('UNKNOWN');
    await expect(executor.wait('nope')).rejects.toThrow('Job nope not found');
    await expect(executor.getLogs('nope')).rejects.toThrow('Job nope not found');
    await expect(executor.getResult('nope')).rejects.toThrow('Job nope not found');
    await expect(executor.stop('nope')).rejects.toThrow('Job nope not found');
  });

  it('keeps only the end of a large output', async () => {
    const small = new JobExecutor({ workingDir: dir, env: { SYNAPSE_CONFIG_DIR: dir }, maxLogBytes: 64 });
    const id = await small.submit('plugin.noisy.NoisyAction');
    expect(await small.wait(id)).toEqual({ real: true });
    const logs = await small.getLogs(id);
    expect(Buffer.byteLength(logs)).toBeLessThanOrEqual(64);
    expect(logs).toContain('noise after');
  });
});

describe('JobExecutor on a backend that kept no output', () => {
  // A JobBackend (the documented extension point, as Ray Jobs is) whose job failed before it
  // printed anything: the process backend always notes how its process ended, Ray may not.
  const silent: JobBackend = {
    submit: async () => {},
    getStatus: async () => 'FAILED',
    getLogs: async () => '',
    getResult: async () => null,
    finished: async () => 'FAILED',
    stop: async () => false,
  };

  it('says the failed job printed nothing rather than ending on an empty "Logs:"', async () => {
    const executor = new JobExecutor({ backend: silent, validateParams: false });
    const id = await executor.submit('plugin.any.Action', {});
    await expect(executor.wait(id)).rejects.toThrow(
      new ExecutionError(`Job ${id} failed with status FAILED and printed nothing (no logs to show).`),
    );
  });
});
