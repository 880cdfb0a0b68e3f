/**
 * The ToTask benches' shared setup: one project whose tasks each reference an image and one of a
 * few annotation files, ToTask by the file method, and a raw loop of the same three requests per
 * task (GET the task with `expand=data_unit`, GET its annotation file, PUT `annotate_task_data`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendClient, type DataFile, NoOpLogger, RuntimeContext, ToTaskAction } from 'synapse-sdk';
import { request } from 'undici';
import type { ChildServer } from './harness.ts';

/** Distinct annotation files; each is referenced by TOTAL / DISTINCT data units. */
const DISTINCT = 8;
const BATCH = 500;

const annotation = (label: number) => ({
  objects: Array.from({ length: 5 }, (_, i) => ({
    id: `obj_${label}_${i}`,
    class_id: (label + i) % 10,
    type: 'bbox',
    coordinates: { x: 10 * i, y: 20 * i, width: 100 + label, height: 80 + i },
    properties: { confidence: 0.9, label: `class_${label}` },
  })),
});

/** Runs `work(i)` for i in [0, n) with exactly `concurrency` in flight (fewer at the end). */
export async function pool(
  n: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

export interface ToTaskFixture {
  client: BackendClient;
  taskIds: number[];
  /** The devserver's `_emulator` API (fixtures, faults, recorded requests). */
  admin(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<any>;
  /** The raw loop's three requests for one task: plain undici, no SDK. */
  rawOnce(taskId: number): Promise<void>;
  /** The raw loop over the first `n` tasks at a fixed concurrency. */
  rawLoop(concurrency: number, n: number): () => Promise<void>;
  /**
   * A ToTask run over all tasks (or the first `limit`) at its default concurrency (or the given
   * one), checked to succeed for each.
   */
  toTask(limit?: number, concurrency?: number): () => Promise<void>;
  /** What one run sends per task, as `METHOD /path?query` with ids and file names elided. */
  perTask(run: () => Promise<void>): Promise<string[]>;
  close(): Promise<void>;
}

export async function toTaskFixture(server: ChildServer, total: number): Promise<ToTaskFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-to-task-'));
  const client = new BackendClient(server.url, { accessToken: server.token });
  const headers = { 'Synapse-Access-Token': `Token ${server.token}`, 'Content-Type': 'application/json' };
  const admin = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await request(`${server.url}/_emulator/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  // Setup: one collection and project, one image, a few annotation files shared by many units.
  const specs = [
    { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
    { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
  ];
  const [collection] = (
    await admin('POST', 'fixtures', { data_collections: [{ name: 'C', file_specifications: specs }] })
  ).data_collections;
  const [project] = (
    await admin('POST', 'fixtures', { projects: [{ title: 'P', data_collection: collection }] })
  ).projects;
  const imagePath = join(dir, 'image.jpg');
  await writeFile(imagePath, 'not really a jpeg');
  const image = await client.createDataFile(imagePath);
  const jsons: DataFile[] = [];
  for (let k = 0; k < DISTINCT; k++) {
    const path = join(dir, `annotation_${k}.json`);
    await writeFile(path, JSON.stringify(annotation(k)));
    jsons.push(await client.createDataFile(path));
  }
  const taskIds: number[] = [];
  for (let start = 0; start < total; start += BATCH) {
    const units = await client.createDataUnits(
      Array.from({ length: Math.min(BATCH, total - start) }, (_, i) => {
        const json = jsons[(start + i) % DISTINCT]!;
        return {
          data_collection: collection,
          meta: {},
          files: {
            image_1: { checksum: image.checksum, path: image.file },
            annotation_data: { checksum: json.checksum, path: json.file },
          },
        };
      }),
    );
    const tasks = await client.createTasks({ project, data: units.map((u) => ({ data_unit: u.id })) });
    taskIds.push(...tasks.map((t) => t.id as number));
  }
  if (taskIds.length !== total) throw new Error(`created ${taskIds.length} tasks, expected ${total}`);

  // The file URL comes from the task's data unit, as ToTask takes it.
  const rawOnce = async (taskId: number) => {
    const res = await request(
      `${server.url}/tasks/${taskId}/?fields=id%2Cdata%2Cdata_unit&expand=data_unit`,
      {
        headers,
      },
    );
    if (res.statusCode !== 200) throw new Error(`GET task: ${res.statusCode}`);
    const task = (await res.body.json()) as { data_unit: { files: Record<string, { url: string }> } };
    const file = await request(task.data_unit.files.annotation_data!.url);
    if (file.statusCode !== 200) throw new Error(`GET file: ${file.statusCode}`);
    const data = JSON.parse(await file.body.text());
    const put = await request(`${server.url}/tasks/${taskId}/annotate_task_data/`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ action: 'submit', data }),
    });
    if (put.statusCode !== 200) throw new Error(`PUT annotate: ${put.statusCode} ${await put.body.text()}`);
    await put.body.dump();
  };
  const rawLoop = (concurrency: number, n: number) => () => pool(n, concurrency, (i) => rawOnce(taskIds[i]!));

  const toTask = (limit?: number, concurrency?: number) => async () => {
    const run = new RuntimeContext({ client, logger: new NoOpLogger() });
    const params = {
      name: 'bench_to_task',
      project,
      agent: 1,
      task_filters: limit === undefined ? {} : { limit },
      method: 'file',
      target_specification_name: 'annotation_data',
      ...(concurrency === undefined ? {} : { concurrency }),
    };
    const result = await new ToTaskAction({ run, params }).start();
    const expected = limit ?? total;
    if (result.success_count !== expected)
      throw new Error(
        `ToTask: ${result.success_count}/${expected} succeeded: ${JSON.stringify(result.failures[0])}`,
      );
  };

  const shape = (r: { method: string; path: string; query: Record<string, unknown> }) =>
    `${r.method} ${r.path.replace(/\/\d+\//g, '/<id>/').replace(/^\/media\/.*/, '/media/<file>')}` +
    (Object.keys(r.query ?? {}).length ? `?${new URLSearchParams(r.query as Record<string, string>)}` : '');
  const perTask = async (run: () => Promise<void>) => {
    await admin('DELETE', 'requests');
    await run();
    const recorded = (await admin('GET', 'requests')) as Array<{ method: string; path: string; query: any }>;
    return recorded.filter((r) => /^\/tasks\/\d+\/|^\/media\//.test(r.path)).map(shape);
  };

  return {
    client,
    taskIds,
    admin,
    rawOnce,
    rawLoop,
    toTask,
    perTask,
    async close() {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
