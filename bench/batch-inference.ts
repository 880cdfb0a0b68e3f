/**
 * The object-detection plugin's `batch_inference` action over 200 images against the raw model
 * loop: the same detector (the plugin's TensorFlow.js model, loaded once, outside the timing), the
 * same image files, in this process, with no SDK (read, decode, detect). The action's time includes
 * what a run does around the model: params, the model fetched from the platform and extracted,
 * progress and metrics. Rounds alternate; medians are compared. Prints images/s for each and the
 * ratio action/raw (target ≥ 0.9). `BENCH_IMAGES` (default 200), `BENCH_ROUNDS` (default 2).
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
import { report, startChildServer, timed } from './lib/harness.ts';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BATCH_SIZE = 8;
const THRESHOLD = 0.3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
  const detector = await Detector.load(modelDir);
  const options = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: THRESHOLD };

  let rawObjects = 0;
  const raw = async () => {
    rawObjects = 0;
    for (const path of paths)
      rawObjects += (await detector.detect(decodeImage(await readFile(path)), options)).length;
  };
  let actionObjects = 0;
  const action = async () => {
    const run = new RuntimeContext({ client, logger: new NoOpLogger() });
    const params = {
      model: model.id,
      inputs: paths.map((image_path) => ({ image_path })),
      confidence_threshold: THRESHOLD,
      model_config: { batch_size: BATCH_SIZE },
    };
    const result = (await BatchInference.dispatch(params, run)) as {
      processed_count: number;
      results: Array<{ objects?: unknown[] }>;
    };
    if (result.processed_count !== IMAGES)
      throw new Error(`processed ${result.processed_count} of ${IMAGES}`);
    actionObjects = result.results.reduce((n, r) => n + (r.objects?.length ?? 0), 0);
  };

  await raw(); // warm-up: WebAssembly compilation, first-run kernels
  const rawTimes: number[] = [];
  const actionTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    actionTimes.push((await timed(action)).seconds);
    rawTimes.push((await timed(raw)).seconds);
  }
  if (actionObjects !== rawObjects)
    throw new Error(`objects differ: action ${actionObjects}, raw ${rawObjects}`);
  const rate = (seconds: number) => IMAGES / seconds;
  const actionRate = rate(median(actionTimes));
  const rawRate = rate(median(rawTimes));
  report(`batch inference: ${IMAGES} images, batch_size ${BATCH_SIZE}, ${ROUNDS} rounds (medians)`, [
    ['batch_inference action', `${actionRate.toFixed(2)} images/s`],
    ['raw model loop', `${rawRate.toFixed(2)} images/s`],
    ['ratio action/raw', `${(actionRate / rawRate).toFixed(2)} (target >= 0.9)`],
    ['objects found (each run)', actionObjects],
  ]);
  detector.dispose();
  await client.close();
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
