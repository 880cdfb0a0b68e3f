/** Task mode on Ray: a warm worker job runs actions one after another without a start-up per run. */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RayClient, RayTaskExecutor, runPlugin } from '../src/index.ts';
import { ActionNotFoundError, ExecutionError } from '../src/plugins/errors.ts';
import { failure, writePlugin } from '../test/executors/fixtures.ts';

const dashboardAddress = inject('rayDashboard');

describe('RayTaskExecutor', () => {
  let dir: string;
  let executor: RayTaskExecutor;
  beforeAll(async () => {
    dir = await writePlugin();
    executor = new RayTaskExecutor({ dashboardAddress, workingDir: dir, env: { GREETING: 'hey' } });
  });
  afterAll(async () => {
    await executor.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs actions in one warm worker on the cluster that keeps modules imported', async () => {
    const first = (await executor.execute('plugin.count.CountAction')) as {
      imports: number;
      calls: number;
      pid: number;
    };
    const second = (await executor.execute('plugin.count.CountAction')) as typeof first;
    expect(first).toMatchObject({ imports: 1, calls: 1 });
    expect(second).toEqual({ imports: 1, calls: 2, pid: first.pid });
    expect(first.pid).not.toBe(process.pid);
    expect(await executor.execute('plugin.echo.EchoAction', { name: 'Di' })).toMatchObject({
      greeting: 'hey Di',
    });
    const job = await new RayClient(dashboardAddress).getJob(await executor.workerJobId());
    expect(job?.status).toBe('RUNNING');
  });

  it('fails a call whose action throws or cannot be found, and keeps the worker', async () => {
    const err = await failure(executor.execute('plugin.fail.FailAction'));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toBe('Action execution failed: boom');
    await expect(executor.execute('plugin.nope.Action')).rejects.toBeInstanceOf(ActionNotFoundError);
    expect(await executor.execute('plugin.count.CountAction')).toMatchObject({ calls: 3 });
  });

  it('stops its worker job on close', async () => {
    const jobId = await executor.workerJobId();
    await executor.close();
    expect((await new RayClient(dashboardAddress).getJob(jobId))?.status).toBe('STOPPED');
  });
});

describe('runPlugin in task mode with a Ray address', () => {
  it('runs the action in a warm worker on Ray and stops it afterwards', async () => {
    const dir = await writePlugin();
    try {
      const result = await runPlugin(
        dir,
        'double',
        { n: 21 },
        { mode: 'task', rayAddress: dashboardAddress },
      );
      expect(result).toEqual(42);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
