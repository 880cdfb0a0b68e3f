/** Job mode on Ray: actions submitted through the Ray Jobs REST API to the suite's own head. */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { failure, until, writePlugin } from '../../../test-support/job-plugin.ts';
import { RayClient, RayJobExecutor, runPlugin } from '../src/index.ts';
import { ExecutionError } from '../src/plugins/errors.ts';

const dashboardAddress = inject('rayDashboard');
const run = promisify(execFile);
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SDK = pathToFileURL(join(import.meta.dirname, '../src/index.ts')).href;

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

  it('lets a library caller that only submits exit while its job runs on', async () => {
    const script = join(dir, 'submit-only.ts');
    await writeFile(
      script,
      `import { RayJobExecutor } from ${JSON.stringify(SDK)};
const executor = new RayJobExecutor({ dashboardAddress: process.argv[2], workingDir: process.argv[3] });
console.log(await executor.submit('plugin.sleep.SleepAction', { seconds: 600 }));
`,
    );
    // Resolves once the process has exited by itself: nothing it left behind keeps it up.
    const { stdout } = await run(process.execPath, ['--import', TSX, script, dashboardAddress, dir]);
    const id = stdout.trim();
    try {
      expect(['PENDING', 'RUNNING']).toContain(await executor.getStatus(id));
    } finally {
      await executor.stop(id);
    }
  });

  it('reports an unreachable dashboard by the error code, never by its address', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const closed = new RayJobExecutor({ dashboardAddress: `http://127.0.0.1:${port}`, workingDir: dir });
    const err = await failure(closed.submit('plugin.echo.EchoAction', { name: 'x' }));
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err.message).toBe('Ray dashboard unreachable (ECONNREFUSED): GET /api/cluster_status?format=0');
    expect(err.message).not.toContain(String(port));
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
