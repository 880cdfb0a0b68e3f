/**
 * ToTask by the file method against a raw loop of the same three requests per task that ToTask
 * makes (GET the task with `expand=data_unit`, GET its annotation file, PUT `annotate_task_data`;
 * checked against the devserver's recorded requests before timing), in two scenarios: the local
 * devserver as it is, and with 20 ms added to every request (`hang_ms`, a remote platform).
 * ToTask runs at its default, the adaptive limit; the raw loop at each fixed concurrency 1, 4, 8,
 * 16 and 32. Rounds interleave every run of both scenarios; each run's tasks/s is given as the
 * median with min and max, and the target is adaptive ≥ 0.9 of the raw loop's best concurrency
 * in each scenario. The ToTask time is the whole run (it also lists the task ids and writes its
 * progress and metrics); the raw loop only does the three requests.
 * `BENCH_TASKS` (default 1000; the raw loop at concurrency 1 does a fifth of them, its rate is
 * the same and it would take minutes) and `BENCH_ROUNDS` (default 3) override the sizes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendClient, type DataFile, NoOpLogger, RuntimeContext, ToTaskAction } from 'synapse-sdk';
import { request } from 'undici';
import { loadAverage, report, spread, startChildServer, timed } from './lib/harness.ts';

const TOTAL = Number(process.env.BENCH_TASKS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FIXED = [1, 4, 8, 16, 32];
const ADDED_MS = 20;
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
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

const loadAtStart = loadAverage();
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-to-task-'));
const server = await startChildServer({ faults: true });
try {
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
  for (let start = 0; start < TOTAL; start += BATCH) {
    const units = await client.createDataUnits(
      Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => {
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
  if (taskIds.length !== TOTAL) throw new Error(`created ${taskIds.length} tasks, expected ${TOTAL}`);

  // The raw loop: ToTask's three requests per task, plain undici, no SDK; the file URL comes
  // from the task's data unit, as ToTask takes it.
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

  const toTask = (limit?: number) => async () => {
    const run = new RuntimeContext({ client, logger: new NoOpLogger() });
    const params = {
      name: 'bench_to_task',
      project,
      agent: 1,
      task_filters: limit === undefined ? {} : { limit },
      method: 'file',
      target_specification_name: 'annotation_data',
    };
    const result = await new ToTaskAction({ run, params }).start();
    const expected = limit ?? TOTAL;
    if (result.success_count !== expected)
      throw new Error(
        `ToTask: ${result.success_count}/${expected} succeeded: ${JSON.stringify(result.failures[0])}`,
      );
  };

  // What ToTask sends per task, from the devserver's record of one task's run, next to the raw loop's.
  const shape = (r: { method: string; path: string; query: Record<string, unknown> }) =>
    `${r.method} ${r.path.replace(/\/\d+\//g, '/<id>/').replace(/^\/media\/.*/, '/media/<file>')}` +
    (Object.keys(r.query ?? {}).length ? `?${new URLSearchParams(r.query as Record<string, string>)}` : '');
  const perTask = async (run: () => Promise<void>) => {
    await admin('DELETE', 'requests');
    await run();
    const recorded = (await admin('GET', 'requests')) as Array<{ method: string; path: string; query: any }>;
    return recorded.filter((r) => /^\/tasks\/\d+\/|^\/media\//.test(r.path)).map(shape);
  };
  const sdkShape = await perTask(toTask(1));
  const rawShape = await perTask(() => rawOnce(taskIds[0]!));
  if (JSON.stringify(sdkShape) !== JSON.stringify(rawShape))
    throw new Error(`ToTask per task: ${sdkShape.join(', ')}; raw loop: ${rawShape.join(', ')}`);
  console.log(`per task, ToTask and the raw loop both send: ${sdkShape.join(', ')}`);

  const scenarios = [
    { name: 'no added latency', fault: null },
    { name: `${ADDED_MS} ms added per request`, fault: { hang_ms: ADDED_MS, count: 1e9 } },
  ];
  const runs = [
    { name: 'ToTask, adaptive default', run: toTask(), tasks: TOTAL },
    ...FIXED.map((c) => {
      const n = c === 1 ? Math.ceil(TOTAL / 5) : TOTAL;
      return { name: `raw loop, concurrency ${c}`, run: rawLoop(c, n), tasks: n, fixed: c };
    }),
  ];
  const rates = scenarios.map(() => runs.map(() => [] as number[]));

  // Warm-up, not timed: JIT on both sides, connection pools, each task's first write of its data.
  await rawLoop(8, TOTAL)();
  await toTask()();

  // Rounds interleave every run of both scenarios, so drift (the devserver warming up, the
  // shared machine's other work) spreads over all of them alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [s, scenario] of scenarios.entries()) {
      await admin('DELETE', 'faults');
      if (scenario.fault) await admin('POST', 'faults', scenario.fault);
      for (const [r, { run, tasks }] of runs.entries())
        rates[s]![r]!.push(tasks / (await timed(run)).seconds);
    }
  }
  await admin('DELETE', 'faults');
  await client.close();

  const fmt = (xs: number[]) => {
    const { median, min, max } = spread(xs);
    return `${median.toFixed(0)} tasks/s (min ${min.toFixed(0)}, max ${max.toFixed(0)})`;
  };
  for (const [s, scenario] of scenarios.entries()) {
    const medians = rates[s]!.map((xs) => spread(xs).median);
    const adaptive = medians[0]!;
    const best = medians.slice(1).reduce((b, m, i) => (m > medians[b + 1]! ? i : b), 0) + 1;
    const ratio = adaptive / medians[best]!;
    report(`to-task, ${scenario.name}: ${TOTAL} tasks by the file method, medians of ${ROUNDS} rounds`, [
      ...runs.map(({ name, tasks }, r): [string, string] => [
        `${name}${tasks === TOTAL ? '' : ` (${tasks} tasks)`}`,
        `${fmt(rates[s]![r]!)}${r === 0 ? '' : `  adaptive/this ${(adaptive / medians[r]!).toFixed(2)}`}`,
      ]),
      [
        `adaptive / best raw (${runs[best]!.name})`,
        `${ratio.toFixed(2)} (target >= 0.9: ${ratio >= 0.9 ? 'met' : 'MISSED'})`,
      ],
    ]);
  }
  console.log(`\nload average (1, 5, 15 min): at start ${loadAtStart}, at end ${loadAverage()}`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
