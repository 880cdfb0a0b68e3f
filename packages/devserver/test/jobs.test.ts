/**
 * Job actions run end to end: published to the devserver, run by its agent as real processes. The
 * runs share the suite's platform (codes of their own); `runJobs: false` is a server-wide setting,
 * so that one case starts a server of its own.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Job, JobExecutor } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRelease, useDevServer, useSharedPlatform } from '../../../test-support/harness.ts';
import { pluginZip, RELEASE_CONFIG, until, writePlugin } from '../../../test-support/job-plugin.ts';

const h = useSharedPlatform();
// Codes of this file's own: other files publish to the shared platform too.
const CODE = `executor-demo-${randomUUID().slice(0, 8)}`;
const UNSAFE = `unsafe-demo-${randomUUID().slice(0, 8)}`;
const TERMINAL = ['SUCCEEDED', 'FAILED', 'STOPPED'];

let dir: string;
beforeAll(async () => {
  dir = await writePlugin();
  await h.client.createPluginRelease(
    { plugin: CODE, version: '1.0.0', config: { ...RELEASE_CONFIG, code: CODE } },
    { file: { data: pluginZip(), filename: 'plugin.zip' } },
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(action: string, params: Record<string, unknown> = {}): Promise<string> {
  const res = await h.client.runPlugin(CODE, { agent: h.server.credentials.agentId, action, params });
  expect(res).toEqual({ job_id: expect.any(String), status: 'PENDING' });
  return res.job_id;
}

function finished(jobId: string): Promise<Job> {
  return until(
    () => h.client.getJob(jobId),
    (job) => TERMINAL.includes(job.status),
  );
}

async function consoleLines(jobId: string): Promise<string[]> {
  return ((await h.client.listJobConsoleLogs(jobId)) as { results: string[] }).results;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line.replace(/\n$/, ''));
  return out;
}

describe('devserver job runs', () => {
  it('runs a job action to SUCCEEDED with its result, progress, metrics, logs and console log', async () => {
    const jobId = await run('train', { steps: 4 });
    const tail = collect(h.client.tailJobConsoleLogs(jobId));
    const job = await finished(jobId);
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { epochs: 4 }, is_active: false });
    expect(job.completed).toEqual(expect.any(String));
    const { progress_record: progress, metrics_record: metrics } = job as Record<string, any>;
    expect(progress.record.categories.train).toMatchObject({ proportion: 100, percent: 100 });
    expect(progress.current_progress).toMatchObject({ overall: 100 });
    expect(metrics.record.categories.train).toEqual({ loss: 0.25, accuracy: 0.9 });

    const logs = await h.client.get('logs/', { params: { job: jobId } });
    expect(logs.results.map((l: { event: string }) => l.event).sort()).toEqual(['epoch_done', 'message']);

    const lines = await consoleLines(jobId);
    expect(lines).toContain('INFO: [train] Progress: 100.0% (4/4) | ETA: 0s');
    expect(lines).toContain('SUCCESS: Training finished.');
    // The result block (and the blank line before it) is protocol: the job has its result, the console not.
    expect(lines.join('\n')).not.toMatch(/__SYNAPSE_RESULT_(START|END)__|\{"epochs":4\}/);
    // The tail skips blank lines.
    expect(await tail).toEqual(lines.filter(Boolean));
    // The run's token and the server's address stay out of the job's output.
    expect(lines.join('\n')).not.toContain(h.server.url);
  });

  it('fails a job whose action throws or whose process dies, and keeps serving', async () => {
    const thrown = await finished(await run('fail'));
    expect(thrown).toMatchObject({ status: 'FAILED', result: null });
    expect(await consoleLines(thrown.id)).toContain('ERROR: Error: boom');

    const crashed = await finished(await run('crash'));
    expect(crashed.status).toBe('FAILED');
    const lines = await consoleLines(crashed.id);
    expect(lines).toEqual(expect.arrayContaining(['about to crash', 'Job process exited with code 3']));

    const invalid = await finished(await run('echo', { name: 5 }));
    expect(invalid.status).toBe('FAILED');
    expect(await consoleLines(invalid.id)).toContain(
      'ERROR: PluginValidationError: Parameter validation failed: name: Input should be a valid string',
    );

    expect(await finished(await run('train', { steps: 1 }))).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('stops a running job through the agent API or a PATCH of its status', async () => {
    for (const stop of [
      (jobId: string) => h.agent.stopJob(jobId),
      (jobId: string) => h.client.updateJob(jobId, { status: 'stopped' }),
    ]) {
      const pidFile = join(dir, `sleep-${Date.now()}.pid`);
      const jobId = await run('sleep', { seconds: 60, pidFile });
      const pid = Number(await until(() => readFile(pidFile, 'utf8').catch(() => ''), Boolean));
      expect((await h.client.getJob(jobId)).status).toBe('RUNNING');
      await stop(jobId);
      expect((await h.client.getJob(jobId)).status).toBe('STOPPED');
      await until(
        async () => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        },
        (alive) => !alive,
        5000,
      );
      expect(await consoleLines(jobId)).toContain('sleeping');
    }
  });

  it('fails a job whose entrypoint leads out of the plugin folder, with the rule in its console log', async () => {
    await h.client.createPluginRelease(
      {
        plugin: UNSAFE,
        version: '1.0.0',
        config: {
          ...RELEASE_CONFIG,
          code: UNSAFE,
          actions: { escape: { entrypoint: '../../../../../../etc/passwd:X', method: 'job' } },
        },
      },
      { file: { data: pluginZip(), filename: 'plugin.zip' } },
    );
    const { job_id } = await h.client.runPlugin(UNSAFE, {
      agent: h.server.credentials.agentId,
      action: 'escape',
    });
    expect(await finished(job_id)).toMatchObject({ status: 'FAILED' });
    expect(await consoleLines(job_id)).toContain(
      "ERROR: PluginValidationError: Unsafe entrypoint '../../../../../../etc/passwd:X': '..' leads out of the plugin folder; an entrypoint names a module inside the plugin folder, e.g. plugin.train.TrainAction or plugin/train.ts:TrainAction",
    );
  });

  it('fails a job whose release has no archive', async () => {
    const { code } = await fixtureRelease(h, {
      actions: { to_task: { entrypoint: 'plugin.x.X', method: 'job' } },
    });
    const { job_id } = await h.client.runPlugin(code, {
      agent: h.server.credentials.agentId,
      action: 'to_task',
    });
    const job = await finished(job_id);
    expect(job.status).toBe('FAILED');
    expect(await consoleLines(job_id)).toEqual(['ERROR: The job has no plugin release archive to run']);
  });
});

describe('JobExecutor with a backend client', () => {
  async function jobRecord(): Promise<string> {
    const { jobs } = await h.admin('POST', '_emulator/fixtures', {
      jobs: [
        {
          status: 'PENDING',
          action: 'echo',
          plugin_release: null,
          agent: h.server.credentials.agentId,
          params: {},
        },
      ],
    });
    return jobs[0];
  }

  it('keeps the status of the job record; the entrypoint saves the result', async () => {
    const executor = new JobExecutor({
      workingDir: dir,
      client: h.client,
      env: {
        GREETING: 'hello',
        SYNAPSE_PLUGIN_RUN_HOST: h.server.url,
        SYNAPSE_PLUGIN_RUN_USER_TOKEN: h.server.credentials.accessToken,
      },
    });
    const ok = await executor.submit('plugin.echo.EchoAction', { name: 'Ann' }, { jobId: await jobRecord() });
    await executor.wait(ok);
    const done = await finished(ok);
    expect(done).toMatchObject({ status: 'SUCCEEDED', result: { greeting: 'hello Ann', jobId: ok } });

    const crash = await executor.submit('plugin.crash.CrashAction', {}, { jobId: await jobRecord() });
    await executor.wait(crash).catch(() => {});
    expect(await finished(crash)).toMatchObject({ status: 'FAILED', result: null });
  });

  it("keeps the job record's status in the backend's upper-case choices, as the Python SDK sends them", async () => {
    const jobId = await jobRecord();
    const executor = new JobExecutor({ workingDir: dir, client: h.client });
    await executor.submit('plugin.echo.EchoAction', { name: 'Ann' }, { jobId });
    await executor.wait(jobId);
    await until(
      () => h.client.getJob(jobId),
      (job) => job.status === 'SUCCEEDED',
    );
    const recorded: Array<{ method: string; path: string; body: { status?: string } }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    const statuses = recorded
      .filter((r) => r.method === 'PATCH' && r.path.endsWith(`/jobs/${jobId}/`))
      .map((r) => r.body.status);
    expect(statuses).toEqual(['RUNNING', 'SUCCEEDED']);
  });
});

describe('devserver with runJobs: false', () => {
  const idle = useDevServer({ runJobs: false });

  it('leaves job records PENDING', async () => {
    await idle.client.createPluginRelease(
      { plugin: CODE, version: '1.0.0', config: { ...RELEASE_CONFIG, code: CODE } },
      { file: { data: pluginZip(), filename: 'plugin.zip' } },
    );
    const { job_id } = await idle.client.runPlugin(CODE, {
      agent: idle.server.credentials.agentId,
      action: 'train',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await idle.client.getJob(job_id)).status).toBe('PENDING');
  });
});
