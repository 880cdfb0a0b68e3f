/**
 * The detector's two runtimes side by side: ONNX Runtime (the default when installed) against
 * TensorFlow.js with its WebAssembly backend (SIMD, one thread), on the same model archive, the same
 * image files and the same pre/post-processing. Each round runs every variant once, in turn; per
 * variant it prints images/s of the detector loop (read the file, decode, detect, as the plugin
 * does) and of the network alone, medians with min/max, and the ratio to TensorFlow.js (target
 * >= 3). Then the quality on the hand-labelled photos for each runtime (precision, recall, mAP@0.5
 * at IoU 0.5) and whether both found the same objects on every demo photo; it exits 1 if ONNX
 * Runtime's quality is worse. `BENCH_IMAGES` (default 40), `BENCH_ROUNDS` (default 5).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { differingDetections } from '../examples/object-detection/compare.ts';
import { buildModelArchive } from '../examples/object-detection/model.ts';
import { demoPhotos } from '../examples/object-detection/photos.ts';
import { DEFAULT_DETECT_OPTIONS, Detector } from '../examples/object-detection/plugin/detector.ts';
import { evaluateDetections } from '../examples/object-detection/plugin/evaluate.ts';
import { decodeImage, resizeBilinear } from '../examples/object-detection/plugin/image.ts';
import type { Network } from '../examples/object-detection/plugin/network.ts';
import { loadOnnxNetwork } from '../examples/object-detection/plugin/network-onnx.ts';
import { loadTfjsNetwork } from '../examples/object-detection/plugin/network-tfjs.ts';
import { LABELLED } from '../examples/object-detection/setup.ts';
import { loadAverage, report, spread, timed } from './lib/harness.ts';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 40);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const options = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: 0.3 };

console.log(`load average at start: ${loadAverage()} (${availableParallelism()} CPUs)`);
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-detector-'));
try {
  const archive = unzipSync(await readFile(await buildModelArchive(join(dir, 'model.zip'))));
  const modelDir = join(dir, 'model');
  await mkdir(modelDir);
  for (const [name, data] of Object.entries(archive)) await writeFile(join(modelDir, name), data);

  const photos = await demoPhotos();
  const paths: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const path = join(dir, `image_${i}.jpg`);
    await writeFile(path, photos[i % photos.length].jpeg);
    paths.push(path);
  }

  interface Variant {
    name: string;
    detector: Detector;
    network: Network;
  }
  const variants: Variant[] = [
    {
      name: 'tfjs (wasm, simd)',
      detector: await Detector.load(modelDir, { runtime: 'tfjs' }),
      network: await loadTfjsNetwork(modelDir),
    },
    {
      name: 'onnx (1 thread, default)',
      detector: await Detector.load(modelDir, { runtime: 'onnx' }),
      network: await loadOnnxNetwork(modelDir),
    },
    {
      name: `onnx (${availableParallelism()} threads)`,
      detector: await Detector.load(modelDir, { runtime: 'onnx', threads: availableParallelism() }),
      network: await loadOnnxNetwork(modelDir, { threads: availableParallelism() }),
    },
  ];
  const byDefault = await Detector.load(modelDir);
  console.log(`default runtime: ${byDefault.runtime}`);
  await byDefault.dispose();

  const pixels = resizeBilinear(decodeImage(photos[0].jpeg), 512);
  let objects = new Map<string, number>();
  const detectorLoop = async (v: Variant) => {
    let found = 0;
    for (const path of paths)
      found += (await v.detector.detect(decodeImage(await readFile(path)), options)).length;
    objects.set(v.name, found);
  };
  const networkLoop = async (v: Variant) => {
    for (let i = 0; i < IMAGES; i++) await v.network.run(pixels);
  };

  for (const v of variants) await detectorLoop(v); // warm-up: compilation, first-run kernels
  objects = new Map();
  const times = new Map(variants.map((v) => [v.name, { detector: [] as number[], network: [] as number[] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) times.get(v.name)!.detector.push((await timed(() => detectorLoop(v))).seconds);
    for (const v of variants) times.get(v.name)!.network.push((await timed(() => networkLoop(v))).seconds);
  }

  const rate = (seconds: number[]) => spread(seconds.map((t) => IMAGES / t));
  const fmt = (s: { median: number; min: number; max: number }) =>
    `${s.median.toFixed(2)} images/s (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})`;
  const base = times.get(variants[0].name)!;
  const rows: Array<[string, string | number]> = [];
  for (const v of variants) {
    const t = times.get(v.name)!;
    const detector = rate(t.detector);
    const network = rate(t.network);
    const ratio = (mine: number[], theirs: number[]) => (rate(mine).median / rate(theirs).median).toFixed(2);
    rows.push([`${v.name}: detector loop`, `${fmt(detector)}  x${ratio(t.detector, base.detector)}`]);
    rows.push([`${v.name}: network only`, `${fmt(network)}  x${ratio(t.network, base.network)}`]);
    rows.push([`${v.name}: objects found`, objects.get(v.name) ?? 0]);
  }
  report(
    `detector: ${IMAGES} images (${photos.length} photos of ~160x160 px, network input 512x512), ${ROUNDS} interleaved rounds, medians; xN = ratio to tfjs (target >= 3)`,
    rows,
  );

  // Quality: the hand-labelled photos, every detection >= 0.05 ranked for mAP (as the `test` action).
  const low = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: 0.05 };
  const quality: Array<[string, string | number]> = [];
  const metrics = new Map<string, ReturnType<typeof evaluateDetections>[]>();
  for (const v of variants.slice(0, 2)) {
    const images: Parameters<typeof evaluateDetections>[0] = [];
    for (const photo of photos.filter((p) => LABELLED[p.name])) {
      const truth = LABELLED[photo.name].map(([x, y, width, height]) => ({
        classId: 1,
        box: { x, y, width, height },
      }));
      images.push({ truth, predicted: await v.detector.detect(decodeImage(photo.jpeg), low) });
    }
    const m = [0.3, 0.5].map((confidenceThreshold) => evaluateDetections(images, { confidenceThreshold }));
    metrics.set(v.name, m);
    for (const [i, threshold] of [0.3, 0.5].entries()) {
      const { precision, recall, map_50 } = m[i];
      quality.push([
        `${v.name} @ ${threshold}`,
        `precision ${precision}, recall ${recall}, mAP@0.5 ${map_50}`,
      ]);
    }
  }
  let differing = 0;
  for (const photo of photos) {
    const image = decodeImage(photo.jpeg);
    const [a, b] = await Promise.all(variants.slice(0, 2).map((v) => v.detector.detect(image, low)));
    const { onlyInA, onlyInB } = differingDetections(a, b, { threshold: low.confidenceThreshold });
    differing += onlyInA.length + onlyInB.length;
  }
  quality.push(['detections >= 0.05 on the 11 photos found by one runtime only', differing]);
  report('quality on the hand-labelled photos (6 people, IoU 0.5)', quality);

  const [tfjsMetrics, onnxMetrics] = [...metrics.values()];
  const worse = onnxMetrics.some(
    (m, i) =>
      m.precision < tfjsMetrics[i].precision ||
      m.recall < tfjsMetrics[i].recall ||
      m.map_50 < tfjsMetrics[i].map_50,
  );
  for (const v of variants) {
    await v.detector.dispose();
    await v.network.dispose();
  }
  if (worse || differing) {
    console.error('ONNX Runtime does not find the same objects as TensorFlow.js');
    process.exitCode = 1;
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  console.log(`\nload average at end: ${loadAverage()}`);
}
