/**
 * The object-detection plugin's `batch_inference` action over 200 images against the raw model
 * loop, on each runtime of the detector (ONNX Runtime, TensorFlow.js): the same detector (loaded
 * once, outside the timing), the same image files, in this process, with no SDK (read, decode,
 * detect). The action's time includes what a run does around the model: params, the model fetched
 * from the platform and extracted, progress and metrics. Rounds alternate; medians with min/max
 * are compared. Prints images/s for each, the ratio action/raw per runtime (target ≥ 0.9) and the
 * action's ratio onnx/tfjs. `BENCH_IMAGES` (default 200), `BENCH_ROUNDS` (default 2).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { BackendClient, NoOpLogger, RuntimeContext } from 'synapse-sdk';
import { buildModelArchive, registerModel } from '../examples/object-detection/model.ts';
import { demoPhotos } from '../examples/object-detection/photos.ts';
import { BatchInference } from '../examples/object-detection/plugin/batch.ts';
import { DEFAULT_DETECT_OPTIONS, Detector } from '../examples/object-detection/plugin/detector.ts';
import { decodeImage } from '../examples/object-detection/plugin/image.ts';
import type { RuntimeName } from '../examples/object-detection/plugin/network.ts';
import { loadAverage, report, spread, startChildServer, timed } from './lib/harness.ts';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BATCH_SIZE = 8;
const THRESHOLD = 0.3;
const RUNTIMES: RuntimeName[] = ['onnx', 'tfjs'];

console.log(`load average at start: ${loadAverage()}`);
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-batch-'));
const server = await startChildServer();
try {
  const client = new BackendClient(server.url, { accessToken: server.token });
  const model = await registerModel(client, dir);

  // 200 image files: the demo photos over and over.
  const photos = await demoPhotos();
  const paths: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const path = join(dir, `image_${i}.jpg`);
    await writeFile(path, photos[i % photos.length].jpeg);
    paths.push(path);
  }

  // The raw loop's model: the same archive, extracted here once.
  const modelDir = join(dir, 'model');
  const archive = unzipSync(await readFile(await buildModelArchive(join(dir, 'model.zip'))));
  await mkdir(modelDir);
  for (const [name, data] of Object.entries(archive)) await writeFile(join(modelDir, name), data);
  const options = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: THRESHOLD };

  const raw = async (detector: Detector) => {
    let objects = 0;
    for (const path of paths)
      objects += (await detector.detect(decodeImage(await readFile(path)), options)).length;
    return objects;
  };
  const action = async (runtime: RuntimeName) => {
    const run = new RuntimeContext({ client, logger: new NoOpLogger() });
    const params = {
      model: model.id,
      inputs: paths.map((image_path) => ({ image_path })),
      confidence_threshold: THRESHOLD,
      model_config: { batch_size: BATCH_SIZE, runtime },
    };
    const result = (await BatchInference.dispatch(params, run)) as {
      processed_count: number;
      results: Array<{ objects?: unknown[] }>;
    };
    if (result.processed_count !== IMAGES)
      throw new Error(`processed ${result.processed_count} of ${IMAGES}`);
    return result.results.reduce((n, r) => n + (r.objects?.length ?? 0), 0);
  };

  const detectors = new Map<RuntimeName, Detector>();
  for (const runtime of RUNTIMES) {
    const detector = await Detector.load(modelDir, { runtime });
    detectors.set(runtime, detector);
    await raw(detector); // warm-up: compilation, first-run kernels
  }
  const times = new Map(RUNTIMES.map((r) => [r, { action: [] as number[], raw: [] as number[] }]));
  const objects = new Set<number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const runtime of RUNTIMES) {
      const a = await timed(() => action(runtime));
      const r = await timed(() => raw(detectors.get(runtime)!));
      times.get(runtime)!.action.push(a.seconds);
      times.get(runtime)!.raw.push(r.seconds);
      objects.add(a.value).add(r.value);
    }
  }
  if (objects.size !== 1) throw new Error(`objects differ between runs: ${[...objects].join(', ')}`);
  const rate = (seconds: number[]) => spread(seconds.map((s) => IMAGES / s));
  const fmt = (s: { median: number; min: number; max: number }) =>
    `${s.median.toFixed(2)} images/s (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`;
  const rows: Array<[string, string | number]> = [];
  for (const runtime of RUNTIMES) {
    const t = times.get(runtime)!;
    rows.push([`${runtime}: batch_inference action`, fmt(rate(t.action))]);
    rows.push([`${runtime}: raw model loop`, fmt(rate(t.raw))]);
    rows.push([
      `${runtime}: ratio action/raw`,
      `${(rate(t.action).median / rate(t.raw).median).toFixed(2)} (target >= 0.9)`,
    ]);
  }
  const onnx = rate(times.get('onnx')!.action).median;
  const tfjs = rate(times.get('tfjs')!.action).median;
  rows.push(['action onnx/tfjs', `${(onnx / tfjs).toFixed(2)} (target >= 3)`]);
  rows.push(['objects found (each run)', [...objects][0]]);
  report(`batch inference: ${IMAGES} images, batch_size ${BATCH_SIZE}, ${ROUNDS} rounds (medians)`, rows);
  for (const detector of detectors.values()) await detector.dispose();
  await client.close();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
  console.log(`\nload average at end: ${loadAverage()}`);
}
