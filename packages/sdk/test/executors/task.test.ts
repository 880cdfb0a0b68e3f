import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, writePlugin } from '../../../../test-support/job-plugin.ts';
import { TaskExecutor } from '../../src/index.ts';
import { ActionNotFoundError, ExecutionError } from '../../src/plugins/errors.ts';

describe('TaskExecutor', () => {
  let dir: string;
  let executor: TaskExecutor;
  beforeAll(async () => {
    dir = await writePlugin();
    executor = new TaskExecutor({ workingDir: dir, env: { GREETING: 'hi' } });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterAll(() => executor.close());

  it('runs actions in one persistent worker that keeps modules imported', async () => {
    const first = (await executor.execute('plugin.count.CountAction')) as { pid: number };
    expect(first).toMatchObject({ imports: 1, calls: 1 });
    expect(first.pid).not.toBe(process.pid);

    // The same process, the module imported once: no process start, no compile on a warm call.
    const second = await executor.execute('plugin.count.CountAction');
    expect(second).toEqual({ imports: 1, calls: 2, pid: first.pid });

    expect(await executor.execute('plugin.echo.EchoAction', { name: 'Ann' }, { jobId: 'j-1' })).toEqual({
      greeting: 'hi Ann',
      jobId: 'j-1',
      pid: first.pid,
    });
  });

  it('runs calls one after another', async () => {
    const results = await Promise.all([1, 2, 3].map(() => executor.execute('plugin.count.CountAction')));
    const calls = results.map((r) => (r as { calls: number }).calls);
    expect(calls).toEqual([calls[0], calls[0] + 1, calls[0] + 2]);
  });

  it('reports import failures and action failures with their contract errors', async () => {
    const missing = await failure(executor.execute('plugin.nope.Action'));
    expect(missing).toBeInstanceOf(ActionNotFoundError);
    expect(missing.message).toMatch(
      /^Cannot resolve entrypoint 'plugin.nope.Action': module 'plugin.nope' not found/,
    );

    const failed = await failure(executor.execute('plugin.fail.FailAction'));
    expect(failed).toBeInstanceOf(ExecutionError);
    expect(failed.message).toBe('Action execution failed: boom');
    const invalid = await failure(executor.execute('plugin.echo.EchoAction', {}));
    expect(invalid.message).toBe(
      'Action execution failed: Parameter validation failed: name: Field required',
    );
    expect(invalid.cause).toMatchObject({
      name: 'PluginValidationError',
      details: { params: { name: ['Field required'] } },
    });
  });

  it('replaces a worker that crashed; the crashing call fails', async () => {
    const before = (await executor.execute('plugin.count.CountAction')) as { pid: number };
    const crash = await failure(executor.execute('plugin.crash.CrashAction'));
    expect(crash).toBeInstanceOf(ExecutionError);
    expect(crash.message).toBe('Task execution failed: worker exited with code 3');
    const after = await executor.execute('plugin.count.CountAction');
    expect(after).toMatchObject({ imports: 1, calls: 1 });
    expect((after as { pid: number }).pid).not.toBe(before.pid);
  });

  it('close() stops the worker; a later call starts a new one', async () => {
    const before = (await executor.execute('plugin.count.CountAction')) as { pid: number };
    await executor.close();
    expect(() => process.kill(before.pid, 0)).toThrow();
    expect(await executor.execute('plugin.count.CountAction')).toMatchObject({ calls: 1 });
  });
});
