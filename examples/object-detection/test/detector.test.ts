/**
 * The detector on real photos with the real model (the archive the platform serves, extracted):
 * people are found where a person boxed them by hand, and every detection param is honoured.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModelArchive, COCO_LABELS } from '../model.ts';
import { demoPhotos, type Photo } from '../photos.ts';
import { DEFAULT_DETECT_OPTIONS, Detector, iou } from '../plugin/detector.ts';
import { decodeImage } from '../plugin/image.ts';
import { cpuFallbackWarning, detectOptions, modelConfig } from '../plugin/options.ts';

let dir: string;
let detector: Detector;
let photos: Photo[];
const low = { ...DEFAULT_DETECT_OPTIONS, confidenceThreshold: 0.3 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'detector-'));
  const archive = await buildModelArchive(join(dir, 'model.zip'));
  for (const [name, data] of Object.entries(unzipSync(await readFile(archive)))) {
    await writeFile(join(dir, name), data);
  }
  detector = await Detector.load(dir);
  photos = await demoPhotos();
});
afterAll(async () => {
  await detector?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const image = (name: string) => {
  const photo = photos.find((p) => p.name === name);
  if (!photo) throw new Error(`no ${name}`);
  return decodeImage(photo.jpeg);
};

describe('Detector', () => {
  it('finds the person of a portrait where a person boxed it by hand', async () => {
    const [best] = await detector.detect(image('photo_02.jpg'), low);
    expect(best).toMatchObject({ classId: 1, label: 'person' });
    expect(best.confidence).toBeGreaterThan(0.5);
    expect(iou(best.box, { x: 5, y: 5, width: 140, height: 153 })).toBeGreaterThan(0.7);
  });

  it('keeps boxes inside the image, in its pixels, best first', async () => {
    const photo = image('photo_10.jpg');
    const found = await detector.detect(photo, low);
    expect(found.length).toBeGreaterThan(1);
    for (const d of found) {
      expect(d.box.x).toBeGreaterThanOrEqual(0);
      expect(d.box.y).toBeGreaterThanOrEqual(0);
      expect(d.box.x + d.box.width).toBeLessThanOrEqual(photo.width);
      expect(d.box.y + d.box.height).toBeLessThanOrEqual(photo.height);
      expect(d.label).toBe(COCO_LABELS[d.classId - 1]);
    }
    const confidences = found.map((d) => d.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
  });

  it('honours confidence_threshold, class_filter, min_object_size and max_objects', async () => {
    const photo = image('photo_10.jpg');
    const all = await detector.detect(photo, { ...low, confidenceThreshold: 0.05 });
    expect(all.length).toBeGreaterThan(3);
    const strict = await detector.detect(photo, { ...low, confidenceThreshold: 0.39 });
    expect(strict.length).toBeGreaterThan(0);
    expect(strict.every((d) => d.confidence >= 0.39)).toBe(true);
    expect(strict.length).toBeLessThan(all.length);
    const cups = await detector.detect(photo, { ...low, confidenceThreshold: 0.05, classFilter: [42] });
    expect(cups.length).toBeGreaterThan(0);
    expect(cups.every((d) => d.label === 'cup')).toBe(true);
    const big = await detector.detect(photo, { ...low, confidenceThreshold: 0.05, minObjectSize: 60 });
    expect(big.every((d) => Math.min(d.box.width, d.box.height) >= 60)).toBe(true);
    expect(big.length).toBeLessThan(all.length);
    expect(await detector.detect(photo, { ...low, confidenceThreshold: 0.05, maxObjects: 2 })).toEqual(
      all.slice(0, 2),
    );
  });

  it('suppresses overlapping boxes of a class above nms_threshold', async () => {
    const photo = image('photo_09.jpg');
    const loose = await detector.detect(photo, { ...low, confidenceThreshold: 0.05, nmsThreshold: 1 });
    const tight = await detector.detect(photo, { ...low, confidenceThreshold: 0.05, nmsThreshold: 0.1 });
    expect(tight.length).toBeLessThan(loose.length);
    for (const a of tight) {
      for (const b of tight)
        if (a !== b && a.classId === b.classId) expect(iou(a.box, b.box)).toBeLessThanOrEqual(0.1);
    }
  });
});

describe('images', () => {
  it('decodes PNG as well as JPEG, and refuses anything else', () => {
    const png = new PNG({ width: 3, height: 2 });
    png.data.fill(200);
    const decoded = decodeImage(PNG.sync.write(png));
    expect([decoded.width, decoded.height, decoded.data.length]).toEqual([3, 2, 18]);
    expect(() => decodeImage(Buffer.from('GIF89a....'))).toThrow(
      'Unsupported image format (expected JPEG or PNG)',
    );
  });
});

describe('pre_processor_params', () => {
  it("reads the seed's params, top level or under post_processing", () => {
    expect(
      detectOptions({
        confidence_threshold: 0.85,
        class_filter: [1, 2, 3],
        max_objects: 5,
        post_processing: { nms_threshold: 0.4, min_size: 10 },
      }),
    ).toEqual({
      confidenceThreshold: 0.85,
      nmsThreshold: 0.4,
      classFilter: [1, 2, 3],
      minObjectSize: 10,
      maxObjects: 5,
    });
    expect(detectOptions({})).toEqual(DEFAULT_DETECT_OPTIONS);
    expect(modelConfig({ model_config: { batch_size: 16, device: 'cuda', use_fp16: true } })).toEqual({
      batchSize: 16,
      device: 'cuda',
    });
  });

  it('names the first invalid param', () => {
    expect(() => detectOptions({ confidence_threshold: 1.5 })).toThrow(
      'confidence_threshold must be a number between 0 and 1, got 1.5',
    );
    expect(() => detectOptions({ class_filter: ['person'] })).toThrow(
      'class_filter must be a list of class ids (integers >= 1), got ["person"]',
    );
    expect(() => detectOptions({ max_objects: 0 })).toThrow('max_objects must be a number >= 1, got 0');
    expect(() => modelConfig({ model_config: { batch_size: 2.5 } })).toThrow(
      'model_config.batch_size must be an integer >= 1, got 2.5',
    );
  });

  it('falls back to the CPU with a warning for a GPU device', () => {
    expect(cpuFallbackWarning('cpu')).toBeNull();
    expect(cpuFallbackWarning('cuda')).toBe(
      "Device 'cuda' is not available here (no GPU backend): running on the CPU",
    );
  });
});
