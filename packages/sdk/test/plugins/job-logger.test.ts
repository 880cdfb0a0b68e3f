/**
 * `JobLogger` against a real devserver: what it sends, batched, retried and redacted.
 * Own server: faults on the logs and job routes, and the recorded-request log cleared.
 */
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { listAll } from '../../src/clients/pagination.ts';
import type { Log } from '../../src/index.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { RuntimeError } from '../../src/plugins/errors.ts';
import { JobLogger } from '../../src/plugins/logging/index.ts';
import {
  BaseStep,
  BaseStepContext,
  Orchestrator,
  StepRegistry,
  StepResult,
} from '../../src/plugins/steps/index.ts';
import { fixtureRelease, useDevServer } from '../helpers.ts';

const h = useDevServer({ faults: true });

const CONFIG = {
  name: 'Logger Test',
  version: '1.0.0',
  category: 'pre_annotation',
  actions: { to_task: { entrypoint: 'plugin.to_task.ToTask', method: 'job' } },
};

async function newJob(): Promise<string> {
  const { code } = await fixtureRelease(h, CONFIG);
  return (await h.client.runPlugin(code, { agent: h.server.credentials.agentId, action: 'to_task' })).job_id;
}

interface Recorded {
  method: string;
  path: string;
  body: any;
}

async function requests(method: string, path: string): Promise<Recorded[]> {
  const all: Recorded[] = await h.admin('GET', '_emulator/requests');
  return all.filter((r) => r.method === method && r.path === path);
}

async function storedLogs(jobId: string): Promise<Log[]> {
  return (await listAll<Log>(h.client, 'logs/', { job: jobId })).toArray();
}

let stderr: MockInstance;
const warnings = () => stderr.mock.calls.map(([text]) => String(text));

beforeEach(async () => {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await h.admin('DELETE', '_emulator/requests');
  await h.admin('DELETE', '_emulator/faults');
});

afterEach(() => {
  stderr.mockRestore();
});

describe('JobLogger against the devserver', () => {
  it('loses only the item whose attached file cannot be read, not its batch', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    logger.info('before');
    logger.log('info', 'visualization', { group: 'a' }, '/nonexistent/plot.png');
    logger.info('after');
    await logger.finish();
    const messages = (await storedLogs(jobId)).map((l) => l.data.message ?? l.event);
    expect(messages).toEqual(['before', 'after']);
    expect(warnings().join('')).toContain('WARNING: JobLogger failed to send logs: ');
  });

  it('coalesces 100,000 progress calls into a few PATCHes and ends with the final state', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    const total = 100_000;
    for (let i = 1; i <= total; i++) {
      logger.setProgress(i, total, 'annotate_task_data');
      // Let requests complete now and then, as a real action's awaits would.
      if (i % 2_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await logger.finish();

    const patches = await requests('PATCH', `/jobs/${jobId}/`);
    expect(patches.length).toBeGreaterThan(1);
    expect(patches.length).toBeLessThan(100);
    const job = await h.client.getJob(jobId);
    expect(job.progress_record).toEqual(logger.getProgress());
    expect(job.progress_record).toMatchObject({
      record: {
        categories: { annotate_task_data: { percent: 100, time_remaining: 0 } },
        steps: { annotate_task_data: { percent: 100, time_remaining: 0 } },
      },
      current_progress: {
        overall: 100,
        category: 'annotate_task_data',
        step: 'annotate_task_data',
        percent: 100,
      },
    });
    expect(warnings()).toEqual([]);
  });

  it('batches queued log items into few createLogs calls, in order, with the envelope', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    for (let i = 0; i < 1_200; i++) logger.info(`line ${i}`);
    logger.logMessage('ToTask action completed successfully.', 'success');
    await logger.finish();

    const posts = await requests('POST', '/logs/');
    expect(posts.map((p) => p.body.length)).toEqual([1, 500, 500, 200]);
    const logs = await storedLogs(jobId);
    expect(logs.length).toBe(1_201);
    expect(logs.slice(0, 2).map((l) => l.data)).toEqual([{ message: 'line 0' }, { message: 'line 1' }]);
    expect(logs.at(-1)).toMatchObject({
      job: jobId,
      event: 'message',
      data: { context: 'success', content: 'ToTask action completed successfully.' },
    });
    expect(posts[0].body[0]).toEqual({
      event: 'info',
      data: { message: 'line 0' },
      datetime: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}000$/),
      job: jobId,
    });
    expect(logs.some((l) => l.data.content === 'Plugin run is complete.')).toBe(false);
  });

  it('sends the whole metrics_record and keeps the latest', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    for (let done = 0; done <= 100; done++) {
      logger.setMetrics({ total: 100, success: done, failed: 0, stand_by: 100 - done }, 'annotate_task_data');
    }
    await logger.finish();
    const job = await h.client.getJob(jobId);
    expect(job.metrics_record).toEqual({
      record: {
        categories: { annotate_task_data: { total: 100, success: 100, failed: 0, stand_by: 0 } },
        steps: { annotate_task_data: { total: 100, success: 100, failed: 0, stand_by: 0 } },
      },
    });
    expect((await requests('PATCH', `/jobs/${jobId}/`)).length).toBeLessThanOrEqual(3);
  });

  it('keeps log items while the backend fails and resends them with the next call', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    await h.admin('POST', '_emulator/faults', { status: 500, count: 3, path: '/logs/' });
    for (const [i, text] of ['a', 'b', 'c'].entries()) {
      logger.info(text);
      await vi.waitFor(() => expect(warnings()).toHaveLength(i + 1));
    }
    logger.info('d');
    await logger.finish();

    expect(warnings()).toEqual(
      Array(3).fill(expect.stringMatching(/^WARNING: JobLogger failed to send logs: 500: .*\n$/)),
    );
    // Faulted requests are answered before the emulator records them: only the one that got through shows.
    expect(await h.admin('GET', '_emulator/faults')).toEqual([]);
    const posts = await requests('POST', '/logs/');
    expect(posts.map((p) => p.body.map((item: { data: { message: string } }) => item.data.message))).toEqual([
      ['a', 'b', 'c', 'd'],
    ]);
    expect((await storedLogs(jobId)).map((l) => l.data.message)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('sends progress that failed to go out once more at finish()', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    await h.admin('POST', '_emulator/faults', { status: 500, count: 1, path: `/jobs/${jobId}/` });
    logger.setProgress(3, 4);
    await vi.waitFor(() => expect(warnings()).toHaveLength(1));
    expect(warnings()[0]).toMatch(/^WARNING: JobLogger failed to update progress: 500: /);
    await logger.finish();
    expect((await h.client.getJob(jobId)).progress_record).toEqual(logger.getProgress());
    expect(logger.getProgress()!.record).toMatchObject({ percent: 75 });
  });

  it('never throws when the backend rejects, and drops items the server refuses', async () => {
    const logger = new JobLogger(h.client, '00000000-0000-4000-8000-000000000000', { echo: false });
    logger.info('lost');
    logger.setProgress(1, 2);
    logger.setMetrics({ a: 1 }, 'c');
    await logger.finish();
    expect(warnings().sort()).toEqual([
      expect.stringMatching(/^WARNING: JobLogger failed to send logs: 400: .*Invalid pk/),
      expect.stringMatching(/^WARNING: JobLogger failed to update metrics: 404: /),
      expect.stringMatching(/^WARNING: JobLogger failed to update metrics: 404: /),
      expect.stringMatching(/^WARNING: JobLogger failed to update progress: 404: /),
      expect.stringMatching(/^WARNING: JobLogger failed to update progress: 404: /),
    ]);
    expect((await requests('POST', '/logs/')).length).toBe(1);
  });

  it('echoes every record in the console format', async () => {
    const jobId = await newJob();
    let text = '';
    const logger = new JobLogger(h.client, jobId, { stream: { write: (chunk: string) => (text += chunk) } });
    logger.setStep('convert');
    logger.warning('slow file');
    logger.setProgress(0, 2);
    logger.setMetrics({ success: 1 });
    logger.logMessage('Done.', 'success');
    await logger.finish();
    expect(text).toBe(
      'WARNING: [convert] slow file\nINFO: [convert] Progress: 0.0% (0/2)\nINFO: [convert] Metrics: {"success":1}\nSUCCESS: Done.\n',
    );
  });

  it('weighs overall progress by the declared proportions, set only before progress starts', async () => {
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false, stepProportions: { dataset: 20 } });
    logger.setStepProportions({ train: 70, model_upload: 10 });
    logger.setProgress(1, 1, 'dataset');
    logger.setProgress(1, 2, 'train');
    expect(() => logger.setStepProportions({ x: 1 })).toThrow(RuntimeError);
    expect(() => logger.setStepProportions({ x: 1 })).toThrow(
      'Cannot set step proportions after progress has started. Call setStepProportions() before any setProgress() calls.',
    );
    await logger.finish();
    const job = await h.client.getJob(jobId);
    expect(job.progress_record).toEqual({
      record: {
        categories: {
          dataset: { proportion: 20, percent: 100, time_remaining: 0 },
          train: { proportion: 70, percent: 50, time_remaining: 0 },
        },
        steps: {
          dataset: { proportion: 20, percent: 100, time_remaining: 0 },
          train: { proportion: 70, percent: 50, time_remaining: 0 },
        },
      },
      current_progress: { overall: 55, category: 'train', step: 'train', percent: 50, time_remaining: 0 },
    });
    expect(() => logger.info('late')).toThrow('Cannot log to a finished logger');
  });

  it('gets step proportions from the orchestrator', async () => {
    class Upload extends BaseStep {
      constructor(
        readonly id: string,
        readonly proportion: number,
      ) {
        super();
      }
      get name() {
        return this.id;
      }
      get progressWeight() {
        return 0.5;
      }
      override get progressProportion() {
        return this.proportion;
      }
      execute(ctx: BaseStepContext) {
        ctx.setProgress(1, 1);
        return new StepResult();
      }
    }
    const jobId = await newJob();
    const logger = new JobLogger(h.client, jobId, { echo: false });
    const registry = new StepRegistry();
    registry.register(new Upload('organize_files', 15));
    registry.register(new Upload('upload_files', 0));
    const context = new BaseStepContext(new RuntimeContext({ logger, jobId, client: h.client }));
    await new Orchestrator(registry, context).execute();
    await logger.finish();
    const { record, current_progress } = (await h.client.getJob(jobId)).progress_record as any;
    expect(record.steps.organize_files.proportion).toBe(15);
    expect(record.steps.upload_files.proportion).toBe(42);
    expect(current_progress.overall).toBe(57);

    // Proportions pushed after progress started are ignored, not an error.
    const started = new JobLogger(h.client, jobId, { echo: false });
    started.setProgress(0, 1, 'other');
    const again = new BaseStepContext(new RuntimeContext({ logger: started }));
    await expect(new Orchestrator(registry, again).execute()).resolves.toMatchObject({ success: true });
    await started.finish();
  });
});
