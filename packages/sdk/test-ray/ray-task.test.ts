/** Task mode on Ray: a warm worker job runs actions one after another without a start-up per run. */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { failure, until, writePlugin } from '../../../test-support/job-plugin.ts';
import { RayClient, RayJobExecutor, RayTaskExecutor, runPlugin } from '../src/index.ts';
import { ActionNotFoundError, ExecutionError } from '../src/plugins/errors.ts';

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

describe('RayTaskExecutor worker failures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await writePlugin();
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fails a call to a worker that went away without naming its address, then starts another', async () => {
    const executor = new RayTaskExecutor({ dashboardAddress, workingDir: dir });
    try {
      expect(await executor.execute('plugin.count.CountAction')).toMatchObject({ calls: 1 });
      const first = await executor.workerJobId();
      const ray = new RayClient(dashboardAddress);
      await ray.stopJob(first);
      await until(
        () => ray.getJob(first),
        (job) => job?.status === 'STOPPED',
        120_000,
      );
      const err = await failure(executor.execute('plugin.count.CountAction'));
      expect(err).toBeInstanceOf(ExecutionError);
      expect(err.message).toMatch(/^Task execution failed: task worker unreachable \([A-Z_]+\)$/);
      expect(await executor.execute('plugin.count.CountAction')).toMatchObject({ calls: 1 });
      expect(await executor.workerJobId()).not.toBe(first);
    } finally {
      await executor.close();
    }
  });

  it('closes without waiting for a worker job that stays PENDING, which Ray then stops', async () => {
    const ray = new RayClient(dashboardAddress);
    // A job holding one of the cluster's two CPUs leaves the worker, which asks for two, pending.
    const blocker = new RayJobExecutor({ dashboardAddress, workingDir: dir, numCpus: 1 });
    const blocking = await blocker.submit('plugin.sleep.SleepAction', { seconds: 600 });
    let workerJob: string;
    try {
      await until(
        () => blocker.getLogs(blocking),
        (logs) => logs.includes('sleeping'),
        120_000,
      );
      const executor = new RayTaskExecutor({ dashboardAddress, workingDir: dir, numCpus: 2 });
      const call = failure(executor.execute('plugin.count.CountAction'));
      const pendingWorker = (jobs: Awaited<ReturnType<RayClient['listJobs']>>) =>
        jobs.find((job) => job.submission_id?.startsWith('synapse-task-') && job.status === 'PENDING');
      workerJob = pendingWorker(
        await until(
          () => ray.listJobs(),
          (jobs) => !!pendingWorker(jobs),
          120_000,
        ),
      )!.submission_id;
      await executor.close();
      expect((await call).message).toBe('Task execution failed: the executor was closed');
    } finally {
      await blocker.stop(blocking);
    }
    // Once Ray can place it, the stop asked for takes effect.
    const ended = await until(
      () => ray.getJob(workerJob),
      (job) => ['SUCCEEDED', 'FAILED', 'STOPPED'].includes(job?.status ?? ''),
      120_000,
    );
    expect(ended?.status).toBe('STOPPED');
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
