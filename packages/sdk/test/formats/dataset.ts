/**
 * A generated dataset for the converter tests: images of assorted sizes, boxes with non-integer
 * coordinates (some touching the image's edges), a few polygons, and classes whose platform ids
 * are not 0..n-1 (1, 3, 7), so that a converter that renumbers them shows. Seeded: the same every run.
 */
import type { ClassEntry, ReadItem } from '../../src/formats/index.ts';

export const CLASSES: ClassEntry[] = [
  { id: 1, name: 'person' },
  { id: 3, name: 'car' },
  { id: 7, name: 'traffic light' },
];

/** A small linear congruential generator: deterministic, good enough to scatter boxes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface GenerateOptions {
  images?: number;
  /** Whole-pixel boxes (what a hand-labelled ground truth or supervision's VOC writer has). */
  integer?: boolean;
  polygons?: boolean;
  seed?: number;
}

export function generateDataset(options: GenerateOptions = {}): ReadItem[] {
  const { images = 12, integer = false, polygons = true, seed = 17 } = options;
  const next = random(seed);
  const value = (max: number) => (integer ? Math.floor(next() * max) : next() * max);
  const items: ReadItem[] = [];
  for (let i = 0; i < images; i++) {
    const width = 64 + Math.floor(next() * 600);
    const height = 48 + Math.floor(next() * 400);
    const objects: ReadItem['objects'] = [];
    const count = i === 3 ? 0 : 1 + Math.floor(next() * 6); // one background image
    for (let k = 0; k < count; k++) {
      const entry = CLASSES[Math.floor(next() * CLASSES.length)]!;
      const id = `obj_${String(objects.length + 1).padStart(3, '0')}`;
      const properties = { label: entry.name };
      if (polygons && k === 2) {
        const cx = width / 2 + value(width / 4);
        const cy = height / 2 + value(height / 4);
        const r = 5 + value(Math.min(width, height) / 5);
        const coordinates = [0, 1, 2, 3, 4].map((j) => ({
          x: cx + r * Math.cos((2 * Math.PI * j) / 5),
          y: cy + r * Math.sin((2 * Math.PI * j) / 5),
        }));
        const points = integer
          ? coordinates.map((p) => ({ x: Math.round(p.x), y: Math.round(p.y) }))
          : coordinates;
        objects.push({ id, class_id: entry.id, type: 'polygon', coordinates: points, properties });
        continue;
      }
      const x = k === 1 ? 0 : value(width * 0.7);
      const y = k === 1 ? 0 : value(height * 0.7);
      const w = k === 1 ? width : Math.max(integer ? 2 : 1.5, value(width - x));
      const h = k === 1 ? height : Math.max(integer ? 2 : 1.5, value(height - y));
      objects.push({
        id,
        class_id: entry.id,
        type: 'bbox',
        coordinates: { x, y, width: w, height: h },
        properties,
      });
    }
    items.push({ fileName: `image_${String(i + 1).padStart(2, '0')}.jpg`, width, height, objects });
  }
  return items;
}
