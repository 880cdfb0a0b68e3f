/**
 * The backend calls of the Python SDK 2026.2 that the TS client lacked (#14 item 4), against the
 * local platform: the batch annotation, the `data` / `files` views of the `sdk/` lists, and the
 * state of a chunked upload. Every record is this file's own (the shared platform is not reset).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { NotFoundError } from '../../src/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();

async function fixtures(body: Record<string, unknown[]>): Promise<Record<string, number[]>> {
  return h.admin('POST', '_emulator/fixtures', body);
}

/** A project of two tasks on units with one image each, an assignment on the first, and two events. */
async function workspace() {
  const [collection] = (
    await fixtures({
      data_collections: [{ name: 'Views', file_specifications: [{ name: 'image_1', is_primary: true }] }],
    })
  ).data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'Views', data_collection: collection }] }))
    .projects;
  const units = (
    await fixtures({
      data_units: ['a', 'b'].map((n) => ({
        data_collection: collection,
        meta: { filename: `${n}.jpg` },
        files: { image_1: { url: `https://files.example/${n}.jpg`, is_primary: true } },
      })),
    })
  ).data_units;
  const tasks = (await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) })).map(
    (t) => t.id,
  );
  const [assignment] = (await fixtures({ assignments: [{ task: tasks[0], data: { checked: true } }] }))
    .assignments;
  const [dataset] = (await fixtures({ ground_truth_datasets: [{ name: 'Views GT', project }] }))
    .ground_truth_datasets;
  const [version] = (
    await fixtures({ ground_truth_dataset_versions: [{ version: 'v1', ground_truth_dataset: dataset }] })
  ).ground_truth_dataset_versions;
  const events = (
    await fixtures({
      ground_truth_events: units.map((u, i) => ({
        ground_truth_dataset_version: version,
        data_unit: u,
        data: { label: `car-${i}` },
        files: {},
      })),
    })
  ).ground_truth_events;
  return { project, units, tasks, assignment, version, events };
}

describe('annotateTaskDataBatch', () => {
  it("submits each item and reports every task's outcome by its id, failures included", async () => {
    const { tasks } = await workspace();
    const data = (label: string) =>
      ({ action: 'submit', data: { annotations: { image_1: [{ label }] } } }) as const;
    const results = await h.client.annotateTaskDataBatch(
      [
        { task_id: tasks[0], data: data('first') },
        { task_id: 999_999_999, data: data('nobody') },
        { task_id: tasks[1], data: data('second'), schema: 'v2' },
      ],
      { maxWorkers: 2 },
    );
    expect(Object.keys(results).map(Number).sort()).toEqual([tasks[0], tasks[1], 999_999_999].sort());
    expect(results[tasks[0]]).toMatchObject({ success: true, error: null, response: { id: tasks[0] } });
    expect(results[tasks[1]]).toMatchObject({ success: true, response: { data: data('second').data } });
    expect(results[999_999_999]).toMatchObject({ success: false, response: null });
    expect(results[999_999_999].error).toMatch(/404/);
    expect((await h.client.getTask(tasks[0])).data).toEqual(data('first').data);
  });

  it('refuses an item without task_id or data before sending anything, naming it', async () => {
    const { tasks } = await workspace();
    await expect(
      h.client.annotateTaskDataBatch([
        { task_id: tasks[0], data: { action: 'submit', data: { a: 1 } } },
        { data: { action: 'submit', data: {} } } as never,
      ]),
    ).rejects.toThrow("items[1] missing 'task_id'");
    await expect(h.client.annotateTaskDataBatch([{ task_id: tasks[0] } as never])).rejects.toThrow(
      "items[0] missing 'data'",
    );
    // Nothing was submitted for the valid first item either.
    expect((await h.client.getTask(tasks[0])).data).toEqual({});
    expect(await h.client.annotateTaskDataBatch([])).toEqual({});
    await expect(
      h.client.annotateTaskDataBatch([{ task_id: tasks[0], data: { action: 'submit', data: {} } }], {
        maxWorkers: 0,
      }),
    ).rejects.toThrow('maxWorkers must be a positive integer');
  });
});

describe('the data and files views of the sdk/ lists', () => {
  it('lists tasks, assignments and ground truth events with only their data, or only their files', async () => {
    const { project, tasks, assignment, version, events } = await workspace();
    await h.client.annotateTaskData(tasks[1], { action: 'submit', data: { done: 1 } });
    const file = (n: string) => ({
      name: 'image_1',
      url: `https://files.example/${n}.jpg`,
      is_primary: true,
    });

    expect(await h.client.listTasksData({ project })).toEqual([
      [
        { id: tasks[0], data: {} },
        { id: tasks[1], data: { done: 1 } },
      ],
      2,
    ]);
    expect(await h.client.listTasksFiles({ project })).toEqual([
      [
        { id: tasks[0], files: [file('a')] },
        { id: tasks[1], files: [file('b')] },
      ],
      2,
    ]);

    expect(await h.client.listAssignmentsData({ project })).toEqual([
      [{ id: assignment, data: { checked: true } }],
      1,
    ]);
    expect(await h.client.listAssignmentsFiles({ project })).toEqual([
      [{ id: assignment, files: [file('a')] }],
      1,
    ]);

    const params = { ground_truth_dataset_versions: [version] };
    expect(await h.client.listGroundTruthEventsData(params)).toEqual([
      [
        { id: events[0], data: { label: 'car-0' } },
        { id: events[1], data: { label: 'car-1' } },
      ],
      2,
    ]);
    const [eventFiles] = await h.client.listGroundTruthEventsFiles(params);
    expect(eventFiles).toEqual([
      { id: events[0], files: [file('a')] },
      { id: events[1], files: [file('b')] },
    ]);

    const all = await h.client.listTasksData({ project }, { listAll: true, pageSize: 1 });
    expect(all.count).toBe(2);
    expect((await all.toArray()).map((t) => t.id)).toEqual(tasks);
  });
});

describe('getChunkedUpload', () => {
  it("answers an upload's state, complete with completed_at once finished", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chunked-state-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'blob.bin');
    const bytes = Buffer.alloc(3000, 7);
    await writeFile(path, bytes);
    const done = await h.client.createChunkedUpload(path, { chunkSize: 1024 });
    const state = await h.client.getChunkedUpload(done.id);
    expect(state).toMatchObject({
      id: done.id,
      filename: 'blob.bin',
      offset: 3000,
      status: 2,
      completed_at: expect.any(String),
      file: expect.any(String),
    });
    expect(done.checksum).toBe(createHash('md5').update(bytes).digest('hex'));
    await expect(h.client.getChunkedUpload('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe('getDefaultStorage', () => {
  it("answers the tenant's default internal storage", async () => {
    const [internal] = await h.client
      .get('storages/', { params: { category: 'internal' } })
      .then((p) => [p.results]);
    const expected = internal.find((s: { is_default: boolean }) => s.is_default) ?? internal[0];
    expect(expected).toBeDefined();
    const storage = await h.client.getDefaultStorage();
    expect(storage).toMatchObject({ id: expected.id, category: 'internal' });
  });
});
