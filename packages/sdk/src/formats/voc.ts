/**
 * Pascal VOC ↔ task objects: one XML `<annotation>` per image, an `<object>` per shape with the
 * class name in `<name>` and the box in `<bndbox>`; a polygon adds `<polygon>` (`x1, y1, x2, ...`),
 * as supervision and CVAT write it.
 *
 * Pixel convention (the VOC devkit's, which supervision reads): `xmin`/`ymin` are 1-based pixel
 * indices and `xmax`/`ymax` the far edge, so a task box `{x, y, width, height}` is written
 * `xmin = x + 1, ymin = y + 1, xmax = x + width, ymax = y + height`; polygon points are points,
 * each written `+ 1`. By default the numbers keep full precision (decimals, added exactly on
 * their decimal forms, so reading back gives the same doubles); `integerPixels: true` rounds
 * them (half up) to the whole pixels that strict VOC readers expect, as the devkit writes.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { isObject } from 'synapse-core';
import { decimalNumber, ExactDecimal } from './decimal.ts';
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
  itemFile,
  limitItems,
  objectId,
  type Point,
  polygonBounds,
  type ReadItem,
  reportLeftOutProperties,
  resolveLimits,
  type ShapeObject,
} from './task-objects.ts';

const FORMAT = 'Pascal VOC';
export const VOC_ANNOTATIONS_DIR = 'Annotations';

export interface ToVocOptions {
  /** The platform's classes: a class id's name is what `<name>` says. */
  classes: readonly ClassEntry[];
  /** Round to whole pixels (the devkit's integers) instead of keeping full precision. */
  integerPixels?: boolean;
  /** `<folder>`; default `VOC`. */
  folder?: string;
  limits?: Partial<FormatLimits>;
}

function vocObject(shape: ShapeObject, name: string, integer: boolean) {
  // `base + offset` exactly; rounded half up (the devkit's whole pixels) when asked.
  const at = (base: number, offset: number) =>
    integer ? String(Math.round(base + offset)) : ExactDecimal.of(base).plus(offset).toString();
  const box = shape.type === 'bbox' ? shape.coordinates : polygonBounds(shape.coordinates);
  const xmin = at(box.x, 1);
  const ymin = at(box.y, 1);
  // Keep a sub-pixel box ordered after rounding (xmax never below xmin).
  const far = (start: string, base: number, extent: number) => {
    const end = at(base, extent);
    return integer && Number(end) < Number(start) ? start : end;
  };
  const object: Record<string, unknown> = {
    name,
    bndbox: { xmin, ymin, xmax: far(xmin, box.x, box.width), ymax: far(ymin, box.y, box.height) },
  };
  if (shape.type === 'polygon') {
    const polygon: Record<string, string> = {};
    shape.coordinates.forEach((p, i) => {
      polygon[`x${i + 1}`] = at(p.x, 1);
      polygon[`y${i + 1}`] = at(p.y, 1);
    });
    object.polygon = polygon;
  }
  return object;
}

const builder = new XMLBuilder({ format: true, indentBy: '  ', suppressEmptyNode: false });

/** The XML of one item; its problems name the item and the object. */
function itemXml(
  item: DatasetItem,
  name: string,
  classes: ClassTable,
  options: ToVocOptions,
  limits: FormatLimits,
  problems: FormatProblem[],
  leftOutProperties: Map<string, number>,
): string | null {
  const known =
    Number.isSafeInteger(item.width) &&
    Number.isSafeInteger(item.height) &&
    item.width! > 0 &&
    item.height! > 0;
  if (!known && (item.width !== undefined || item.height !== undefined)) {
    problems.push({
      item: name,
      message: `${name}: image size ${String(item.width)}x${String(item.height)} is not a positive whole number of pixels; item left out`,
    });
    return null;
  }
  const size = known ? { width: item.width!, height: item.height! } : undefined;
  const shapes = checkObjects(item, { item: name, size, classes, format: FORMAT, limits }, problems);
  const objects = shapes.map((shape) => {
    countExtraProperties(shape, leftOutProperties);
    return vocObject(shape, classes.byId.get(shape.class_id)!.name, options.integerPixels === true);
  });
  const annotation: Record<string, unknown> = {
    folder: options.folder ?? 'VOC',
    filename: name.split('/').at(-1),
    ...(size ? { size: { width: size.width, height: size.height, depth: 3 } } : {}),
    segmented: shapes.some((s) => s.type === 'polygon') ? 1 : 0,
    object: objects,
  };
  return `<?xml version="1.0" encoding="utf-8"?>\n${builder.build({ annotation })}`;
}

/**
 * Task objects → one `Annotations/<stem>.xml` per item. The image size is written (and boxes
 * checked against it) when the item has it; VOC does not need it. An object VOC cannot hold is a
 * problem; properties (a detector's confidence) have no place in VOC and are one problem.
 */
export function toVoc(
  items: Iterable<DatasetItem>,
  options: ToVocOptions,
): { files: Record<string, string>; problems: FormatProblem[] } {
  const classes = classTable(options.classes);
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const files: Record<string, string> = {};
  const leftOutProperties = new Map<string, number>();
  for (const item of limitItems(items, limits, problems)) {
    const file = itemFile(item, VOC_ANNOTATIONS_DIR, '.xml', 'XML file', files, problems);
    if (!file) continue;
    const { name, path } = file;
    const xml = itemXml(item, name, classes, options, limits, problems, leftOutProperties);
    if (xml !== null) files[path] = xml;
  }
  reportLeftOutProperties(FORMAT, leftOutProperties, problems);
  return { files, problems };
}

export interface FromVocOptions {
  /** The platform's classes: `<name>` is looked up here (an unknown name is a problem). */
  classes: readonly ClassEntry[];
  /** The image file name when the XML has no `<filename>`. */
  fileName?: string;
  limits?: Partial<FormatLimits>;
}

// Values stay text (`parseTagValue: false`) so that the exact decimal arithmetic sees what the
// file says; `object` is always a list. Entity expansion keeps the library's bounds.
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name, jpath) => name === 'object' && String(jpath) === 'annotation.object',
});

const text = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;

/** A 1-based VOC coordinate as the 0-based one, exactly; null when it is no number. */
const zeroBased = (value: string | null) =>
  value === null ? null : (ExactDecimal.parse(value)?.minus(1) ?? null);

/** `<polygon>`'s `x1, y1, x2, y2, ...` (1-based points) → 0-based points, or the problem. */
function readPolygon(polygon: Record<string, unknown>, limits: FormatLimits): Point[] | string {
  const points: Point[] = [];
  for (let i = 1; `x${i}` in polygon || `y${i}` in polygon; i++) {
    if (i > limits.maxPolygonPoints) return `has a polygon of more than ${limits.maxPolygonPoints} points`;
    const [xs, ys] = [text(polygon[`x${i}`]), text(polygon[`y${i}`])];
    const [x, y] = [zeroBased(xs)?.toNumber() ?? null, zeroBased(ys)?.toNumber() ?? null];
    if (x === null || y === null) return `has polygon point ${i} (${xs}, ${ys}), not two numbers`;
    points.push({ x, y });
  }
  return points;
}

/** One `<object>` → the raw task object it stands for, or what is wrong with it. */
function rawObject(
  object: unknown,
  index: number,
  classes: ClassTable,
  limits: FormatLimits,
): Record<string, unknown> | string {
  if (!isObject(object)) return 'is not an element with <name> and <bndbox>';
  const name = text(object.name);
  if (name === null) return 'has no <name>';
  const entry = classes.byName.get(name);
  if (!entry) return `has class name '${name.slice(0, 60)}', which is not in the class list`;
  const base = { id: objectId(index), class_id: entry.id, properties: { label: entry.name } };
  if (isObject(object.polygon)) {
    const coordinates = readPolygon(object.polygon, limits);
    return typeof coordinates === 'string' ? coordinates : { ...base, type: 'polygon', coordinates };
  }
  const box = object.bndbox;
  if (!isObject(box)) return 'has no <bndbox>';
  const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((key) => text(box[key]));
  if (xmin === null || ymin === null || xmax === null || ymax === null)
    return 'has a <bndbox> without xmin, ymin, xmax and ymax';
  const [x0, y0, x1, y1] = [
    zeroBased(xmin),
    zeroBased(ymin),
    ExactDecimal.parse(xmax),
    ExactDecimal.parse(ymax),
  ];
  // The extent is the far edge less the 0-based start, exactly: xmax - (xmin - 1).
  const [x, y, width, height] = [x0, y0, x0 && x1?.minus(x0), y0 && y1?.minus(y0)].map(
    (d) => d?.toNumber() ?? null,
  );
  if (x === null || y === null || width === null || height === null) {
    return `has <bndbox> (${[xmin, ymin, xmax, ymax].map((v) => v.slice(0, 20)).join(', ')}), not four numbers`;
  }
  return { ...base, type: 'bbox', coordinates: { x, y, width, height } };
}

/**
 * One VOC XML file → an item. Malformed XML, a missing `<annotation>`, an unknown class name, a
 * box outside the image (when `<size>` is there) or a bad number are problems naming `source`
 * (the file's name) and the object.
 */
export function fromVoc(
  xml: string,
  source: string,
  options: FromVocOptions,
): { item: ReadItem | null; problems: FormatProblem[] } {
  const classes = classTable(options.classes);
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const fail = (message: string) => {
    problems.push({ item: source, message: `${source}: ${message}` });
    return { item: null, problems };
  };
  if (typeof xml !== 'string') return fail('not text');
  if (xml.length > limits.maxFileChars)
    return fail(`larger than ${limits.maxFileChars} characters; left out`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return fail(`not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    return fail(`XML not read: ${(err as Error).message}`);
  }
  const annotation = isObject(doc) ? doc.annotation : undefined;
  if (!isObject(annotation)) return fail('no <annotation> element');
  const fileName = text(annotation.filename) ?? options.fileName;
  if (!fileName) return fail('no <filename>, and no file name given');
  let size: { width: number; height: number } | undefined;
  if (isObject(annotation.size)) {
    const [width, height] = [text(annotation.size.width), text(annotation.size.height)].map((v) =>
      v === null ? null : decimalNumber(v),
    );
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width! <= 0 || height! <= 0) {
      return fail(`<size> ${width}x${height} is not a positive whole number of pixels`);
    }
    size = { width: width!, height: height! };
  }
  const objects = Array.isArray(annotation.object) ? annotation.object : [];
  if (objects.length > limits.maxObjectsPerItem) {
    return fail(`${objects.length} objects, more than the limit ${limits.maxObjectsPerItem}; left out`);
  }
  const item: ReadItem = { fileName, ...size, objects: [] };
  for (const [i, object] of objects.entries()) {
    const where = `object ${i + 1}`;
    const raw = rawObject(object, item.objects.length, classes, limits);
    const checked =
      typeof raw === 'string'
        ? raw
        : checkObject(raw, { item: source, size, classes, format: FORMAT, limits });
    if (typeof checked === 'string')
      problems.push({ item: source, object: where, message: `${source}: ${where} ${checked}; left out` });
    else item.objects.push(checked);
  }
  return { item, problems };
}

/** Every `*.xml` of a VOC folder (path → text) → items, in path order. */
export function fromVocFiles(
  files: Readonly<Record<string, string>>,
  options: Omit<FromVocOptions, 'fileName'>,
): { items: ReadItem[]; problems: FormatProblem[] } {
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const items: ReadItem[] = [];
  const paths = limitItems(
    Object.keys(files)
      .filter((path) => path.endsWith('.xml'))
      .sort(),
    limits,
    problems,
  );
  for (const path of paths) {
    const read = fromVoc(files[path]!, path, options);
    problems.push(...read.problems);
    if (read.item) items.push(read.item);
  }
  return { items, problems };
}
