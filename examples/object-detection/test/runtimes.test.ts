/**
 * The detector's two runtimes on the real model and real photos: ONNX Runtime runs the committed
 * conversion of the packaged TensorFlow.js graph, and must find the same objects as TensorFlow.js
 * (no speed is asserted here: bench/detector.ts measures it).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { differingDetections } from '../compare.ts';
import { buildModelArchive, ONNX_MODEL_PATH } from '../model.ts';
import { packagedPath } from '../packaged.ts';
import { demoPhotos, type Photo } from '../photos.ts';
import { DEFAULT_DETECT_OPTIONS, Detector } from '../plugin/detector.ts';
import { type EvaluatedImage, evaluateDetections } from '../plugin/evaluate.ts';
import { decodeImage } from '../plugin/image.ts';
import { LABELS_FILE, MODEL_FILE, ONNX_FILE } from '../plugin/network.ts';
import { modelConfig } from '../plugin/options.ts';
import { LABELLED } from '../setup.ts';

let dir: string;
let photos: Photo[];
let tfjs: Detector;
let onnx: Detector;
const low = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: 0.05 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'detector-runtimes-'));
  const archive = await buildModelArchive(join(dir, 'model.zip'));
  for (const [name, data] of Object.entries(unzipSync(await readFile(archive)))) {
    await writeFile(join(dir, name), data);
  }
  photos = await demoPhotos();
  tfjs = await Detector.load(dir, { runtime: 'tfjs' });
  onnx = await Detector.load(dir, { runtime: 'onnx' });
});
afterAll(async () => {
  await tfjs?.dispose();
  await onnx?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('the ONNX conversion', () => {
  it('was made from the graph and weights of the installed package (else run scripts/convert-onnx.sh)', async () => {
    const provenance = JSON.parse(await readFile(`${ONNX_MODEL_PATH}.json`, 'utf8')) as {
      onnx: Record<string, string>;
      converted_from: Record<string, string>;
    };
    expect(provenance.onnx).toEqual({ [ONNX_FILE]: await sha256(ONNX_MODEL_PATH) });
    const models = packagedPath('models');
    const sources: Record<string, string> = {};
    for (const name of Object.keys(provenance.converted_from))
      sources[name] = await sha256(join(models, name));
    expect(provenance.converted_from).toEqual(sources);
    expect(Object.keys(sources)).toContain(MODEL_FILE);
  });
});

describe('runtimes', () => {
  it('finds the same objects with ONNX Runtime as with TensorFlow.js on every photo', async () => {
    let compared = 0;
    for (const photo of photos) {
      const image = decodeImage(photo.jpeg);
      const [a, b] = [await tfjs.detect(image, low), await onnx.detect(image, low)];
      expect(differingDetections(a, b, { threshold: low.confidenceThreshold }), photo.name).toEqual({
        onlyInA: [],
        onlyInB: [],
      });
      // Not merely close: the same count, classes and boxes, confidences within a rounding step.
      expect(b.map((d) => d.classId)).toEqual(a.map((d) => d.classId));
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('scores the hand-labelled photos no worse with ONNX Runtime', async () => {
    const evaluate = async (detector: Detector) => {
      const images: EvaluatedImage[] = [];
      for (const photo of photos.filter((p) => LABELLED[p.name])) {
        const truth = LABELLED[photo.name].map(([x, y, width, height]) => ({
          classId: 1,
          box: { x, y, width, height },
        }));
        images.push({ truth, predicted: await detector.detect(decodeImage(photo.jpeg), low) });
      }
      return [0.3, 0.5].map((confidenceThreshold) => evaluateDetections(images, { confidenceThreshold }));
    };
    const [fromTfjs, fromOnnx] = [await evaluate(tfjs), await evaluate(onnx)];
    expect(fromTfjs[0].map_50).toBeGreaterThan(0.9);
    for (const [i, m] of fromOnnx.entries()) {
      expect(m.precision).toBeGreaterThanOrEqual(fromTfjs[i].precision);
      expect(m.recall).toBeGreaterThanOrEqual(fromTfjs[i].recall);
      expect(m.map_50).toBeGreaterThanOrEqual(fromTfjs[i].map_50);
    }
  });

  it('would see a difference: the same photo shifted by four rows moves the boxes', async () => {
    const photo = decodeImage(photos[1].jpeg);
    const shifted = { ...photo, data: photo.data.slice(3 * 4 * photo.width) };
    shifted.height = Math.floor(shifted.data.length / 3 / photo.width);
    const { onlyInA, onlyInB } = differingDetections(
      await tfjs.detect(photo, low),
      await onnx.detect(shifted, low),
    );
    expect(onlyInA.length + onlyInB.length).toBeGreaterThan(0);
  });

  it('runs on ONNX Runtime by default, and on TensorFlow.js for a model without the conversion', async () => {
    const byDefault = await Detector.load(dir);
    expect(byDefault.runtime).toBe('onnx');
    await byDefault.dispose();

    const old = await mkdtemp(join(tmpdir(), 'detector-tfjs-only-'));
    try {
      for (const name of [MODEL_FILE, LABELS_FILE, 'centernet.bin'])
        await copyFile(join(dir, name), join(old, name));
      const fallback = await Detector.load(old);
      expect(fallback.runtime).toBe('tfjs');
      await fallback.dispose();
      await expect(Detector.load(old, { runtime: 'onnx' })).rejects.toThrow(
        'The model has no centernet.onnx: register it again from this version of the plugin',
      );
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  });

  it('names a runtime it does not know', async () => {
    await expect(Detector.load(dir, { runtime: 'torch' as never })).rejects.toThrow(
      'Unknown runtime "torch" (expected one of onnx, tfjs)',
    );
    expect(modelConfig({ model_config: { runtime: 'tfjs' } })).toEqual({
      batchSize: 1,
      device: 'cpu',
      runtime: 'tfjs',
    });
    expect(() => modelConfig({ model_config: { runtime: 'gpu' } })).toThrow(
      'model_config.runtime must be one of onnx, tfjs, got "gpu"',
    );
  });
});

describe('ONNX Runtime', () => {
  it('leaves no telemetry behind: no device id in the home folder, no files in the temp folder', async () => {
    const home = await mkdtemp(join(tmpdir(), 'detector-home-'));
    const temp = await mkdtemp(join(tmpdir(), 'detector-temp-'));
    try {
      const script = join(temp, '..', `${temp.split('/').pop()}-load.mjs`);
      const network = join(import.meta.dirname, '../plugin/network-onnx.ts');
      await writeFile(
        script,
        `const { loadOnnxNetwork } = await import(${JSON.stringify(network)});
         const net = await loadOnnxNetwork(${JSON.stringify(dir)});
         await net.run(new Float32Array(net.inputSize * net.inputSize * 3));
         await net.dispose();
         console.log(net.runtime);`,
      );
      try {
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: temp };
        delete env.ORT_DISABLE_TELEMETRY;
        const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { env });
        expect(stdout.trim()).toBe('onnx');
      } finally {
        await rm(script, { force: true });
      }
      expect(await readdir(home, { recursive: true })).toEqual([]);
      // tsx keeps its compile cache there; anything else is ONNX Runtime's.
      expect((await readdir(temp)).filter((f) => !f.startsWith('tsx-'))).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(temp, { recursive: true, force: true });
    }
  });
});
