/**
 * YOLO (Ultralytics layout) ↔ task objects: one `labels/<stem>.txt` per image and a `data.yaml`
 * naming the classes. A line is `<index> <cx> <cy> <w> <h>` for a box (centre and size) or
 * `<index> <x1> <y1> <x2> <y2> ...` for a polygon, every coordinate a fraction of the image's
 * width or height. YOLO class indices run 0..n-1; the `classes` list given maps them to the
 * platform's class ids explicitly (index i is `classes[i]`), never by renumbering in secret.
 *
 * Precision: numbers are written in their shortest exact form (`String(n)`), not rounded to six
 * decimals, so the fraction is the double closest to the true one. Reading back multiplies by
 * the image size, which can move a coordinate by a rounding step (about 1e-13 of a pixel).
 */

import { isObject } from 'synapse-core';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { decimalNumber } from './decimal.ts';
import {
  type ClassEntry,
  type ClassTable,
  checkObject,
  checkObjects,
  classTable,
  countExtraProperties,
  type DatasetItem,
  type FormatLimits,
  type FormatProblem,
  fileStem,
  imageSize,
  itemFile,
  limitItems,
  objectId,
  type ReadItem,
  reportLeftOutProperties,
  resolveLimits,
  type ShapeObject,
} from './task-objects.ts';

const FORMAT = 'YOLO';
export const YOLO_DATA_FILE = 'data.yaml';
export const YOLO_LABELS_DIR = 'labels';

export interface ToYoloOptions {
  /** The classes in YOLO index order: index i is `classes[i]` (its `id` the platform's class id). */
  classes: readonly ClassEntry[];
  /** More keys for `data.yaml` (`path`, `train`, `val`, ...), written before `nc` and `names`. */
  dataYaml?: Record<string, unknown>;
  limits?: Partial<FormatLimits>;
}

function labelLine(shape: ShapeObject, index: number, width: number, height: number): string {
  if (shape.type === 'bbox') {
    const { x, y, width: w, height: h } = shape.coordinates;
    return [index, (x + w / 2) / width, (y + h / 2) / height, w / width, h / height].map(String).join(' ');
  }
  return [index, ...shape.coordinates.flatMap((p) => [p.x / width, p.y / height])].map(String).join(' ');
}

/** The `data.yaml` of a class list: `nc` and `names` as a mapping index → name. */
export function yoloDataYaml(classes: readonly ClassEntry[], extra: Record<string, unknown> = {}): string {
  const table = classTable(classes);
  const names = new Map(table.entries.map((entry, index) => [index, entry.name]));
  return stringifyYaml({ ...extra, nc: table.entries.length, names });
}

/**
 * Task objects → YOLO files: `labels/<stem>.txt` per item (empty for an image without objects)
 * and `data.yaml`. An item without an image size or with a clashing stem, and an object YOLO
 * cannot hold, are in `problems`; properties (a detector's confidence) have no place in YOLO and
 * are one problem over the dataset.
 */
export function toYolo(
  items: Iterable<DatasetItem>,
  options: ToYoloOptions,
): { files: Record<string, string>; problems: FormatProblem[] } {
  const classes = classTable(options.classes);
  const indexOf = new Map(classes.entries.map((entry, index) => [entry.id, index]));
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const files: Record<string, string> = {};
  const leftOutProperties = new Map<string, number>();
  for (const item of limitItems(items, limits, problems)) {
    const file = itemFile(item, YOLO_LABELS_DIR, '.txt', 'label file', files, problems);
    if (!file) continue;
    const { name, path } = file;
    const size = imageSize(item, FORMAT);
    if (typeof size === 'string') {
      problems.push({ item: name, message: `${name}: ${size}; item left out` });
      continue;
    }
    const lines: string[] = [];
    for (const shape of checkObjects(item, { item: name, size, classes, format: FORMAT, limits }, problems)) {
      countExtraProperties(shape, leftOutProperties);
      lines.push(labelLine(shape, indexOf.get(shape.class_id)!, size.width, size.height));
    }
    files[path] = lines.map((line) => `${line}\n`).join('');
  }
  reportLeftOutProperties(FORMAT, leftOutProperties, problems);
  files[YOLO_DATA_FILE] = yoloDataYaml(classes.entries, options.dataYaml);
  return { files, problems };
}

export interface FromYoloOptions {
  /** The images the labels belong to, with their sizes (a label file is matched by stem). */
  images: ReadonlyArray<{ fileName: string; width: number; height: number }>;
  /**
   * The classes in YOLO index order (their `id` the platform's class id). Without it, `data.yaml`'s
   * `names` are the classes and a class id is its YOLO index.
   */
  classes?: readonly ClassEntry[];
  limits?: Partial<FormatLimits>;
}

/** `data.yaml`'s `names` (a list, or a mapping from index) → names by index; a string is the problem. */
function readNames(text: string, limits: FormatLimits): string[] | string {
  if (text.length > limits.maxFileChars) return `is larger than ${limits.maxFileChars} characters`;
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    return `is not valid YAML: ${(err as Error).message.split('\n')[0]}`;
  }
  if (!isObject(data)) return 'is not a YAML mapping';
  const { names } = data;
  if (Array.isArray(names)) {
    return names.every((n) => typeof n === 'string' || typeof n === 'number')
      ? names.map(String)
      : "has a 'names' list that is not all names";
  }
  if (isObject(names)) {
    const out: string[] = [];
    for (const [key, value] of Object.entries(names)) {
      const index = /^\d+$/.test(key) ? Number(key) : Number.NaN;
      if (!Number.isSafeInteger(index) || index >= limits.maxItems)
        return `has a 'names' key '${key.slice(0, 20)}' that is no class index`;
      out[index] = String(value);
    }
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) return `has no name for class index ${i}`;
    return out;
  }
  return "has no 'names' list or mapping";
}

/** The class table by YOLO index: the given classes, else data.yaml's names with id = index. */
function yoloClasses(
  files: Readonly<Record<string, string>>,
  options: FromYoloOptions,
  limits: FormatLimits,
  problems: FormatProblem[],
): ClassTable | null {
  const yaml = files[YOLO_DATA_FILE];
  const names = typeof yaml === 'string' ? readNames(yaml, limits) : undefined;
  if (typeof names === 'string')
    problems.push({ item: YOLO_DATA_FILE, message: `${YOLO_DATA_FILE} ${names}` });
  if (options.classes) {
    const table = classTable(options.classes);
    if (Array.isArray(names)) {
      const differ = names.findIndex((name, i) => table.entries[i]?.name !== name);
      if (differ !== -1 || names.length !== table.entries.length) {
        problems.push({
          item: YOLO_DATA_FILE,
          message: `${YOLO_DATA_FILE} names ${names.length} classes (${names.slice(0, 5).join(', ')}), which differ from the classes given; the classes given are used`,
        });
      }
    }
    return table;
  }
  if (!Array.isArray(names)) {
    if (names === undefined)
      problems.push({
        item: YOLO_DATA_FILE,
        message: `no ${YOLO_DATA_FILE} and no classes given: nothing names the classes`,
      });
    return null;
  }
  try {
    return classTable(names.map((name, id) => ({ id, name })));
  } catch (err) {
    problems.push({
      item: YOLO_DATA_FILE,
      message: `${YOLO_DATA_FILE}: ${(err as Error).message.replace(/^classes/, 'names')}`,
    });
    return null;
  }
}

/** One label line → the raw task object it stands for, or what is wrong with it. */
function rawObject(
  tokens: string[],
  index: number,
  classes: ClassTable,
  size: { width: number; height: number },
): Record<string, unknown> | string {
  if (tokens.length < 5) return `has ${tokens.length} values, fewer than a box's 5`;
  const numbers = tokens.map(decimalNumber);
  const bad = numbers.indexOf(null);
  if (bad !== -1) return `has '${tokens[bad]!.slice(0, 30)}', not a finite number`;
  const [classIndex, ...values] = numbers as number[];
  if (!Number.isSafeInteger(classIndex)) return `has class index ${tokens[0]}, not a whole number`;
  const entry = classes.entries[classIndex!];
  if (!entry)
    return `has class index ${classIndex}, which names no class (${classes.entries.length} classes)`;
  const base = {
    id: objectId(index),
    class_id: entry.id,
    properties: { label: entry.name } as Record<string, unknown>,
  };
  const { width: W, height: H } = size;
  // Five values are a box; a sixth is the confidence Ultralytics' `save_conf` appends.
  if (values.length === 4 || values.length === 5) {
    const [cx, cy, w, h, confidence] = values as [number, number, number, number, number?];
    if (confidence !== undefined) base.properties.confidence = confidence;
    return {
      ...base,
      type: 'bbox',
      coordinates: { x: (cx - w / 2) * W, y: (cy - h / 2) * H, width: w * W, height: h * H },
    };
  }
  if (values.length % 2 !== 0) return `has ${values.length} polygon coordinates, an odd number`;
  const coordinates = [];
  for (let i = 0; i < values.length; i += 2) coordinates.push({ x: values[i]! * W, y: values[i + 1]! * H });
  return { ...base, type: 'polygon', coordinates };
}

/**
 * YOLO files (`data.yaml` and `labels/<stem>.txt`, path → text) → one item per image given. An
 * image without a label file has no objects (YOLO's background image); a label file without an
 * image, a bad line (named by file and line number), an unknown class index, a box outside the
 * image and malformed YAML are problems.
 */
export function fromYolo(
  files: Readonly<Record<string, string>>,
  options: FromYoloOptions,
): { items: ReadItem[]; classes: ClassEntry[]; problems: FormatProblem[] } {
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const classes = yoloClasses(files, options, limits, problems);
  if (!classes) return { items: [], classes: [], problems };
  const labels = new Map<string, string>();
  for (const path of Object.keys(files)) {
    if (!path.endsWith('.txt')) continue;
    const stem = fileStem(path);
    if (stem === null || labels.has(stem)) {
      problems.push({
        item: path,
        message: `${path}: ${stem === null ? 'not a plain relative path' : `another label file has the stem '${stem}'`}; left out`,
      });
      continue;
    }
    labels.set(stem, path);
  }
  const items: ReadItem[] = [];
  for (const image of limitItems(options.images, limits, problems)) {
    const stem = fileStem(image.fileName);
    const size = imageSize({ ...image, objects: [] }, FORMAT);
    if (stem === null || typeof size === 'string') {
      const reason = stem === null ? 'not a plain relative file name' : size;
      problems.push({
        item: String(image.fileName),
        message: `${String(image.fileName)}: ${reason}; item left out`,
      });
      continue;
    }
    const item: ReadItem = { fileName: image.fileName, ...size, objects: [] };
    items.push(item);
    const path = labels.get(stem);
    if (path === undefined) continue;
    labels.delete(stem);
    const text = files[path]!;
    if (text.length > limits.maxFileChars) {
      problems.push({
        item: path,
        message: `${path}: larger than ${limits.maxFileChars} characters; left out`,
      });
      continue;
    }
    const lines = text.split(/\r?\n/);
    for (const [n, line] of lines.entries()) {
      const tokens = line.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0) continue;
      const where = `line ${n + 1}`;
      if (item.objects.length >= limits.maxObjectsPerItem) {
        problems.push({
          item: path,
          message: `${path}: more than ${limits.maxObjectsPerItem} objects (the limit); ${where} and after left out`,
        });
        break;
      }
      const raw = rawObject(tokens, item.objects.length, classes, size);
      const checked =
        typeof raw === 'string'
          ? raw
          : checkObject(raw, { item: path, size, classes, format: FORMAT, limits });
      if (typeof checked === 'string') {
        problems.push({ item: path, object: where, message: `${path}: ${where} ${checked}; left out` });
      } else {
        item.objects.push(checked);
      }
    }
  }
  for (const path of labels.values()) {
    problems.push({ item: path, message: `${path}: no image of this stem was given; left out` });
  }
  return { items, classes: [...classes.entries], problems };
}
