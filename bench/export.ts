/**
 * The export action against a raw loop: 10,000 tasks of five boxes each (detector-like numbers,
 * a confidence) exported to COCO on a local folder storage. The raw loop lists the same pages
 * (`sdk/tasks/` with the same expand, 100 a page) with plain fetch and writes the same COCO
 * content with no checks, no per-item events, no metrics, no progress: the ratio export/raw is what
 * the action's checks, records and streaming cost. Each run is a fresh process (the devserver is
 * another), so both start from the same heap; rounds alternate which goes first. Prints items/s
 * and the peak RSS growth of each (medians with min and max), the ratio and the load average.
 * Targets: ratio ≥ 0.8; the action's RSS growth < 100 MB.
 *
 *   npx tsx bench/export.ts          (BENCH_TASKS=<n>, default 10000; BENCH_RUNS=<rounds>, default 3;
 *                                     BENCH_NODE_ARGS="--cpu-prof" adds flags to each run's process)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendClient, DatasetExportAction, NoOpLogger, RuntimeContext } from 'synapse-sdk';
import { loadAverage, MB, peakRssGrowth, report, spread, startChildServer, timed } from './lib/harness.ts';

type Mode = 'export' | 'raw';
interface RunResult {
  items: number;
  annotations: number;
  seconds: number;
  growth: number;
}

const TOTAL = Number(process.env.BENCH_TASKS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = 2_000;
const CLASSES = [
  { id: 1, name: 'person' },
  { id: 3, name: 'car' },
  { id: 7, name: 'traffic light' },
];

interface Target {
  url: string;
  token: string;
  project: number;
  storage: number;
  dir: string;
}

/** The raw loop: the same pages, the same COCO content, written at the end, nothing checked. */
async function rawExport(t: Target, out: string): Promise<{ items: number; annotations: number }> {
  const headers = { 'Synapse-Access-Token': `Token ${t.token}` };
  const images: unknown[] = [];
  const annotations: unknown[] = [];
  let next: string | null =
    `${t.url}/sdk/tasks/?project=${t.project}&expand=data_unit&expand=assignment&expand=workshop&page_size=100`;
  while (next) {
    const page = (await (await fetch(next, { headers })).json()) as { next: string | null; results: any[] };
    for (const task of page.results) {
      const file = Object.values(task.data_unit.files)[0] as { file_name_original: string };
      const imageId = images.length + 1;
      images.push({
        id: imageId,
        file_name: file.file_name_original,
        width: task.data_unit.meta.width,
        height: task.data_unit.meta.height,
      });
      for (const o of task.data.objects) {
        const c = o.coordinates;
        const { label: _, ...attributes } = o.properties;
        annotations.push({
          id: annotations.length + 1,
          image_id: imageId,
          category_id: o.class_id,
          bbox: [c.x, c.y, c.width, c.height],
          area: c.width * c.height,
          segmentation: [],
          iscrowd: 0,
          attributes,
        });
      }
    }
    next = page.next;
  }
  const categories = CLASSES.map((c) => ({ ...c, supercategory: '' }));
  await writeFile(out, JSON.stringify({ images, annotations, categories }));
  return { items: images.length, annotations: annotations.length };
}

async function runOnce(mode: Mode, t: Target, round: number): Promise<RunResult> {
  const client = new BackendClient(t.url, { accessToken: t.token });
  // Warm-up outside the measurement: the modules and the first connection, in both modes.
  await client.listTasks({ project: t.project }, { pageSize: 1 });
  const name = `${mode}-${round}`;
  const run = await timed(() =>
    peakRssGrowth(async () => {
      if (mode === 'raw') return rawExport(t, join(t.dir, `${name}.json`));
      const ctx = new RuntimeContext({ client, logger: new NoOpLogger() });
      const result = (await DatasetExportAction.dispatch(
        {
          storage: t.storage,
          name,
          target: 'task',
          filter: { project: t.project },
          save_original_file: false,
        },
        ctx,
      )) as { exported_count: number };
      return { items: result.exported_count, annotations: 0 };
    }),
  );
  // Checked after the measurement: what the action wrote holds every box.
  if (mode === 'export') {
    const coco = JSON.parse(await readFile(join(t.dir, name, 'annotations.json'), 'utf8'));
    run.value.value.annotations = coco.annotations.length;
  }
  await client.close();
  return { ...run.value.value, seconds: run.seconds, growth: run.value.growth };
}

if (process.argv[2] === '--child') {
  const [mode, json, round] = process.argv.slice(3) as [Mode, string, string];
  process.stdout.write(JSON.stringify(await runOnce(mode, JSON.parse(json) as Target, Number(round))));
} else {
  const server = await startChildServer();
  const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-export-'));
  try {
    const headers = { 'Synapse-Access-Token': `Token ${server.token}`, 'Content-Type': 'application/json' };
    const post = async (body: unknown) => {
      const res = await fetch(`${server.url}/_emulator/fixtures`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`fixtures: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, number[]>;
    };
    const {
      data_collections: [collection],
    } = await post({ data_collections: [{ name: 'Bench' }] });
    const {
      projects: [project],
    } = await post({ projects: [{ title: 'Bench', data_collection: collection }] });
    const {
      storages: [storage],
    } = await post({
      storages: [{ name: 'bench', provider: 'file_system', configuration: { location: dir } }],
    });
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (let start = 0; start < TOTAL; start += BATCH) {
      const n = Math.min(BATCH, TOTAL - start);
      const { data_units: units } = await post({
        data_units: Array.from({ length: n }, (_, i) => ({
          data_collection: collection,
          meta: { width: 640, height: 480 },
          files: {
            image_1: {
              url: `${server.url}/media/x/${start + i}.jpg`,
              file_name_original: `image_${start + i}.jpg`,
              is_primary: true,
            },
          },
        })),
      });
      await post({
        tasks: units!.map((unit) => ({
          project,
          data_unit: unit,
          data: {
            objects: Array.from({ length: 5 }, (_, k) => ({
              id: `obj_${k + 1}`,
              class_id: CLASSES[k % 3]!.id,
              type: 'bbox',
              coordinates: {
                x: next() * 400,
                y: next() * 300,
                width: 1 + next() * 200,
                height: 1 + next() * 150,
              },
              properties: { confidence: next(), label: CLASSES[k % 3]!.name },
            })),
          },
        })),
      });
    }
    const target: Target = {
      url: server.url,
      token: server.token,
      project: project!,
      storage: storage!,
      dir,
    };

    const loadBefore = loadAverage();
    const results: Record<Mode, RunResult[]> = { export: [], raw: [] };
    for (let round = 0; round < RUNS; round++) {
      const order: Mode[] = round % 2 === 0 ? ['export', 'raw'] : ['raw', 'export'];
      for (const mode of order) {
        const out = execFileSync(
          process.execPath,
          [
            // e.g. BENCH_NODE_ARGS=--cpu-prof to profile the runs
            ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
            '--conditions=synapse-source',
            '--import',
            'tsx',
            import.meta.filename,
            '--child',
            mode,
            JSON.stringify(target),
            String(round),
          ],
          { encoding: 'utf8', maxBuffer: 1024 * 1024 },
        );
        const result = JSON.parse(out) as RunResult;
        if (result.items !== TOTAL || result.annotations !== TOTAL * 5) {
          throw new Error(
            `${mode}: expected ${TOTAL} items, got ${result.items} (${result.annotations} boxes)`,
          );
        }
        results[mode].push(result);
      }
    }

    const show = (xs: number[], digits: number) => {
      const { median, min, max } = spread(xs);
      return `${median.toFixed(digits)} (min ${min.toFixed(digits)}, max ${max.toFixed(digits)})`;
    };
    const rates = (mode: Mode) => results[mode].map((r) => TOTAL / r.seconds);
    const growth = (mode: Mode) => results[mode].map((r) => r.growth / MB);
    report(`export: ${TOTAL} tasks of 5 boxes to COCO on a folder storage, ${RUNS} interleaved rounds`, [
      ['export action items/s', show(rates('export'), 0)],
      ['raw loop items/s (baseline)', show(rates('raw'), 0)],
      [
        'ratio export/raw (medians)',
        (spread(rates('export')).median / spread(rates('raw')).median).toFixed(2),
      ],
      ['target ratio', '>= 0.8'],
      ['export peak RSS growth (MB)', show(growth('export'), 1)],
      ['raw peak RSS growth (MB)', show(growth('raw'), 1)],
      ['target export RSS growth', '< 100 MB'],
      ['load average (1, 5, 15 min) before', loadBefore],
      ['load average after', loadAverage()],
    ]);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
