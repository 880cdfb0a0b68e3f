/**
 * The platform's task-object format, as ToTask submits it (seed 000, to-task.md §4 item 7):
 * `{"objects": [{id, class_id, type, coordinates, properties}]}`. A `bbox` has pixel
 * `{x, y, width, height}` (top-left corner, 0-based, continuous: a box over the whole of a
 * 158-pixel-wide image is x 0, width 158); a `polygon` has a list of `{x, y}` points in the same
 * pixels. Other types (`label`, `point`, ...) exist on the platform, but COCO, YOLO and Pascal VOC
 * detection datasets have no place for them: the converters report them instead of writing them.
 *
 * Here are the types every converter shares, the check of the objects they are handed (the
 * input is the platform's data, so anything may be in it) and the problem records they return.
 */
import { isObject } from 'synapse-core';

export interface BoxCoordinates {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface BoxObject {
  id: string;
  class_id: number;
  type: 'bbox';
  coordinates: BoxCoordinates;
  properties: Record<string, unknown>;
}

export interface PolygonObject {
  id: string;
  class_id: number;
  type: 'polygon';
  coordinates: Point[];
  properties: Record<string, unknown>;
}

/** An object a dataset format can hold. */
export type ShapeObject = BoxObject | PolygonObject;

/** One image of a dataset: its file name, its size in pixels and its task objects. */
export interface DatasetItem {
  /** The image's file name (`photo_01.jpg`); YOLO and VOC name their per-image files by its stem. */
  fileName: string;
  /** Needed by COCO and YOLO (YOLO's coordinates are fractions of it); an item without it is reported. */
  width?: number;
  height?: number;
  /** The task data's `objects`, as the platform holds them (checked here, not trusted). */
  objects: readonly unknown[];
}

/** A converted item: its objects are checked shapes. */
export interface ReadItem extends DatasetItem {
  objects: ShapeObject[];
}

/** One class: the platform's class id and the name the formats write. */
export interface ClassEntry {
  id: number;
  name: string;
}

/**
 * What a converter could not write or read, naming the item (image file name, label or XML file,
 * COCO image or annotation) and, where there is one, the object. Nothing is left out silently:
 * everything that is left out is here.
 */
export interface FormatProblem {
  item: string;
  object?: string;
  message: string;
}

/** Bounds on hostile input; each excess is a problem naming the item. */
export interface FormatLimits {
  /** Images (items) in one dataset. */
  maxItems: number;
  /** Objects (annotations, label lines, XML objects) in one image. */
  maxObjectsPerItem: number;
  /** Points in one polygon. */
  maxPolygonPoints: number;
  /** Characters of one text file read (a YOLO label file, a VOC XML file, data.yaml). */
  maxFileChars: number;
}

export const DEFAULT_FORMAT_LIMITS: Readonly<FormatLimits> = Object.freeze({
  maxItems: 1_000_000,
  maxObjectsPerItem: 100_000,
  maxPolygonPoints: 100_000,
  maxFileChars: 16 * 1024 * 1024,
});

export function resolveLimits(limits: Partial<FormatLimits> | undefined): FormatLimits {
  return { ...DEFAULT_FORMAT_LIMITS, ...limits };
}

/** The class list's lookups, checked once: ids are integers, ids and names unique, names non-blank. */
export interface ClassTable {
  entries: readonly ClassEntry[];
  byId: Map<number, ClassEntry>;
  byName: Map<string, ClassEntry>;
}

export function classTable(classes: readonly ClassEntry[]): ClassTable {
  if (!Array.isArray(classes)) throw new TypeError('classes must be a list of {id, name}');
  const byId = new Map<number, ClassEntry>();
  const byName = new Map<string, ClassEntry>();
  for (const [i, entry] of classes.entries()) {
    if (!isObject(entry) || !Number.isSafeInteger(entry.id)) {
      throw new TypeError(`classes[${i}]: id must be an integer`);
    }
    if (typeof entry.name !== 'string' || entry.name.trim() === '' || /[\r\n]/.test(entry.name)) {
      throw new TypeError(`classes[${i}]: name must be a non-blank single line`);
    }
    if (byId.has(entry.id)) throw new TypeError(`classes[${i}]: class id ${entry.id} is listed twice`);
    if (byName.has(entry.name))
      throw new TypeError(`classes[${i}]: class name '${entry.name}' is listed twice`);
    const checked = { id: entry.id as number, name: entry.name };
    byId.set(checked.id, checked);
    byName.set(checked.name, checked);
  }
  return { entries: classes, byId, byName };
}

/** `obj_001`, `obj_002`, ...: the ids objects read from a format get (as the example detector's). */
export function objectId(index: number): string {
  return `obj_${String(index + 1).padStart(3, '0')}`;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * A file name's stem for the per-image files of YOLO and VOC; null when the name is not a plain
 * relative path (a name from the platform could otherwise write outside the dataset folder).
 */
export function fileStem(fileName: string): string | null {
  if (typeof fileName !== 'string' || fileName === '' || fileName.length > 1024) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\\]/.test(fileName) || fileName.startsWith('/')) return null;
  const parts = fileName.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) return null;
  const base = parts.at(-1)!;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * Where an item's file goes in a per-image format (`<dir>/<stem><extension>`), with its display
 * name; null, with the problem recorded, when its name is not a plain relative file name or its
 * file is already another item's.
 */
export function itemFile(
  item: DatasetItem,
  dir: string,
  extension: string,
  kind: string,
  files: Record<string, string>,
  problems: FormatProblem[],
): { name: string; path: string } | null {
  const name = typeof item?.fileName === 'string' && item.fileName !== '' ? item.fileName : '(no file name)';
  const stem = fileStem(name);
  const path = `${dir}/${stem}${extension}`;
  if (stem !== null && !(path in files)) return { name, path };
  problems.push({
    item: name,
    message: `${name}: ${stem === null ? 'not a plain relative file name' : `its ${kind} ${path} is another item's`}; item left out`,
  });
  return null;
}

/** The image size of an item, or the problem that it has none. */
export function imageSize(item: DatasetItem, format: string): { width: number; height: number } | string {
  const { width, height } = item;
  if (width === undefined || height === undefined || width === null || height === null) {
    return `no image size (width, height): ${format} needs it`;
  }
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
    return `image size ${String(width)}x${String(height)} is not a positive whole number of pixels`;
  }
  return { width, height };
}

interface CheckContext {
  item: string;
  /** Known for COCO and YOLO, and for VOC when the XML has it: shapes must lie inside. */
  size?: { width: number; height: number };
  classes: ClassTable;
  format: string;
  limits: FormatLimits;
}

// A box edge computed as x + width may land a rounding step past the image's edge.
const edgeSlack = (extent: number) => extent * 1e-12;

function outside(points: Point[], size: { width: number; height: number } | undefined): string | null {
  for (const { x, y } of points) {
    if (x < 0 || y < 0) return `has a negative coordinate (${x}, ${y})`;
    if (size && (x > size.width + edgeSlack(size.width) || y > size.height + edgeSlack(size.height))) {
      return `reaches (${x}, ${y}), outside the ${size.width}x${size.height} image`;
    }
  }
  return null;
}

/**
 * Checks one raw task object; returns the shape or the reason it cannot be written. A reason
 * names what is wrong; the caller names the item and the object.
 */
export function checkObject(raw: unknown, ctx: CheckContext): ShapeObject | string {
  if (!isObject(raw)) return 'is not an object';
  const { type, class_id: classId, coordinates } = raw;
  if (typeof type !== 'string') return "has no 'type'";
  if (type !== 'bbox' && type !== 'polygon') {
    return `is a '${type.slice(0, 40)}' object, which ${ctx.format} cannot hold`;
  }
  if (!Number.isSafeInteger(classId)) return `has class_id ${JSON.stringify(classId)}, not an integer`;
  if (!ctx.classes.byId.has(classId as number)) {
    return `has class_id ${classId}, which is not in the class list`;
  }
  if (raw.properties !== undefined && raw.properties !== null && !isObject(raw.properties)) {
    return "has 'properties' that are not an object";
  }
  // A shallow copy, so that what a converter returns is not the caller's object.
  const properties: Record<string, unknown> = { ...raw.properties };
  const id = typeof raw.id === 'string' || typeof raw.id === 'number' ? String(raw.id) : '';
  if (type === 'bbox') {
    if (!isObject(coordinates)) return 'has no {x, y, width, height} coordinates';
    const { x, y, width, height } = coordinates;
    if (!finite(x) || !finite(y) || !finite(width) || !finite(height)) {
      const shown = [x, y, width, height].map((v) =>
        typeof v === 'number' ? String(v) : JSON.stringify(v)?.slice(0, 20),
      );
      return `has coordinates (x ${shown[0]}, y ${shown[1]}, width ${shown[2]}, height ${shown[3]}), not four finite numbers`;
    }
    if (width <= 0 || height <= 0) return `has an empty box (width ${width}, height ${height})`;
    const bad = outside(
      [
        { x, y },
        { x: x + width, y: y + height },
      ],
      ctx.size,
    );
    if (bad) return `box ${bad}`;
    return { id, class_id: classId as number, type, coordinates: { x, y, width, height }, properties };
  }
  if (!Array.isArray(coordinates)) return 'has no list of {x, y} points';
  if (coordinates.length < 3) return `is a polygon of ${coordinates.length} points (3 or more needed)`;
  if (coordinates.length > ctx.limits.maxPolygonPoints) {
    return `is a polygon of ${coordinates.length} points, more than the limit ${ctx.limits.maxPolygonPoints}`;
  }
  const points: Point[] = [];
  for (const [i, point] of coordinates.entries()) {
    if (!isObject(point) || !finite(point.x) || !finite(point.y)) {
      const shown = isObject(point)
        ? `(${String(point.x).slice(0, 20)}, ${String(point.y).slice(0, 20)})`
        : typeof point;
      return `has point ${i} ${shown}, not {x, y} finite numbers`;
    }
    points.push({ x: point.x, y: point.y });
  }
  const bad = outside(points, ctx.size);
  if (bad) return `polygon ${bad}`;
  return { id, class_id: classId as number, type, coordinates: points, properties };
}

/**
 * Checks an item's objects: the shapes to write, and a problem for each object left out.
 * `objects` beyond the limit are one problem, not one per object.
 */
export function checkObjects(item: DatasetItem, ctx: CheckContext, problems: FormatProblem[]): ShapeObject[] {
  const objects = item.objects;
  if (!Array.isArray(objects)) {
    problems.push({ item: ctx.item, message: `${ctx.item}: 'objects' is not a list; item left out` });
    return [];
  }
  if (objects.length > ctx.limits.maxObjectsPerItem) {
    problems.push({
      item: ctx.item,
      message: `${ctx.item}: ${objects.length} objects, more than the limit ${ctx.limits.maxObjectsPerItem}; item left out`,
    });
    return [];
  }
  const shapes: ShapeObject[] = [];
  for (const [i, raw] of objects.entries()) {
    const checked = checkObject(raw, ctx);
    if (typeof checked === 'string') {
      const name =
        isObject(raw) && (typeof raw.id === 'string' || typeof raw.id === 'number')
          ? String(raw.id)
          : `#${i}`;
      problems.push({
        item: ctx.item,
        object: name,
        message: `${ctx.item}: object ${name} ${checked}; left out`,
      });
    } else {
      shapes.push(checked);
    }
  }
  return shapes;
}

/** The properties a format without a place for them leaves out (the class name is the format's own). */
export function extraPropertyKeys(shape: ShapeObject): string[] {
  return Object.keys(shape.properties).filter((key) => key !== 'label');
}

/**
 * One problem for properties a format has no place for, over the whole dataset: a detector's
 * `confidence` on every box would otherwise bury the problems that matter.
 */
export function reportLeftOutProperties(
  format: string,
  counts: Map<string, number>,
  problems: FormatProblem[],
): void {
  if (counts.size === 0) return;
  const list = [...counts].map(([key, n]) => `${key} (${n} objects)`).join(', ');
  problems.push({ item: '', message: `${format} has no place for object properties: left out ${list}` });
}

export function countExtraProperties(shape: ShapeObject, counts: Map<string, number>): void {
  for (const key of extraPropertyKeys(shape)) counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** The bounding box of a polygon. */
export function polygonBounds(points: readonly Point[]): BoxCoordinates {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const { x, y } of points) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/** Checks the item count; items past the limit are one problem (and are not read, however many). */
export function limitItems<T>(items: Iterable<T>, limits: FormatLimits, problems: FormatProblem[]): T[] {
  const out: T[] = [];
  for (const item of items) {
    if (out.length === limits.maxItems) {
      problems.push({
        item: '',
        message: `more than ${limits.maxItems} items (the limit): the rest left out`,
      });
      break;
    }
    out.push(item);
  }
  return out;
}
