/**
 * COCO detection (object instances) ↔ task objects. A `bbox` becomes an annotation with
 * `bbox: [x, y, width, height]` (COCO's pixels are the task objects' pixels: top-left, 0-based)
 * and an empty `segmentation`; a `polygon` becomes an annotation whose `segmentation` is its one
 * polygon `[[x1, y1, x2, y2, ...]]`, with the polygon's bounding box and area. Category ids are
 * the platform's class ids as given (no renumbering); image and annotation ids count from 1.
 * Properties other than `label` go to the annotation's `attributes` (as CVAT writes them) and
 * come back from there. Numbers are written as they are (JSON keeps a double exactly).
 */
import { isObject } from 'synapse-core';
import {
  type ClassEntry,
  type ClassTable,
  checkObject,
  checkObjects,
  classTable,
  type DatasetItem,
  type FormatLimits,
  type FormatProblem,
  fileStem,
  imageSize,
  limitItems,
  objectId,
  type PolygonObject,
  polygonBounds,
  type ReadItem,
  resolveLimits,
  type ShapeObject,
} from './task-objects.ts';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  segmentation: number[][];
  iscrowd: 0;
  attributes?: Record<string, unknown>;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

export interface CocoDataset {
  info?: Record<string, unknown>;
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export interface ToCocoOptions {
  /** The platform's classes; each becomes a category of the same id. */
  classes: readonly ClassEntry[];
  /** COCO's `info` block, written as given. */
  info?: Record<string, unknown>;
  /** Every category's `supercategory` (COCO requires the key); default `''`. */
  supercategory?: string;
  limits?: Partial<FormatLimits>;
}

const FORMAT = 'COCO';

/** The polygon's area (shoelace formula), as COCO's `area` of a polygon annotation. */
function polygonArea(points: PolygonObject['coordinates']): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [a, b] = [points[i]!, points[(i + 1) % points.length]!];
    twice += a.x * b.y - b.x * a.y;
  }
  return Math.abs(twice) / 2;
}

function annotationOf(shape: ShapeObject, id: number, imageId: number): CocoAnnotation {
  const { label: _label, ...attributes } = shape.properties;
  const extra = Object.keys(attributes).length > 0 ? { attributes } : {};
  if (shape.type === 'bbox') {
    const { x, y, width, height } = shape.coordinates;
    return {
      id,
      image_id: imageId,
      category_id: shape.class_id,
      bbox: [x, y, width, height],
      area: width * height,
      segmentation: [],
      iscrowd: 0,
      ...extra,
    };
  }
  const { x, y, width, height } = polygonBounds(shape.coordinates);
  return {
    id,
    image_id: imageId,
    category_id: shape.class_id,
    bbox: [x, y, width, height],
    area: polygonArea(shape.coordinates),
    segmentation: [shape.coordinates.flatMap((p) => [p.x, p.y])],
    iscrowd: 0,
    ...extra,
  };
}

/**
 * Task objects → one COCO dataset. An item without an image size, with a file name used twice,
 * or an object COCO cannot hold (a `label`, a box outside the image, an unknown class, ...) is
 * in `problems`, naming the item and the object.
 */
export function toCoco(
  items: Iterable<DatasetItem>,
  options: ToCocoOptions,
): { coco: CocoDataset; problems: FormatProblem[] } {
  const classes = classTable(options.classes);
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const coco: CocoDataset = {
    ...(options.info ? { info: options.info } : {}),
    images: [],
    annotations: [],
    categories: classes.entries.map(({ id, name }) => ({
      id,
      name,
      supercategory: options.supercategory ?? '',
    })),
  };
  const names = new Set<string>();
  for (const item of limitItems(items, limits, problems)) {
    const name =
      typeof item?.fileName === 'string' && item.fileName !== '' ? item.fileName : '(no file name)';
    if (fileStem(name) === null || names.has(name)) {
      problems.push({
        item: name,
        message: `${name}: ${names.has(name) ? 'file name used by an earlier item' : 'not a plain relative file name'}; item left out`,
      });
      continue;
    }
    const size = imageSize(item, FORMAT);
    if (typeof size === 'string') {
      problems.push({ item: name, message: `${name}: ${size}; item left out` });
      continue;
    }
    names.add(name);
    const imageId = coco.images.length + 1;
    coco.images.push({ id: imageId, file_name: name, width: size.width, height: size.height });
    for (const shape of checkObjects(item, { item: name, size, classes, format: FORMAT, limits }, problems)) {
      coco.annotations.push(annotationOf(shape, coco.annotations.length + 1, imageId));
    }
  }
  return { coco, problems };
}

export interface FromCocoOptions {
  /**
   * The platform's classes, matched to the categories by name (a project's class ids, whatever
   * ids the file gave its categories); a category not among them is a problem. Without it, a
   * class id is its category id.
   */
  classes?: readonly ClassEntry[];
  limits?: Partial<FormatLimits>;
}

const label = (n: unknown) => JSON.stringify(n)?.slice(0, 40) ?? String(n);

/** COCO categories → classes (id = category id); bad or repeated categories are problems. */
function readCategories(raw: unknown[], problems: FormatProblem[]): ClassTable {
  const entries: ClassEntry[] = [];
  const [ids, names] = [new Set<number>(), new Set<string>()];
  for (const [i, category] of raw.entries()) {
    const where = `categories[${i}]`;
    if (!isObject(category) || !Number.isSafeInteger(category.id) || typeof category.name !== 'string') {
      problems.push({
        item: where,
        message: `${where}: not a category {id: integer, name: string}; left out`,
      });
    } else if (category.name.trim() === '' || /[\r\n]/.test(category.name)) {
      problems.push({
        item: where,
        message: `${where}: category name ${label(category.name)} is blank or spans lines; left out`,
      });
    } else if (ids.has(category.id as number) || names.has(category.name)) {
      problems.push({
        item: where,
        message: `${where}: category id ${category.id} or name '${category.name}' repeats an earlier one; left out`,
      });
    } else {
      ids.add(category.id as number);
      names.add(category.name);
      entries.push({ id: category.id as number, name: category.name });
    }
  }
  return classTable(entries);
}

/** A COCO annotation → the raw task object it stands for (checked afterwards like any other). */
function rawObject(
  annotation: Record<string, unknown>,
  index: number,
  classOf: ReadonlyMap<unknown, ClassEntry>,
): { raw: Record<string, unknown>; parts: number } | string {
  const entry = classOf.get(annotation.category_id);
  if (!entry) return `has category_id ${label(annotation.category_id)}, which is not among the classes`;
  const properties: Record<string, unknown> = isObject(annotation.attributes)
    ? { ...annotation.attributes }
    : {};
  properties.label = entry.name;
  const base = { id: objectId(index), class_id: entry.id, properties };
  const { segmentation } = annotation;
  if (annotation.iscrowd === 1 || isObject(segmentation)) {
    return 'is a crowd (RLE) region, which task objects cannot hold';
  }
  if (Array.isArray(segmentation) && segmentation.length > 0) {
    const first = segmentation[0];
    if (!Array.isArray(first) || first.length % 2 !== 0) {
      return 'has a segmentation that is not a list of [x1, y1, x2, y2, ...] polygons';
    }
    const coordinates = [];
    for (let i = 0; i + 1 < first.length; i += 2) coordinates.push({ x: first[i], y: first[i + 1] });
    return { raw: { ...base, type: 'polygon', coordinates }, parts: segmentation.length };
  }
  const { bbox } = annotation;
  if (!Array.isArray(bbox) || bbox.length !== 4) return `has bbox ${label(bbox)}, not [x, y, width, height]`;
  const [x, y, width, height] = bbox;
  return { raw: { ...base, type: 'bbox', coordinates: { x, y, width, height } }, parts: 1 };
}

/**
 * A COCO dataset (JSON text or parsed) → one item per image, with the categories as classes
 * (class id = category id). Malformed JSON, a bad image or annotation, a box outside its image,
 * an unknown category or image id: each is a problem naming the image or annotation.
 */
export function fromCoco(
  input: string | unknown,
  options: FromCocoOptions = {},
): { items: ReadItem[]; classes: ClassEntry[]; problems: FormatProblem[] } {
  const limits = resolveLimits(options.limits);
  const problems: FormatProblem[] = [];
  const none = { items: [], classes: [], problems };
  let data: unknown = input;
  if (typeof input === 'string') {
    try {
      data = JSON.parse(input);
    } catch (err) {
      problems.push({ item: '', message: `COCO file is not valid JSON: ${(err as Error).message}` });
      return none;
    }
  }
  if (!isObject(data)) {
    problems.push({ item: '', message: 'COCO file is not a JSON object' });
    return none;
  }
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(data[key])) {
      problems.push({ item: '', message: `COCO file has no '${key}' list` });
      return none;
    }
  }
  const categories = readCategories(data.categories as unknown[], problems);
  const classes = options.classes ? classTable(options.classes) : categories;
  // category id → the class it stands for: itself, or the class of its name.
  const classOf = new Map<unknown, ClassEntry>();
  for (const category of categories.entries) {
    const entry = options.classes ? classes.byName.get(category.name) : category;
    if (entry) classOf.set(category.id, entry);
    else {
      problems.push({
        item: 'categories',
        message: `categories: '${category.name}' (id ${category.id}) is not among the classes given; its annotations are left out`,
      });
    }
  }
  const images = new Map<unknown, { item: ReadItem; size: { width: number; height: number } }>();
  const names = new Set<string>();
  for (const [i, image] of limitItems(data.images as unknown[], limits, problems).entries()) {
    const where = isObject(image) && typeof image.file_name === 'string' ? image.file_name : `images[${i}]`;
    if (!isObject(image) || (typeof image.id !== 'number' && typeof image.id !== 'string')) {
      problems.push({
        item: where,
        message: `${where}: not an image {id, file_name, width, height}; left out`,
      });
      continue;
    }
    if (typeof image.file_name !== 'string' || fileStem(image.file_name) === null) {
      problems.push({
        item: where,
        message: `${where}: image ${label(image.id)} has no plain relative file_name; left out`,
      });
      continue;
    }
    if (images.has(image.id) || names.has(image.file_name)) {
      problems.push({
        item: where,
        message: `${where}: image id ${label(image.id)} or its file name repeats an earlier image; left out`,
      });
      continue;
    }
    const size = imageSize(
      { fileName: where, width: image.width as number, height: image.height as number, objects: [] },
      FORMAT,
    );
    if (typeof size === 'string') {
      problems.push({ item: where, message: `${where}: ${size}; left out` });
      continue;
    }
    names.add(image.file_name);
    images.set(image.id, { item: { fileName: image.file_name, ...size, objects: [] }, size });
  }
  for (const [i, annotation] of (data.annotations as unknown[]).entries()) {
    const where = `annotations[${i}]`;
    if (!isObject(annotation)) {
      problems.push({ item: where, message: `${where}: not an object; left out` });
      continue;
    }
    const image = images.get(annotation.image_id);
    if (!image) {
      problems.push({
        item: where,
        message: `${where}: image_id ${label(annotation.image_id)} names no image read; left out`,
      });
      continue;
    }
    const { item, size } = image;
    const objectName = `annotation ${label(annotation.id)}`;
    if (item.objects.length >= limits.maxObjectsPerItem) {
      problems.push({
        item: item.fileName,
        object: objectName,
        message: `${item.fileName}: more than ${limits.maxObjectsPerItem} annotations (the limit); ${objectName} left out`,
      });
      continue;
    }
    const converted = rawObject(annotation, item.objects.length, classOf);
    const checked =
      typeof converted === 'string'
        ? converted
        : checkObject(converted.raw, { item: item.fileName, size, classes, format: FORMAT, limits });
    if (typeof checked === 'string') {
      problems.push({
        item: item.fileName,
        object: objectName,
        message: `${item.fileName}: ${objectName} ${checked}; left out`,
      });
      continue;
    }
    if (typeof converted !== 'string' && converted.parts > 1) {
      problems.push({
        item: item.fileName,
        object: objectName,
        message: `${item.fileName}: ${objectName} has ${converted.parts} polygons; a task object holds one, the first is kept and the others left out`,
      });
    }
    item.objects.push(checked);
  }
  return { items: [...images.values()].map(({ item }) => item), classes: [...classes.entries], problems };
}
