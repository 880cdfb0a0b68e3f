/**
 * #17 item 2, proof against tools nobody here wrote: the SDK's COCO, YOLO and Pascal VOC files for
 * a generated set of boxes and polygons (non-integer coordinates, class ids 1, 3, 7) are read by
 * pycocotools (which loads the COCO file and, evaluating its boxes against themselves, gives AP
 * 1.0) and by supervision (`DetectionDataset.from_coco / from_yolo / from_pascal_voc`), which must
 * yield the same boxes and classes. The reverse: a dataset supervision writes in each format
 * (`as_coco / as_yolo / as_pascal_voc`) imports back into task objects equal to the original.
 *
 * The readers come from PyPI into `.venv-oracles/` (`scripts/python-oracles.sh install`: once per
 * checkout, a no-op afterwards). Skipped, saying so, only where no Python >= 3.10 exists.
 *
 * Tolerances: pycocotools holds the COCO numbers as doubles, compared exactly. supervision holds
 * boxes as float32, so its boxes are compared to 1e-6 px plus float32's resolution at the image's
 * extent (3 units in the last place, about 2.4e-4 px at 660 px). Its YOLO writer rounds to five
 * decimals of the image's extent: the reverse YOLO import is compared to that.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPython, installOracles, ORACLES_PYTHON } from '../../../../test-support/oracles.ts';
import {
  fromCoco,
  fromVocFiles,
  fromYolo,
  type ReadItem,
  toCoco,
  toVoc,
  toYolo,
} from '../../src/formats/index.ts';
import { CLASSES, generateDataset } from './dataset.ts';

const run = promisify(execFile);
const python = findPython();

type Box = [number, number, number, number, string];
interface SupervisionView {
  classes: string[];
  images: Record<string, Box[]>;
}
interface OracleView {
  pycocotools: {
    images: Record<string, string>;
    categories: Record<string, string>;
    annotations: Array<{ image_id: number; category_id: number; bbox: number[]; area: number }>;
    ap: number;
    ap50: number;
    polygons: Array<{ id: number; rle_bbox: number[] }>;
  };
  coco: SupervisionView;
  yolo: SupervisionView;
  voc: SupervisionView;
  voc_int: SupervisionView;
  versions: Record<string, string>;
}

const className = (id: number) => CLASSES.find((c) => c.id === id)!.name;

function bounds(object: ReadItem['objects'][number]) {
  if (object.type === 'bbox') return object.coordinates;
  const xs = object.coordinates.map((p) => p.x);
  const ys = object.coordinates.map((p) => p.y);
  const [x, y] = [Math.min(...xs), Math.min(...ys)];
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** The boxes supervision should hold: [x1, y1, x2, y2, class name] per image. */
function expectedBoxes(items: ReadItem[], corner: (b: ReturnType<typeof bounds>) => number[]) {
  return Object.fromEntries(
    items.map((item) => [
      item.fileName,
      item.objects.map((o) => [...corner(bounds(o)), className(o.class_id)] as Box),
    ]),
  );
}

function expectBoxesClose(view: SupervisionView, expected: Record<string, Box[]>, items: ReadItem[]) {
  expect(Object.keys(view.images).sort()).toEqual(Object.keys(expected).sort());
  for (const item of items) {
    const got = view.images[item.fileName]!;
    const want = expected[item.fileName]!;
    expect(got.map((b) => b[4])).toEqual(want.map((b) => b[4]));
    // float32 resolution at the image's extent, plus the 1e-6 px the issue asks for
    const tolerance = 1e-6 + 3 * 2 ** -23 * Math.max(item.width!, item.height!);
    for (const [i, box] of want.entries()) {
      for (let k = 0; k < 4; k++) {
        const error = (got[i]![k] as number) - (box[k] as number);
        expect(Math.abs(error), `${item.fileName} object ${i + 1} coordinate ${k}`).toBeLessThanOrEqual(
          tolerance,
        );
      }
    }
  }
}

async function writeTree(dir: string, files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
}

async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = await readFile(path, 'utf8');
  }
  return out;
}

describe.skipIf(!python)(
  `independent readers (pycocotools, supervision)${python ? '' : ': SKIPPED, no Python >= 3.10 on this machine'}`,
  () => {
    const items = generateDataset();
    // The reverse direction's originals: whole-pixel boxes (what supervision's VOC writer keeps),
    // one per shape of the same images.
    const reverseItems: ReadItem[] = items.map((item) => ({
      ...item,
      objects: item.objects.map((o) => {
        const b = bounds(o);
        const [x, y] = [Math.floor(b.x), Math.floor(b.y)];
        const coordinates = {
          x,
          y,
          width: Math.min(item.width!, Math.ceil(b.x + b.width)) - x,
          height: Math.min(item.height!, Math.ceil(b.y + b.height)) - y,
        };
        return {
          id: o.id,
          class_id: o.class_id,
          type: 'bbox' as const,
          coordinates,
          properties: { label: className(o.class_id) },
        };
      }),
    }));
    let dir: string;
    let view: OracleView;

    beforeAll(async () => {
      // Once per checkout; a no-op when .venv-oracles/ is complete.
      await installOracles();
      dir = await mkdtemp(join(tmpdir(), 'synapse-oracles-'));
      const coco = toCoco(items, { classes: CLASSES });
      const yolo = toYolo(items, { classes: CLASSES });
      const voc = toVoc(items, { classes: CLASSES });
      const vocInt = toVoc(items, { classes: CLASSES, integerPixels: true });
      for (const { problems } of [coco, yolo, voc, vocInt]) expect(problems).toEqual([]);
      await writeFile(join(dir, 'coco.json'), JSON.stringify(coco.coco));
      await writeTree(join(dir, 'yolo'), yolo.files);
      await writeTree(join(dir, 'voc'), voc.files);
      await writeTree(join(dir, 'voc-int'), vocInt.files);
      const index = new Map(CLASSES.map((c, i) => [c.id, i]));
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({
          images: items.map((i) => ({ file_name: i.fileName, width: i.width, height: i.height })),
          reverse: {
            classes: CLASSES.map((c) => c.name),
            boxes: Object.fromEntries(
              reverseItems.map((item) => [
                item.fileName,
                item.objects.map((o) => {
                  const b = bounds(o);
                  return [b.x, b.y, b.x + b.width, b.y + b.height, index.get(o.class_id)];
                }),
              ]),
            ),
          },
        }),
      );
      // A hang guard, not a timing: the script reads a dozen small files.
      const { stdout } = await run(ORACLES_PYTHON, [join(import.meta.dirname, 'oracles.py'), dir], {
        timeout: 300_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      view = JSON.parse(stdout);
      console.log(`oracles: ${JSON.stringify(view.versions)}`);
    }, 960_000);

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('pycocotools loads our COCO file: the same images, categories (ids kept) and boxes, and AP 1.0 against itself', () => {
      const coco = view.pycocotools;
      expect(Object.values(coco.images)).toEqual(items.map((i) => i.fileName));
      expect(coco.categories).toEqual({ 1: 'person', 3: 'car', 7: 'traffic light' });
      const want = items.flatMap((item, i) =>
        item.objects.map((o) => {
          const b = bounds(o);
          return { image_id: i + 1, category_id: o.class_id, bbox: [b.x, b.y, b.width, b.height] };
        }),
      );
      expect(coco.annotations.map(({ area: _, ...a }) => a)).toEqual(want);
      expect(coco.ap).toBe(1);
      expect(coco.ap50).toBe(1);
      // Its own rasterisation of each polygon covers the polygon's bounds to the pixel.
      const polygons = items.flatMap((item) => item.objects).filter((o) => o.type === 'polygon');
      expect(coco.polygons).toHaveLength(polygons.length);
      expect(polygons.length).toBeGreaterThan(0);
      for (const [i, polygon] of polygons.entries()) {
        const b = bounds(polygon);
        const [x, y, w, h] = coco.polygons[i]!.rle_bbox;
        expect(Math.abs(x! - b.x)).toBeLessThanOrEqual(1);
        expect(Math.abs(y! - b.y)).toBeLessThanOrEqual(1);
        expect(Math.abs(x! + w! - (b.x + b.width))).toBeLessThanOrEqual(1);
        expect(Math.abs(y! + h! - (b.y + b.height))).toBeLessThanOrEqual(1);
      }
    });

    it('supervision reads our COCO, YOLO and full-precision VOC: the same boxes and classes', () => {
      const corners = (b: ReturnType<typeof bounds>) => [b.x, b.y, b.x + b.width, b.y + b.height];
      const expected = expectedBoxes(items, corners);
      for (const format of ['coco', 'yolo', 'voc'] as const) expectBoxesClose(view[format], expected, items);
      expect(view.coco.classes).toEqual(CLASSES.map((c) => c.name));
      expect(view.yolo.classes).toEqual(CLASSES.map((c) => c.name));
    });

    it("supervision reads our whole-pixel VOC (integerPixels) as the devkit's 1-based convention says", () => {
      const corners = (b: ReturnType<typeof bounds>) => [
        Math.round(b.x + 1) - 1,
        Math.round(b.y + 1) - 1,
        Math.max(Math.round(b.x + b.width), Math.round(b.x + 1)),
        Math.max(Math.round(b.y + b.height), Math.round(b.y + 1)),
      ];
      const expected = expectedBoxes(items, corners);
      expect(view.voc_int.images).toEqual(expected);
    });

    it('a COCO dataset supervision wrote imports back into the original task objects', async () => {
      const text = await readFile(join(dir, 'reverse/coco.json'), 'utf8');
      const { items: back, problems } = fromCoco(text, { classes: CLASSES });
      expect(problems).toEqual([]);
      expect(back).toEqual(reverseItems);
    });

    it('a Pascal VOC dataset supervision wrote imports back into the original task objects', async () => {
      const { items: back, problems } = fromVocFiles(await readTree(join(dir, 'reverse/voc')), {
        classes: CLASSES,
      });
      expect(problems).toEqual([]);
      expect(back).toEqual(reverseItems);
    });

    it('a YOLO dataset supervision wrote imports back into the original task objects (to its five decimals)', async () => {
      const files = await readTree(join(dir, 'reverse/yolo'));
      const images = reverseItems.map(({ fileName, width, height }) => ({
        fileName,
        width: width!,
        height: height!,
      }));
      const { items: back, problems } = fromYolo(files, { images, classes: CLASSES });
      expect(problems).toEqual([]);
      expect(
        back.map((i) => [i.fileName, i.objects.map((o) => [o.id, o.class_id, o.type, o.properties])]),
      ).toEqual(
        reverseItems.map((i) => [i.fileName, i.objects.map((o) => [o.id, o.class_id, o.type, o.properties])]),
      );
      for (const [n, item] of reverseItems.entries()) {
        // five decimals of the extent: ±5e-6 for each of centre and size, so ±7.5e-6 for a corner
        const tolerance = 7.5e-6 * Math.max(item.width!, item.height!) + 1e-9;
        for (const [k, object] of item.objects.entries()) {
          const got = back[n]!.objects[k]!.coordinates as unknown as Record<string, number>;
          for (const [key, value] of Object.entries(object.coordinates)) {
            expect(Math.abs(got[key]! - value), `${item.fileName} ${object.id} ${key}`).toBeLessThanOrEqual(
              tolerance,
            );
          }
        }
      }
    });
  },
);
