/**
 * ToTask's inference method when the pre-processor misbehaves (to-task.md §5): real releases
 * deployed on the devserver's serve runtime, one that never starts and one that is slow on some
 * images.
 * Own server: a serve gateway (the shared platform has none, and answers deployments with fixtures).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishPreProcessor } from '../../../../test-support/serve-plugins.ts';
import {
  BaseLogger,
  PreAnnotationToTaskFailed,
  RunStoppedError,
  RuntimeContext,
  ToTaskAction,
} from '../../src/index.ts';
import type { LoggerRecord } from '../../src/plugins/logging/index.ts';
import { useDevServer } from '../helpers.ts';

const h = useDevServer({ serve: { port: 0 } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'to-task-preprocessor-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

class Recorder extends BaseLogger {
  records: LoggerRecord[] = [];
  protected write(record: LoggerRecord): void {
    this.records.push(record);
  }
  messages() {
    return this.records.flatMap((r) =>
      r.kind === 'log' && r.event === 'message' ? [r.data as { context: string; content: string }] : [],
    );
  }
}

/** A model whose module cannot load: its serve deployment ends DEPLOY_FAILED, never RUNNING. */
const BROKEN = `throw new Error('model weights not found');\n`;

/** Labels an image with its text; an image reading "slow" takes `slow_ms` first. */
const SLOW_ON_SOME = `import { BaseServeDeployment } from 'synapse-sdk';

export class Model extends BaseServeDeployment {
  override async infer(body: { image_path: string; slow_ms: number }) {
    const text = await (await fetch(body.image_path)).text();
    if (text === 'slow') await new Promise((r) => setTimeout(r, body.slow_ms));
    const box = { x: 0, y: 0, width: 1, height: 1 };
    return { objects: [{ id: 'o1', class_id: 1, type: 'bbox', coordinates: box, properties: { label: text } }] };
  }
}
`;

const publish = (code: string, serveModule: string) =>
  publishPreProcessor(h.client, dir, code, serveModule, 'Model');

/** A project with one task per image; each image file holds the given text. */
async function projectWithTasks(images: string[]) {
  const fixtures = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
    h.admin('POST', '_emulator/fixtures', body);
  const specs = [{ name: 'image_1', file_type: 'image', is_primary: true, is_required: true }];
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: specs }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  const units: number[] = [];
  for (const [i, text] of images.entries()) {
    const path = join(dir, `${i}-${text}.png`);
    await writeFile(path, text);
    const image = await h.client.createDataFile(path);
    const files = { image_1: { checksum: image.checksum, path: image.file } };
    units.push(
      (await h.client.createDataUnits({ data_collection: collection!, meta: {}, files })).id as number,
    );
  }
  const created = await h.client.createTasks({
    project: project!,
    data: units.map((u) => ({ data_unit: u })),
  });
  const byUnit = new Map(created.map((t) => [t.data_unit, t.id]));
  return { project: project!, tasks: units.map((u) => byUnit.get(u)!) };
}

function inferenceParams(project: number, preProcessor: number, extra: Record<string, unknown> = {}) {
  return {
    name: 'Inference_Annotation',
    project,
    agent: h.server.credentials.agentId,
    task_filters: {},
    method: 'inference',
    pre_processor: preProcessor,
    ...extra,
  };
}

describe('ToTask inference: the pre-processor never starts', () => {
  it('a stop while it waits for the pre-processor ends the wait at once: stopped at method_validation', async () => {
    const { project } = await projectWithTasks(['dog']);
    const release = await publish('never-ready', BROKEN);
    const stop = new AbortController();
    // Stopped as soon as the deployment has started; the poll interval is far longer than any test.
    class StopOnDeploy extends Recorder {
      protected override write(record: LoggerRecord): void {
        super.write(record);
        if (
          record.kind === 'log' &&
          (record.data as { content?: string }).content?.startsWith('Pre-processor deployment')
        )
          stop.abort(new Error('stop pressed'));
      }
    }
    const logger = new StopOnDeploy();
    const action = new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger, signal: stop.signal }),
      params: inferenceParams(project, release.id),
      options: { preProcessorPollIntervalSeconds: 3600, preProcessorTimeoutSeconds: 7200 },
    });
    const err = await action.start().catch((e) => e);
    expect(err).toBeInstanceOf(RunStoppedError);
    expect(err.message).toBe('The run was stopped while waiting for the pre-processor');
    const messages = logger.messages().map((m) => m.content);
    expect(messages.slice(-2)).toEqual([
      'ToTask action stopped at step method_validation. Success: 0, Failed: 0, Not processed: 0',
      'Plugin run is complete.',
    ]);
    expect(messages.some((m) => m.startsWith('Waiting for pre-processor'))).toBe(false);
  });
  it('fails with "Pre-processor not active" after the timeout and rolls back the completed steps', async () => {
    const { project, tasks } = await projectWithTasks(['cat']);
    const release = await publish('broken-model', BROKEN);
    const logger = new Recorder();
    const action = new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger }),
      params: inferenceParams(project, release.id),
      options: { preProcessorPollIntervalSeconds: 0.1, preProcessorTimeoutSeconds: 0.5 },
    });

    const err = await action.start().catch((e) => e);

    const expected = 'Pre-processor not active: Pre-processor failed to start within 0.5 seconds';
    expect(err).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect(err.message).toBe(expected);
    const messages = logger.messages();
    expect(messages).toContainEqual({
      context: 'info',
      content: 'Pre-processor deployment started, waiting for it to be ready...',
    });
    expect(messages.filter((m) => m.content.startsWith('Waiting for pre-processor'))).toEqual(
      ['0.1', '0.2', '0.3', '0.4', '0.5'].map((s) => ({
        context: 'info',
        content: `Waiting for pre-processor to start... (${s}s / 0.5s)`,
      })),
    );
    expect(messages.map((m) => m.content)).not.toContain('Pre-processor started successfully');
    expect(messages.map((m) => m.content).slice(-3)).toEqual([
      `Failed workflow step method_validation: ${expected}`,
      `ToTask action failed: ${expected}`,
      'Plugin run is complete.',
    ]);
    expect(logger.records.some((r) => r.kind === 'progress_failed' && r.key === 'annotate_task_data')).toBe(
      true,
    );

    // Rolled back: the completed steps and the failing one; no task was looked up or touched.
    expect(action.context?.stepsCompleted).toEqual(['project_validation', 'method_determination']);
    expect(action.context?.project).toBeNull();
    expect(action.context?.dataCollection).toBeNull();
    expect(action.context?.taskIds).toEqual([]);
    expect((await h.client.getTask(tasks[0]!)).data).toEqual({});

    // The deployment really was started, and failed because the model cannot load.
    const apps = async () => (await h.client.listServeApplications({ plugin_code: 'broken-model' }))[0];
    await expect.poll(apps, { timeout: 300_000 }).toMatchObject([{ status: 'DEPLOY_FAILED' }]);
    const [app] = await apps();
    const job = await h.client.getJob(app!.job as string);
    expect(job.console_logs).toEqual([expect.stringContaining('model weights not found')]);
  });
});

describe('ToTask inference: calls that outlast inferenceTimeoutSeconds', () => {
  it('fails each timed-out task alone, annotates the others, and metrics agree with the result', async () => {
    const { project, tasks } = await projectWithTasks(['slow', 'cat', 'slow', 'dog']);
    const [slow1, cat, slow2, dog] = tasks;
    const release = await publish('slow-model', SLOW_ON_SOME);
    const logger = new Recorder();
    // A slow call takes 5 s: it cannot beat the 3 s read timeout.
    const result = await new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger }),
      params: inferenceParams(project, release.id, { pre_processor_params: { slow_ms: 5000 } }),
      options: { preProcessorPollIntervalSeconds: 0.1, inferenceTimeoutSeconds: 3 },
    }).start();

    const timedOut = 'Pre-processor inference timed out: Backend read timeout (>3s)';
    expect(result).toEqual({
      status: 'SUCCEEDED',
      message: 'Pre-annotation to task completed successfully',
      total_tasks: 4,
      success_count: 2,
      failed_count: 2,
      failures: [
        { task_id: slow1, error: timedOut },
        { task_id: slow2, error: timedOut },
      ],
    });
    const metrics = logger.records.flatMap((r) => (r.kind === 'metrics' ? [r.value] : []));
    expect(metrics.at(-1)).toEqual({ total: 4, success: 2, failed: 2, stand_by: 0 });
    const messages = logger.messages().map((m) => m.content);
    expect(messages).toContain(`[Task ${slow1}] Failed: ${timedOut}`);
    expect(messages).toContain(`[Task ${slow2}] Failed: ${timedOut}`);
    expect(messages).toContain('Annotation completed. Success: 2, Failed: 2');

    const label = async (id: number) => {
      const data = (await h.client.getTask(id)).data as {
        objects?: Array<{ properties: { label: string } }>;
      };
      return data.objects?.[0]?.properties.label ?? null;
    };
    expect(await Promise.all([slow1, cat, slow2, dog].map((id) => label(id!)))).toEqual([
      null,
      'cat',
      null,
      'dog',
    ]);
  });
});
