/**
 * ToTask's inference method against a pre-processor deployed on Ray: the devserver's agent,
 * started with a Ray address, deploys the release's serve deployment to Ray Serve on demand, and
 * every task is annotated from the predictions Ray Serve answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from 'synapse-devserver';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BOX_PROPOSER, publishPreProcessor } from '../../../test-support/serve-plugins.ts';
import { NoOpLogger, RayClient, RuntimeContext, ToTaskAction } from '../src/index.ts';
import { useDevServer } from '../test/helpers.ts';

const rayAddress = inject('rayDashboard');
// Ray Serve's proxy: the same port as the other serve test's, since a cluster has one.
const h = useDevServer({ serve: { port: 28100 }, rayAddress });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'to-task-inference-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ToTask inference method with a pre-processor on Ray', () => {
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
    // Ray Serve hosts it.
    const onRay = (await new RayClient(rayAddress).getServeApplications()).applications['box-proposer@1.0.0'];
    expect(onRay).toMatchObject({ status: 'RUNNING', route_prefix: app.route_prefix });
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
