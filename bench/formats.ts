/**
 * The format converters against a raw loop over the same data: 10,000 images of five boxes each
 * (detector-like task objects: non-integer pixels, a confidence), to COCO, YOLO and Pascal VOC.
 * The raw loops build the same output with no checks (no class list, no bounds, no problems,
 * plain floating-point VOC corners); the ratio converter/raw shows what the checks and the exact
 * arithmetic cost, which an export action pays per item. Rounds alternate; medians with min/max.
 * `BENCH_ITEMS` (default 10000), `BENCH_ROUNDS` (default 3).
 */
import { XMLBuilder } from 'fast-xml-parser';
import { stringify } from 'yaml';
import { type DatasetItem, toCoco, toVoc, toYolo } from '../packages/sdk/src/formats/index.ts';
import { loadAverage, report, spread, timed } from './lib/harness.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const classes = [
  { id: 1, name: 'person' },
  { id: 3, name: 'car' },
  { id: 7, name: 'traffic light' },
];

let seed = 7;
const next = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const items: DatasetItem[] = Array.from({ length: ITEMS }, (_, i) => ({
  fileName: `image_${i}.jpg`,
  width: 640,
  height: 480,
  objects: Array.from({ length: 5 }, (_, k) => {
    const [x, y] = [next() * 400, next() * 300];
    return {
      id: `obj_${k + 1}`,
      class_id: classes[k % 3]!.id,
      type: 'bbox',
      coordinates: { x, y, width: 1 + next() * 200, height: 1 + next() * 150 },
      properties: { confidence: next(), label: classes[k % 3]!.name },
    };
  }),
}));
type Raw = { class_id: number; coordinates: { x: number; y: number; width: number; height: number } };
const objects = (item: DatasetItem) => item.objects as Raw[];

const rawCoco = () => {
  const images: unknown[] = [];
  const annotations: unknown[] = [];
  items.forEach((item, i) => {
    images.push({ id: i + 1, file_name: item.fileName, width: item.width, height: item.height });
    for (const { class_id, coordinates: c } of objects(item)) {
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: class_id,
        bbox: [c.x, c.y, c.width, c.height],
        area: c.width * c.height,
        segmentation: [],
        iscrowd: 0,
      });
    }
  });
  return JSON.stringify({ images, annotations, categories: classes }).length;
};
const index = new Map(classes.map((c, i) => [c.id, i]));
const rawYolo = () => {
  let size = stringify({ nc: 3, names: classes.map((c) => c.name) }).length;
  for (const item of items) {
    const lines = objects(item).map(({ class_id, coordinates: c }) =>
      [
        index.get(class_id),
        (c.x + c.width / 2) / 640,
        (c.y + c.height / 2) / 480,
        c.width / 640,
        c.height / 480,
      ].join(' '),
    );
    size += lines.join('\n').length;
  }
  return size;
};
const builder = new XMLBuilder({ format: true, indentBy: '  ' });
const names = new Map(classes.map((c) => [c.id, c.name]));
const rawVoc = () => {
  let size = 0;
  for (const item of items) {
    const object = objects(item).map(({ class_id, coordinates: c }) => ({
      name: names.get(class_id),
      bndbox: { xmin: c.x + 1, ymin: c.y + 1, xmax: c.x + c.width, ymax: c.y + c.height },
    }));
    size += builder.build({
      annotation: { filename: item.fileName, size: { width: 640, height: 480, depth: 3 }, object },
    }).length;
  }
  return size;
};

const pairs: Array<[string, () => unknown, () => unknown]> = [
  ['COCO', () => JSON.stringify(toCoco(items, { classes }).coco).length, rawCoco],
  ['YOLO', () => toYolo(items, { classes }).files, rawYolo],
  ['Pascal VOC', () => toVoc(items, { classes }).files, rawVoc],
];

console.log(`load average at start: ${loadAverage()}  (${ITEMS} items x 5 boxes, ${ROUNDS} rounds)`);
for (const [format, converter, raw] of pairs) {
  const [ours, theirs]: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    theirs.push(ITEMS / (await timed(async () => raw())).seconds);
    ours.push(ITEMS / (await timed(async () => converter())).seconds);
  }
  const [a, b] = [spread(ours), spread(theirs)];
  const rate = (s: { median: number; min: number; max: number }) =>
    `${s.median.toFixed(0)} items/s (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)})`;
  report(format, [
    ['converter', rate(a)],
    ['raw loop', rate(b)],
    ['ratio converter/raw', (a.median / b.median).toFixed(2)],
  ]);
}
console.log(`\nload average at end: ${loadAverage()}`);
