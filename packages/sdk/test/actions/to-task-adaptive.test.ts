/**
 * ToTask's adaptive concurrency against a platform that answers 503 under load (#16): the
 * devserver's fault injector answers 503 (with `Retry-After: 1`) to every task request made while
 * more than one is being handled, and holds the others 10 ms. The run must back off and finish with every task annotated:
 * none failed for load. How the limit moves is adaptive-limit.test.ts; here the real run, on a
 * devserver of its own (its faults would hit the other files' requests on the shared one).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoOpLogger, RuntimeContext, ToTaskAction } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

const h = useDevServer({ faults: true });
const TASKS = 60;
const FAULT_COUNT = 1_000_000;

let dir: string;
let project: number;
let taskIds: number[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-to-task-adaptive-'));
  const specs = [
    { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
    { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
  ];
  const [collection] = (
    await h.admin('POST', '_emulator/fixtures', {
      data_collections: [{ name: 'C', file_specifications: specs }],
    })
  ).data_collections;
  [project] = (
    await h.admin('POST', '_emulator/fixtures', { projects: [{ title: 'P', data_collection: collection }] })
  ).projects;
  await writeFile(join(dir, 'image.jpg'), 'an image');
  const image = await h.client.createDataFile(join(dir, 'image.jpg'));
  const units = [];
  for (let i = 0; i < TASKS; i++) {
    const path = join(dir, `annotation_${i}.json`);
    await writeFile(
      path,
      JSON.stringify({
        objects: [
          {
            id: `obj_${i}`,
            class_id: 1,
            type: 'bbox',
            coordinates: { x: i, y: 0, width: 10, height: 10 },
            properties: {},
          },
        ],
      }),
    );
    const json = await h.client.createDataFile(path);
    units.push({
      data_collection: collection,
      meta: {},
      files: {
        image_1: { checksum: image.checksum, path: image.file },
        annotation_data: { checksum: json.checksum, path: json.file },
      },
    });
  }
  const created = await h.client.createDataUnits(units);
  const tasks = await h.client.createTasks({ project, data: created.map((u) => ({ data_unit: u.id })) });
  taskIds = tasks.map((t) => t.id as number);
});

afterAll(async () => {
  await h.admin('DELETE', '_emulator/faults');
  await rm(dir, { recursive: true, force: true });
});

describe('ToTask against a platform that answers 503 under load', () => {
  it('backs off and annotates every task: none fails for load', async () => {
    await h.admin('POST', '_emulator/faults', {
      status: 503,
      max_in_flight: 1,
      count: FAULT_COUNT,
      path: '/tasks/',
      headers: { 'Retry-After': '1' },
      body: { detail: 'Overloaded.' },
    });
    // Every other task request is held 10 ms: requests overlap however fast the platform answers,
    // so the run meets the load above (a platform quicker than its clients would never be loaded).
    await h.admin('POST', '_emulator/faults', { hang_ms: 10, count: FAULT_COUNT, path: '/tasks/' });
    const run = new RuntimeContext({ client: h.makeClient(), logger: new NoOpLogger() });
    const params = {
      name: 'adaptive',
      project,
      agent: 1,
      task_filters: {},
      method: 'file',
      target_specification_name: 'annotation_data',
    };
    const result = await new ToTaskAction({ run, params }).start();
    const [fault] = await h.admin('GET', '_emulator/faults');
    await h.admin('DELETE', '_emulator/faults');

    // The platform was driven into load (it answered 503s), the run backed off (at a fixed 32
    // tasks at once, the same run draws about 50 503s; adaptive, about 9), and no task failed.
    const answered503 = FAULT_COUNT - fault.remaining;
    expect(answered503).toBeGreaterThan(0);
    expect(answered503).toBeLessThan(TASKS / 3);
    expect(result.failures).toEqual([]);
    expect([result.success_count, result.failed_count]).toEqual([TASKS, 0]);
    const task = await h.client.getTask(taskIds[TASKS - 1]!);
    expect(task.data).toMatchObject({ objects: [{ id: `obj_${TASKS - 1}` }] });
  });
});
