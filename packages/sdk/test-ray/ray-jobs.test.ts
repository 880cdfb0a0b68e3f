/** Job mode on Ray: actions submitted through the Ray Jobs REST API to the suite's own head. */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RayClient, RayJobExecutor, runPlugin } from '../src/index.ts';
import { ExecutionError } from '../src/plugins/errors.ts';
import { failure, until, writePlugin } from '../test/executors/fixtures.ts';

const dashboardAddress = inject('rayDashboard');

describe('RayJobExecutor', () => {
  let dir: string;
  let executor: RayJobExecutor;
  beforeAll(async () => {
    dir = await writePlugin();
    executor = new RayJobExecutor({
      dashboardAddress,
      workingDir: dir,
      env: { GREETING: 'hi', SYNAPSE_CONFIG_DIR: dir },
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs a job to its result, streaming its output', async () => {
    const lines: string[] = [];
    const id = await executor.submit(
      'plugin.echo.EchoAction',
      { name: 'Ann' },
      { onOutput: (l) => lines.push(l) },
    );
    const result = (await executor.wait(id)) as { pid: number };
    expect(result).toMatchObject({ greeting: 'hi Ann', jobId: null });
    expect(result.pid).not.toBe(process.pid);
    expect(await executor.getStatus(id)).toBe('SUCCEEDED');
    expect(await executor.getResult(id)).toEqual(result);
    expect(lines).toContain('__SYNAPSE_RESULT_START__');
    const job = await new RayClient(dashboardAddress).getJob(id);
    expect(job).toMatchObject({ status: 'SUCCEEDED', metadata: { job_id: id } });
  });

  it('passes large params through a file in the working directory', async () => {
    const blob = 'x'.repeat(40_000);
    const id = await executor.submit('plugin.size.SizeAction', { blob });
    expect(await executor.wait(id)).toEqual({ length: 40_000, viaFile: true });
  });

  it('fails a job whose action throws, with the error in its logs', async () => {
    const id = await executor.submit('plugin.fail.FailAction');
    const err = await failure(executor.wait(id));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toMatch(new RegExp(`^Job ${id} failed with status FAILED\\. Logs:\\n`));
    expect(err.message).toContain('ERROR: Error: boom');
    expect(await executor.getStatus(id)).toBe('FAILED');
    expect(await executor.getResult(id)).toBeNull();
  });

  it('stops a job mid-run', async () => {
    const id = await executor.submit('plugin.sleep.SleepAction', { seconds: 600 });
    await until(
      () => executor.getLogs(id),
      (logs) => logs.includes('sleeping'),
      120_000,
    );
    expect(await executor.stop(id)).toBe(true);
    expect(await executor.getStatus(id)).toBe('STOPPED');
    await expect(executor.wait(id)).rejects.toThrow(`Job ${id} failed with status STOPPED`);
    expect(await executor.stop(id)).toBe(false);
  });

  it('refuses resources beyond the cluster up front instead of leaving the job pending', async () => {
    const big = new RayJobExecutor({ dashboardAddress, workingDir: dir, numCpus: 64, numGpus: 1 });
    const err = await failure(big.submit('plugin.echo.EchoAction', { name: 'x' }, { jobId: 'too-big' }));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toBe(
      'The Ray cluster cannot run this job: it asks for more than a node has: CPU 64.0 (largest node: 2.0), GPU 1.0 (largest node: 0.0)',
    );
    expect(err.message).not.toContain(dashboardAddress);
    expect(await big.getStatus('too-big')).toBe('UNKNOWN');
  });

  it('validates params before submitting and reports unknown jobs', async () => {
    await expect(executor.submit('plugin.echo.EchoAction', { name: 3 })).rejects.toThrow(
      'Parameter validation failed',
    );
    expect(await executor.getStatus('never-submitted')).toBe('UNKNOWN');
    await expect(executor.getLogs('never-submitted')).rejects.toThrow('Job never-submitted not found');
  });

  it('runs through runPlugin with a Ray address, asking for entrypoint resources', async () => {
    const result = await runPlugin(
      dir,
      'echo',
      { name: 'Cy' },
      { mode: 'job', rayAddress: dashboardAddress, numCpus: 1, wait: true },
    );
    expect(result).toMatchObject({ greeting: 'hello Cy' });
  });
});
