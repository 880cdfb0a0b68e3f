/**
 * What a task shows: the objects of its data (the task-object format that `annotate_task_data`
 * stores as is) and the image of its data unit's primary file specification.
 */
import type { Doc } from '../db/collection.ts';
import { MEDIA_PREFIX, type MediaStore } from '../media.ts';
import { fileSpecifications } from '../routes/data-collections.ts';
import { isObject } from '../validate.ts';
import { badge } from './components.ts';
import { type Html, html } from './html.ts';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TaskObject {
  id: string;
  classId: unknown;
  type: string;
  label: string;
  /** 0..1, when the object has one. */
  confidence: number | null;
  /** Pixels of the image; only for `bbox` objects with numeric coordinates. */
  box: Box | null;
}

function boxOf(type: unknown, coordinates: unknown): Box | null {
  if (type !== 'bbox' || !isObject(coordinates)) return null;
  const { x, y, width, height } = coordinates;
  const values = [x, y, width, height];
  return values.every((v) => typeof v === 'number' && Number.isFinite(v))
    ? { x: x as number, y: y as number, width: width as number, height: height as number }
    : null;
}

/** The objects of `task.data`; malformed entries are skipped rather than failing the page. */
export function taskObjects(data: unknown): TaskObject[] {
  const objects = isObject(data) && Array.isArray(data.objects) ? data.objects : [];
  return objects.filter(isObject).map((o, i) => {
    const properties = isObject(o.properties) ? o.properties : {};
    const confidence = Number(properties.confidence);
    return {
      id: String(o.id ?? i + 1),
      classId: o.class_id ?? null,
      type: String(o.type ?? ''),
      label: typeof properties.label === 'string' ? properties.label : `class ${o.class_id ?? '?'}`,
      confidence: properties.confidence !== undefined && Number.isFinite(confidence) ? confidence : null,
      box: boxOf(o.type, o.coordinates),
    };
  });
}

export function confidenceText(confidence: number | null): string {
  return confidence === null ? '' : `${Math.round(confidence * 100)}%`;
}

/**
 * Where the browser loads a stored file from: this server's media route for stored files (a
 * signed URL: the browser sends no token), the URL itself for a plain external one. An external
 * URL with a query string may be signed, so it is not shown.
 */
export function mediaHref(url: unknown, media: MediaStore): string | null {
  if (typeof url !== 'string') return null;
  if (url.startsWith(MEDIA_PREFIX)) return media.signedPath(url.slice(MEDIA_PREFIX.length));
  return /^https?:\/\/[^?#]+$/i.test(url) ? url : null;
}

export interface Image {
  href: string;
  name: string;
  /** From the data unit's meta when it says; the browser measures the image otherwise. */
  width: number | null;
  height: number | null;
}

const dimension = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);

/** The unit's file of the collection's primary specification (first frame of a sequence). */
export function primaryImage(collection: Doc | null, unit: Doc | null, media: MediaStore): Image | null {
  if (!unit || !isObject(unit.files)) return null;
  const files = unit.files;
  const spec = collection ? fileSpecifications(collection).find((s) => s.is_primary) : undefined;
  const entries = spec
    ? [files[spec.name]]
    : Object.values(files).filter((f) => (Array.isArray(f) ? f[0] : f)?.is_primary);
  const entry = entries[0];
  const file = Array.isArray(entry) ? entry[0] : entry;
  const href = isObject(file) ? mediaHref(file.url, media) : null;
  if (!href || !isObject(file)) return null;
  const meta = isObject(unit.meta) ? unit.meta : {};
  return {
    href,
    name: String(file.file_name_original ?? ''),
    width: dimension(meta.width),
    height: dimension(meta.height),
  };
}

/**
 * A task's status as a person needs it: a task still `pending` whose data already holds objects
 * (ToTask's pre-annotation) says so beside its status.
 */
export function taskStatus(task: Doc): Html {
  const count = taskObjects(task.data).length;
  const preAnnotated = task.status === 'pending' && count > 0;
  return html`${badge(task.status)}${
    preAnnotated &&
    html`<span class="badge status-pre_annotated" title="${`${count} object${count === 1 ? '' : 's'} from a pre-annotation, not yet reviewed`}">pre-annotated</span>`
  }`;
}
