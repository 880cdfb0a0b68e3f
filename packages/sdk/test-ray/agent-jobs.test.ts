/** The devserver's agent started with a Ray address: `job` actions run as Ray jobs, the capacity gate asks Ray. */
import { rm } from 'node:fs/promises';
import { describe, expect, inject, it } from 'vitest';
import { pluginZip, RELEASE_CONFIG, until, writePlugin } from '../../../test-support/job-plugin.ts';
import { type Job, RayClient, RayJobExecutor } from '../src/index.ts';
import { useDevServer } from '../test/helpers.ts';

const rayAddress = inject('rayDashboard');
const h = useDevServer({ rayAddress });
const CODE = 'executor-demo';
const TERMINAL = ['SUCCEEDED', 'FAILED', 'STOPPED'];
const ray = new RayClient(rayAddress);

async function run(action: string, params: Record<string, unknown> = {}): Promise<string> {
  const res = await h.client.runPlugin(CODE, { agent: h.server.credentials.agentId, action, params });
  return res.job_id;
}

const finished = (jobId: string) =>
  until(
    () => h.client.getJob(jobId),
    (job: Job) => TERMINAL.includes(job.status),
    120_000,
  );

const consoleLines = async (jobId: string) =>
  ((await h.client.listJobConsoleLogs(jobId)) as { results: string[] }).results;

describe('agent jobs on Ray', () => {
  it('runs a job action on Ray, reporting progress, result and console log to the backend', async () => {
    await h.client.createPluginRelease(
      { plugin: CODE, version: '1.0.0', config: RELEASE_CONFIG },
      { file: { data: pluginZip(), filename: 'plugin.zip' } },
    );
    const jobId = await run('train', { steps: 3 });
    const job = await finished(jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { epochs: 3 } });
    expect((job as Record<string, any>).progress_record.current_progress).toMatchObject({ overall: 100 });
    const lines = await consoleLines(jobId);
    expect(lines).toContain('SUCCESS: Training finished.');
    expect(lines.join('\n')).not.toContain(h.server.url);
    // It ran on Ray: the cluster knows the job by the platform's id, with the plugin's metadata.
    expect(await ray.getJob(jobId)).toMatchObject({
      status: 'SUCCEEDED',
      metadata: { job_id: jobId, plugin_code: `${CODE}@1.0.0`, action: 'train' },
    });
  });

  it('fails a job whose action throws, and stops one through the agent', async () => {
    const failed = await finished(await run('fail'));
    expect(failed.status).toBe('FAILED');
    expect(await consoleLines(failed.id)).toContain('ERROR: Error: boom');

    const jobId = await run('sleep', { seconds: 600 });
    await until(
      () => ray.getJob(jobId),
      (job) => job?.status === 'RUNNING',
      120_000,
    );
    await h.agent.stopJob(jobId);
    await until(
      () => ray.getJob(jobId),
      (job) => job?.status === 'STOPPED',
      120_000,
    );
    expect((await h.client.getJob(jobId)).status).toBe('STOPPED');
  });
});

describe('capacity gate on Ray', () => {
  it("answers from the cluster's free resources", async () => {
    const ask = () => h.agent.checkFeasibility({ kind: 'serve', num_cpus: 2, replicas: 1, metadata: {} });
    expect(await ask()).toMatchObject({ allowed: true, available: { num_cpus: 2 } });

    // A job holding a CPU of the cluster leaves one: Ray's load report shows it within seconds.
    const dir = await writePlugin();
    const executor = new RayJobExecutor({ dashboardAddress: rayAddress, workingDir: dir, numCpus: 1 });
    const jobId = await executor.submit('plugin.sleep.SleepAction', { seconds: 600 });
    try {
      const denied = await until(ask, (res) => !res.allowed, 120_000);
      expect(denied).toMatchObject({
        reasons: ['insufficient CPU: requested 2.0, available 1.0'],
        available: { num_cpus: 1 },
      });
    } finally {
      await executor.stop(jobId);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
