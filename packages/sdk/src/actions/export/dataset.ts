/**
 * The built-in dataset export (`format: coco | yolo | voc | platform`): the items' task objects
 * through the format converters of `formats/`, written to the storage as the format lays out a
 * dataset, with the original images beside them when asked:
 *
 * - `coco`: `annotations.json` (images, annotations, categories), `images/<file>`;
 * - `yolo`: `labels/<stem>.txt`, `data.yaml`, `images/<file>`;
 * - `voc`: `Annotations/<stem>.xml`, `JPEGImages/<file>`;
 * - `platform`: each item's data as `json/<stem>.json`, `origin_files/<file>` (the default of plugins.md §14).
 *
 * The COCO file is streamed: its images go out as items arrive, its annotations to a scratch file
 * copied in after them, so no dataset is ever held in memory. What a format cannot hold (an
 * object of another type, a box outside its image, an unknown class) is listed in
 * `error_file_list.json` under the item's file name, never dropped in silence.
 *
 * Classes: the `classes` param, else the project's `configuration.classes` (`[{id, name}]`), else
 * the classes the items use (`class_id`, named by `properties.label`). YOLO numbers its classes
 * before the first label line, so without a list it reads the listing once more to find them.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { isObject } from 'synapse-core';
import { z } from 'zod';
import { DownloadPool, safeDownload } from '../../clients/safe-fetch/index.ts';
import {
  type ClassEntry,
  type DatasetItem,
  type FormatProblem,
  toCoco,
  toVoc,
  toYolo,
  YOLO_DATA_FILE,
  yoloDataYaml,
} from '../../formats/index.ts';
import type { RuntimeContext } from '../../plugins/context.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import { BaseExportAction } from './action.ts';
import { type ExportContext, exportParamsSchema } from './context.ts';
import { BaseExporter, type ExporterOptions, type ExportStatus, errorText } from './exporter.ts';
import { IMAGE_HEAD_BYTES, imageSizeOf } from './image-size.ts';
import type { ExportItem } from './targets.ts';

export const DATASET_FORMATS = ['coco', 'yolo', 'voc', 'platform'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export const COCO_FILE = 'annotations.json';
/** Most classes a run discovers in the items (a bound on hostile data). */
export const MAX_DISCOVERED_CLASSES = 10_000;

const classEntry = z.object({ id: z.number().int(), name: z.string().min(1) });

export const datasetExportParamsSchema = exportParamsSchema.extend({
  format: z.enum(DATASET_FORMATS).default('coco'),
  /** The classes, in YOLO index order; default the project's, else those the items use. */
  classes: z.array(classEntry).max(MAX_DISCOVERED_CLASSES).optional(),
});

export type DatasetExportParams = z.infer<typeof datasetExportParamsSchema>;

/** The COCO file being written: images streamed to the storage, annotations to a scratch file. */
interface CocoStream {
  images: PassThrough;
  written: Promise<void>;
  scratchDir: string;
  scratch: WriteStream;
  first: boolean;
  firstAnnotation: boolean;
  /** Text not yet written, gathered so each write carries many items, not one. */
  pendingImages: string[];
  pendingAnnotations: string[];
  pendingBytes: number;
}

/** Gathered text past this many characters is written out. */
const COCO_WRITE_CHUNK = 256 * 1024;

/** Writes `text` to `stream`, waiting while its buffer is full. */
async function writeOut(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text !== '' && !stream.write(text)) await once(stream, 'drain');
}

/** The converted form of one item the dataset exporter saves. */
interface Converted {
  fileName: string;
  /** Files of the item (path → text): YOLO's label file, VOC's XML. */
  files?: Record<string, string>;
  /** COCO's image and annotations (ids assigned in listing order). */
  coco?: { image: string; annotations: string };
  /** Converter problems of this item; `leftOut` when the whole item could not be written. */
  problems: FormatProblem[];
  leftOut: boolean;
}

/** The classes of the items: `class_id` → `properties.label` (else `class <id>`), first seen wins. */
export class ClassDiscovery {
  readonly byId = new Map<number, string>();
  #names = new Set<string>();
  #entries: ClassEntry[] | null = null;

  add(objects: unknown): void {
    if (!Array.isArray(objects)) return;
    for (const object of objects) {
      if (!isObject(object) || !Number.isSafeInteger(object.class_id)) continue;
      const id = object.class_id as number;
      if (this.byId.has(id)) continue;
      if (this.byId.size >= MAX_DISCOVERED_CLASSES) {
        throw new RuntimeError(`The items use more than ${MAX_DISCOVERED_CLASSES} classes; give 'classes'`);
      }
      const label = isObject(object.properties) ? object.properties.label : undefined;
      let name =
        typeof label === 'string' && label.trim() !== '' && !/[\r\n]/.test(label) ? label : `class ${id}`;
      // Two ids of one label (a relabelled class) stay two classes, told apart by id.
      if (this.#names.has(name)) name = `${name} (${id})`;
      this.#names.add(name);
      this.byId.set(id, name);
      this.#entries = null;
    }
  }

  /** The classes by id; the same list until a new class is seen (asked for once per item). */
  entries(): ClassEntry[] {
    this.#entries ??= [...this.byId].sort(([a], [b]) => a - b).map(([id, name]) => ({ id, name }));
    return this.#entries;
  }
}

/** The task objects of an item's data (`{"objects": [...]}`), or the reason there are none. */
function objectsOf(data: unknown): unknown[] | string {
  if (data === null || data === undefined) return 'data is Null';
  if (!isObject(data)) return 'data is not an object';
  if (data.objects === undefined) return [];
  return Array.isArray(data.objects) ? data.objects : "'objects' is not a list";
}

const positive = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined);

export class DatasetExporter extends BaseExporter<DatasetExportParams> {
  readonly format: Exclude<DatasetFormat, 'platform'>;
  readonly #discover: () => Promise<ClassEntry[] | null>;
  #classes: Promise<ClassEntry[] | null> | null = null;
  readonly #discovered = new ClassDiscovery();
  readonly #names = new Set<string>();
  #leftOutProperties = new Map<string, number>();
  #imageId = 0;
  #annotationId = 0;
  #headPool: DownloadPool | null = null;
  #coco: Promise<CocoStream> | null = null;

  constructor(
    ctx: ExportContext<DatasetExportParams>,
    items: AsyncIterable<ExportItem>,
    pathRoot: string,
    params: DatasetExportParams,
    options: ExporterOptions & { classes: () => Promise<ClassEntry[] | null> },
  ) {
    super(ctx, items, pathRoot, params, options);
    this.format = params.format as Exclude<DatasetFormat, 'platform'>;
    this.#discover = options.classes;
  }

  override get originDir(): string {
    return this.format === 'voc' ? 'JPEGImages' : 'images';
  }

  /** The class list given or found up front; null: discovered from the items as they come. */
  classes(): Promise<ClassEntry[] | null> {
    this.#classes ??= this.#discover();
    return this.#classes;
  }

  override async convertData(item: ExportItem): Promise<ExportItem> {
    const fileName = this.originalName(item);
    const objects = objectsOf(item.data);
    if (typeof objects === 'string') {
      // Null data stays null: saveAsJson reports it as the spec's `data is Null`.
      if (objects === 'data is Null') return item;
      throw new Error(objects);
    }
    const given = await this.classes();
    if (!given) this.#discovered.add(objects);
    const classes = given ?? this.#discovered.entries();
    // COCO keeps properties as `attributes`; YOLO and VOC have no place for them.
    if (this.format !== 'coco') this.#countProperties(objects);
    const size = await this.#size(item);
    const datasetItem: DatasetItem = { fileName, ...size, objects };
    let converted: Converted;
    if (this.#names.has(fileName)) {
      converted = {
        fileName,
        problems: [
          { item: fileName, message: `${fileName}: file name used by an earlier item; item left out` },
        ],
        leftOut: true,
      };
    } else if (this.format === 'coco') {
      converted = this.#toCoco(datasetItem, classes);
    } else {
      const { files, problems } = (this.format === 'yolo' ? toYolo : toVoc)([datasetItem], { classes });
      delete files[YOLO_DATA_FILE];
      const own = problems.filter((p) => p.item !== '');
      converted = { fileName, files, problems: own, leftOut: Object.keys(files).length === 0 };
    }
    if (!converted.leftOut) this.#names.add(fileName);
    return { ...item, data: converted };
  }

  #toCoco(item: DatasetItem, classes: ClassEntry[]): Converted {
    const { coco, problems } = toCoco([item], { classes });
    const image = coco.images[0];
    if (!image) return { fileName: item.fileName, problems, leftOut: true };
    const imageId = ++this.#imageId;
    // The converter's objects are fresh: renumbered in place, not copied (this runs per item).
    image.id = imageId;
    const annotations = coco.annotations.map((a) => {
      a.id = ++this.#annotationId;
      a.image_id = imageId;
      return JSON.stringify(a);
    });
    return {
      fileName: item.fileName,
      coco: { image: JSON.stringify(image), annotations: annotations.join(',') },
      problems,
      leftOut: false,
    };
  }

  /** Properties other than `label` that YOLO and VOC have no place for: one notice at the end. */
  #countProperties(objects: unknown[]): void {
    for (const object of objects) {
      if (!isObject(object) || !isObject(object.properties)) continue;
      for (const key of Object.keys(object.properties)) {
        if (key !== 'label') this.#leftOutProperties.set(key, (this.#leftOutProperties.get(key) ?? 0) + 1);
      }
    }
  }

  /** The image size from the data unit's meta, else from the head of the image (COCO and YOLO need it). */
  async #size(item: ExportItem): Promise<{ width?: number; height?: number }> {
    const [width, height] = [positive(item.meta.width), positive(item.meta.height)];
    if ((width && height) || this.format === 'voc') return { width, height };
    const url = item.files?.url;
    if (typeof url !== 'string') return {};
    try {
      this.#headPool ??= new DownloadPool();
      const { body } = await safeDownload(url, {
        rules: this.ctx.downloadRules,
        maxBytes: IMAGE_HEAD_BYTES,
        truncate: true,
        timeoutMs: (this.options.downloadTimeoutSeconds ?? 30) * 1000,
        pool: this.#headPool,
        signal: this.ctx.signal,
      });
      return imageSizeOf(body) ?? {};
    } catch (err) {
      throw new Error(`the image size is unknown and its file could not be read: ${errorText(err)}`);
    }
  }

  override async saveAsJson(
    result: ExportItem,
    _dir: string,
    errorList: Array<[string, string]>,
  ): Promise<ExportStatus> {
    if (result.data === null || result.data === undefined) return super.saveAsJson(result, _dir, errorList);
    const converted = result.data as Converted;
    for (const problem of converted.problems) errorList.push([converted.fileName, problem.message]);
    let error = converted.leftOut ? (converted.problems[0]?.message ?? 'item left out') : '';
    if (!error) {
      try {
        if (converted.coco) await this.#appendCoco(converted.coco);
        for (const [path, text] of Object.entries(converted.files ?? {})) await this.write(path, text);
      } catch (err) {
        error = errorText(err);
        errorList.push([converted.fileName, error]);
      }
    }
    const shown =
      this.format === 'coco' ? COCO_FILE : (Object.keys(converted.files ?? {})[0] ?? converted.fileName);
    this.logFile('export_data_file', 'data_file_info', result.id, shown, error);
    return error ? 'failed' : 'success';
  }

  /** Images into the COCO file as they come; annotations into a scratch file, copied in at the end. */
  async #appendCoco(entry: { image: string; annotations: string }): Promise<void> {
    // Items are saved a few at a time: the first one opens the file, the others wait for it.
    this.#coco ??= this.#openCoco();
    const coco = await this.#coco;
    coco.pendingImages.push(`${coco.first ? '' : ','}\n${entry.image}`);
    coco.first = false;
    coco.pendingBytes += entry.image.length;
    if (entry.annotations) {
      coco.pendingAnnotations.push(`${coco.firstAnnotation ? '' : ','}\n${entry.annotations}`);
      coco.firstAnnotation = false;
      coco.pendingBytes += entry.annotations.length;
    }
    if (coco.pendingBytes >= COCO_WRITE_CHUNK) await this.#flushCoco(coco);
  }

  /** The gathered text out to the COCO file and the scratch file (taken first: saves run concurrently). */
  async #flushCoco(coco: CocoStream): Promise<void> {
    const images = coco.pendingImages.join('');
    const annotations = coco.pendingAnnotations.join('');
    coco.pendingImages = [];
    coco.pendingAnnotations = [];
    coco.pendingBytes = 0;
    await Promise.all([writeOut(coco.images, images), writeOut(coco.scratch, annotations)]);
  }

  async #openCoco(): Promise<CocoStream> {
    const images = new PassThrough();
    images.write('{"images":[');
    const written = this.write(COCO_FILE, images);
    // A failed write must not leave the writer waiting for a drain that never comes.
    written.catch(() => images.destroy());
    const scratchDir = await mkdtemp(join(tmpdir(), 'synapse-export-'));
    const scratch = createWriteStream(join(scratchDir, 'annotations.json'));
    return {
      images,
      written,
      scratchDir,
      scratch,
      first: true,
      firstAnnotation: true,
      pendingImages: [],
      pendingAnnotations: [],
      pendingBytes: 0,
    };
  }

  /** The COCO file being streamed is cut off (the storage keeps no half of it) and its scratch removed. */
  override async abort(): Promise<void> {
    this.#headPool?.close();
    const coco = await this.#coco?.catch(() => null);
    if (!coco) return;
    // Without an error: the storage's write sees a premature close and removes its partial file.
    coco.images.destroy();
    coco.scratch.destroy();
    await coco.written.catch(() => {});
    await rm(coco.scratchDir, { recursive: true, force: true });
  }

  override async additionalFileSaving(): Promise<void> {
    this.#headPool?.close();
    const classes = (await this.classes()) ?? this.#discovered.entries();
    if (this.#leftOutProperties.size > 0) {
      const list = [...this.#leftOutProperties].map(([key, n]) => `${key} (${n} objects)`).join(', ');
      this.ctx.log('export_info', {
        message: `${this.format.toUpperCase()} has no place for object properties: left out ${list}`,
      });
    }
    if (this.format === 'yolo') await this.write(YOLO_DATA_FILE, yoloDataYaml(classes));
    if (this.format !== 'coco') return;
    this.#coco ??= this.#openCoco();
    const coco = await this.#coco;
    try {
      await this.#flushCoco(coco);
      coco.scratch.end();
      await once(coco.scratch, 'close');
      coco.images.write('\n],"annotations":[');
      for await (const chunk of createReadStream(join(coco.scratchDir, 'annotations.json'))) {
        if (!coco.images.write(chunk)) await once(coco.images, 'drain');
      }
      const categories = classes.map(({ id, name }) => ({ id, name, supercategory: '' }));
      coco.images.end(`\n],"categories":${JSON.stringify(categories)}}\n`);
      await coco.written;
    } finally {
      await rm(coco.scratchDir, { recursive: true, force: true });
    }
  }
}

/** The classes a project's configuration lists as `classes: [{id, name}]`, or null. */
export function configuredClasses(configuration: Record<string, unknown>): ClassEntry[] | null {
  const parsed = z.array(classEntry).min(1).safeParse(configuration.classes);
  return parsed.success ? parsed.data : null;
}

/**
 * The built-in export action: `BaseExportAction` with `format` (default `coco`). Plugins extend it
 * and override the exporter's hooks, or the action's `createExporter`.
 */
export class DatasetExportAction extends BaseExportAction<DatasetExportParams> {
  static override paramsSchema = datasetExportParamsSchema;
  /** The exporter of the formats; a plugin sets its own subclass to override its hooks. */
  static exporter: typeof DatasetExporter = DatasetExporter;

  constructor(params: DatasetExportParams, ctx: RuntimeContext, options: ExporterOptions = {}) {
    super(params, ctx, options);
  }

  override createExporter(
    context: ExportContext<DatasetExportParams>,
    items: AsyncIterable<ExportItem>,
    pathRoot: string,
  ): BaseExporter<DatasetExportParams> {
    if (this.params.format === 'platform') return super.createExporter(context, items, pathRoot);
    const Exporter = (this.constructor as typeof DatasetExportAction).exporter;
    return new Exporter(context, items, pathRoot, this.params, {
      ...this.exporterOptions,
      classes: () => this.resolveClasses(),
    });
  }

  /** The class list: the param, the project's configuration, or (YOLO) those the items use; null to discover. */
  async resolveClasses(): Promise<ClassEntry[] | null> {
    if (this.params.classes) return this.params.classes;
    const project = Number(this.params.filter.project);
    if (Number.isSafeInteger(project) && project > 0) {
      const found = configuredClasses(await this.getProjectConfiguration(project));
      if (found) return found;
    }
    if (this.params.format !== 'yolo') return null;
    const discovery = new ClassDiscovery();
    const [items] = await this.getFilteredResults({ ...this.params.filter });
    for await (const item of items) {
      const objects = objectsOf(item.data);
      if (Array.isArray(objects)) discovery.add(objects);
    }
    return discovery.entries();
  }
}
