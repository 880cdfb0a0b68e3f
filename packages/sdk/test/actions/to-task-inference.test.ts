/**
 * ToTask's inference method against a real pre-processor: a published release whose serve
 * deployment reads each task's image and proposes a box covering it. The devserver deploys it
 * on demand (its serve runtime), and every task is annotated from the prediction.
 * Own server: a serve gateway (the shared platform has none), and the demo project seeded through its context.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from 'synapse-devserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOX_PROPOSER, publishPreProcessor } from '../../../../test-support/serve-plugins.ts';
import { NoOpLogger, RuntimeContext, ToTaskAction } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

const h = useDevServer({ serve: { port: 0 } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'to-task-inference-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ToTask inference method with a deployed pre-processor', () => {
  it('deploys the pre-processor on demand and annotates every task from its predictions', async () => {
    const { project } = await seedDemo(h.server.ctx);
    const release = await publishPreProcessor(h.client, dir, 'box-proposer', BOX_PROPOSER, 'BoxProposer');
    const [[before]] = await h.client.listServeApplications({ name: 'box-proposer@1.0.0' });
    expect(before).toBeUndefined();

    const result = await new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger: new NoOpLogger() }),
      params: {
        name: 'boxes',
        project,
        agent: h.server.credentials.agentId,
        method: 'inference',
        pre_processor: release.id,
        pre_processor_params: { label: 'street' },
        task_filters: { project },
      },
      options: { preProcessorPollIntervalSeconds: 0.1 },
    }).start();

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      total_tasks: 12,
      success_count: 12,
      failed_count: 0,
    });
    const [[app]] = await h.client.listServeApplications({ name: 'box-proposer@1.0.0' });
    expect(app.status).toBe('RUNNING');
    const [tasks] = await h.client.listTasks({ project, expand: 'data_unit' });
    for (const task of tasks) {
      const meta = (task.data_unit as unknown as { meta: { width: number; height: number } }).meta;
      expect(task.data).toEqual({
        objects: [
          {
            id: 'box_1',
            class_id: 1,
            type: 'bbox',
            coordinates: { x: 0, y: 0, width: meta.width, height: meta.height },
            properties: { label: 'street' },
          },
        ],
      });
    }
  });
});
