/**
 * ToTask by the file method over 2,000 tasks: at the default concurrency, at concurrency 1, and
 * the devserver's raw capacity for the same two requests per task (GET the annotation file, PUT
 * `annotate_task_data`) with a plain `undici.request` loop at the default concurrency (the
 * baseline, same process). Rounds alternate the runs and medians are compared. Prints tasks/s
 * for each and the ratios default/concurrency-1 (target ≥ 5) and default/raw (target ≥ 0.7).
 * `BENCH_TASKS` (default 2000) and `BENCH_ROUNDS` (default 3) override the sizes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackendClient,
  type DataFile,
  DEFAULT_CONCURRENCY,
  NoOpLogger,
  RuntimeContext,
  ToTaskAction,
} from 'synapse-sdk';
import { request } from 'undici';
import { report, startChildServer, timed } from './lib/harness.ts';

const TOTAL = Number(process.env.BENCH_TASKS ?? 2000);
/** Distinct annotation files; each is referenced by TOTAL / DISTINCT data units. */
const DISTINCT = 8;
const BATCH = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const annotation = (label: number) => ({
  objects: Array.from({ length: 5 }, (_, i) => ({
    id: `obj_${label}_${i}`,
    class_id: (label + i) % 10,
    type: 'bbox',
    coordinates: { x: 10 * i, y: 20 * i, width: 100 + label, height: 80 + i },
    properties: { confidence: 0.9, label: `class_${label}` },
  })),
});

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight. */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-to-task-'));
const server = await startChildServer();
try {
  const client = new BackendClient(server.url, { accessToken: server.token });
  const headers = { 'Synapse-Access-Token': `Token ${server.token}`, 'Content-Type': 'application/json' };
  const fixtures = async (body: unknown) => {
    const res = await request(`${server.url}/_emulator/fixtures`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    if (res.statusCode !== 200) throw new Error(`fixtures: ${res.statusCode} ${await res.body.text()}`);
    return (await res.body.json()) as Record<string, number[]>;
  };

  // Setup: one collection and project, one image, a few annotation files shared by many units.
  const specs = [
    { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
    { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
  ];
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: specs }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  const imagePath = join(dir, 'image.jpg');
  await writeFile(imagePath, 'not really a jpeg');
  const image = await client.createDataFile(imagePath);
  const jsons: DataFile[] = [];
  for (let k = 0; k < DISTINCT; k++) {
    const path = join(dir, `annotation_${k}.json`);
    await writeFile(path, JSON.stringify(annotation(k)));
    jsons.push(await client.createDataFile(path));
  }
  /** Task id → the annotation file URL its data unit points at (for the raw loop). */
  const fileUrlOf = new Map<number, string>();
  for (let start = 0; start < TOTAL; start += BATCH) {
    const units = await client.createDataUnits(
      Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => {
        const json = jsons[(start + i) % DISTINCT]!;
        return {
          data_collection: collection!,
          meta: {},
          files: {
            image_1: { checksum: image.checksum, path: image.file },
            annotation_data: { checksum: json.checksum, path: json.file },
          },
        };
      }),
    );
    const urlOfUnit = new Map(
      units.map((u) => [u.id as number, (u.files as Record<string, { url: string }>).annotation_data!.url]),
    );
    const tasks = await client.createTasks({
      project: project!,
      data: units.map((u) => ({ data_unit: u.id })),
    });
    for (const t of tasks) fileUrlOf.set(t.id as number, urlOfUnit.get(t.data_unit as number)!);
  }
  const taskIds = [...fileUrlOf.keys()];
  if (taskIds.length !== TOTAL) throw new Error(`created ${taskIds.length} tasks, expected ${TOTAL}`);

  // Raw capacity: the same two requests per task, plain undici, no SDK.
  const rawOnce = async (taskId: number) => {
    const file = await request(fileUrlOf.get(taskId)!);
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
  // For the analysis only: the same plus the task GET the action makes first (3 requests/task).
  const rawOnceWithTask = async (taskId: number) => {
    const task = await request(`${server.url}/tasks/${taskId}/?fields=id,data,data_unit&expand=data_unit`, {
      headers,
    });
    if (task.statusCode !== 200) throw new Error(`GET task: ${task.statusCode}`);
    await task.body.json();
    await rawOnce(taskId);
  };
  const rawLoop = (once: (taskId: number) => Promise<void>) => () =>
    pool(TOTAL, DEFAULT_CONCURRENCY, (i) => once(taskIds[i]!));

  const runAction = (concurrency?: number) => async () => {
    const run = new RuntimeContext({ client, logger: new NoOpLogger() });
    const params = {
      name: 'bench_to_task',
      project,
      agent: 1,
      task_filters: {},
      method: 'file',
      target_specification_name: 'annotation_data',
      ...(concurrency === undefined ? {} : { concurrency }),
    };
    const result = await new ToTaskAction({ run, params }).start();
    if (result.success_count !== TOTAL)
      throw new Error(
        `ToTask: ${result.success_count}/${TOTAL} succeeded: ${JSON.stringify(result.failures[0])}`,
      );
  };

  // Warm-up, not timed: JIT on both sides, connection pools, and every task's first write of its
  // data (an update that grows the row costs the server more than the replacements timed below).
  await rawLoop(rawOnce)();
  await runAction()();

  // The devserver is CPU-bound and its speed drifts as it warms up, so rounds alternate the runs
  // and the medians are compared. Each run replaces the tasks' data; no reset is needed.
  const runs = {
    raw: rawLoop(rawOnce),
    rawWithTask: rawLoop(rawOnceWithTask),
    sdk: runAction(),
    serial: runAction(1),
  };
  const seconds: Record<keyof typeof runs, number[]> = { raw: [], rawWithTask: [], sdk: [], serial: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(runs)) {
      seconds[name as keyof typeof runs].push((await timed(run)).seconds);
    }
  }
  await client.close();
  const [raw, rawWithTask, sdk, serial] = [seconds.raw, seconds.rawWithTask, seconds.sdk, seconds.serial].map(
    median,
  ) as [number, number, number, number];

  const rate = (s: number) => Math.round(TOTAL / s);
  const vsSerial = serial / sdk;
  const vsRaw = raw / sdk;
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const c = DEFAULT_CONCURRENCY;
  report(`to-task: ${TOTAL} tasks by the file method (medians of ${ROUNDS} rounds)`, [
    [`ToTask tasks/s (default concurrency ${c})`, rate(sdk)],
    ['ToTask tasks/s (concurrency 1)', rate(serial)],
    [`raw undici tasks/s (baseline: GET file + PUT annotate, concurrency ${c})`, rate(raw)],
    [`raw undici tasks/s (GET task + the same two, concurrency ${c}; for reference)`, rate(rawWithTask)],
    ['ratio default/concurrency-1', `${vsSerial.toFixed(2)} (target >= 5: ${met(vsSerial >= 5)})`],
    ['ratio default/raw', `${vsRaw.toFixed(2)} (target >= 0.7: ${met(vsRaw >= 0.7)})`],
    ['ratio default/raw with task GET', (rawWithTask / sdk).toFixed(2)],
  ]);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
