/**
 * BaseExporter (plugins.md §14): turns the stream of export items into files in the storage. Per
 * item, in listing order, `beforeConvert` → `convertData` → `afterConvert`; then, a bounded number
 * of items at a time, `saveAsJson` (`json/<stem>.json` of the item's data) and, when asked,
 * `saveOriginalFile` (`origin_files/<file_name_original>`, fetched from `files.url`). One item that
 * fails fails alone: it is counted, logged and listed in `error_file_list.json`, and the others go
 * on. Nothing keeps the items: memory stays flat however many there are.
 */
import { AdaptiveLimit, isOverload } from '../../clients/adaptive-limit.ts';
import { DownloadPool, safeDownload } from '../../clients/safe-fetch/index.ts';
import { formatCreated } from '../../plugins/logging/records.ts';
import { storagePath } from '../../storage/index.ts';
import {
  DATA_FILE_METRICS,
  EXPORT_PROGRESS_CATEGORY,
  type ExportContext,
  type ExportCounts,
  type ExportErrorList,
  type ExportParams,
  ORIGINAL_FILE_METRICS,
} from './context.ts';
import { readAhead } from './read-ahead.ts';
import type { ExportItem } from './targets.ts';

export type ExportStatus = 'success' | 'failed';

export const ERROR_FILE_LIST = 'error_file_list.json';
export const JSON_DIR = 'json';
export const ORIGIN_FILES_DIR = 'origin_files';

/** How an exporter runs; each has a default. */
export interface ExporterOptions {
  /** Items saved at once (their JSON and original file); the adaptive limit's cap. Default 8. */
  concurrency?: number;
  /** Timeout of each original file's download, in seconds (default 30). */
  downloadTimeoutSeconds?: number;
  /** Largest original file, in bytes (default 1 GiB); a larger one fails its item. */
  maxOriginalBytes?: number;
}

export const DEFAULT_EXPORT_CONCURRENCY = 8;
/** Items listed ahead of the export: a page (the listings' page size), fetched while the last is saved. */
export const READ_AHEAD_ITEMS = 100;
const DEFAULT_DOWNLOAD_TIMEOUT_SECONDS = 30;
const DEFAULT_MAX_ORIGINAL_BYTES = 1024 ** 3;

export interface ExportSummary {
  exported_count: number;
  failed_count: number;
  total_count: number;
}

/** The message of anything thrown, without URLs' credentials or queries (signed URLs carry secrets). */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      return '<url>';
    }
  });
}

/** A file name the platform gave, usable as one file in a folder; null when it is not one. */
export function plainFileName(name: unknown): string | null {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.length > 255)
    return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return /[/\\\u0000-\u001f]/.test(name) ? null : name;
}

/** `a.tar.gz` → `a.tar`; `a` → `a`. */
export function fileStemOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** An item whose conversion hooks threw: it fails alone, with this message. */
class ConversionFailed {
  constructor(readonly message: string) {}
}

export class BaseExporter<P extends ExportParams = ExportParams> {
  readonly ctx: ExportContext<P>;
  readonly exportItems: AsyncIterable<ExportItem>;
  /** The export's folder in the storage; every file goes under it. */
  readonly pathRoot: string;
  readonly params: P;
  readonly options: ExporterOptions;
  /** What `error_file_list.json` will hold. */
  readonly errors: ExportErrorList = { json_file_name: [], origin_file_name: [] };
  readonly dataMetrics: ExportCounts = { stand_by: 0, success: 0, failed: 0 };
  readonly originalMetrics: ExportCounts = { stand_by: 0, success: 0, failed: 0 };
  #pool: DownloadPool | null = null;
  readonly #usedNames = { data: new Set<string>(), original: new Set<string>() };
  #seen = 0;
  #exported = 0;

  constructor(
    ctx: ExportContext<P>,
    exportItems: AsyncIterable<ExportItem>,
    pathRoot: string,
    params: P,
    options: ExporterOptions = {},
  ) {
    this.ctx = ctx;
    this.exportItems = exportItems;
    this.pathRoot = pathRoot;
    this.params = params;
    this.options = options;
  }

  /** Where the items' data files go, under `pathRoot`. */
  get jsonDir(): string {
    return JSON_DIR;
  }

  /** Where the original files go, under `pathRoot`. */
  get originDir(): string {
    return ORIGIN_FILES_DIR;
  }

  // Override points -------------------------------------------------------------------------

  /** Before the conversion of an item (e.g. drop what is not exported); default unchanged. */
  beforeConvert(item: ExportItem): ExportItem | Promise<ExportItem> {
    return item;
  }

  /** The conversion of an item's data to the export's format; default unchanged. */
  convertData(item: ExportItem): ExportItem | Promise<ExportItem> {
    return item;
  }

  /** After the conversion (e.g. add fields); default unchanged. */
  afterConvert(item: ExportItem): ExportItem | Promise<ExportItem> {
    return item;
  }

  /**
   * GETs `result.files.url` (30 s by default, through the safe download: only allowed origins) and
   * saves it as `<dir>/<file_name_original>`. A failure is listed, not thrown.
   */
  async saveOriginalFile(
    result: ExportItem,
    dir: string,
    errorList: Array<[string, string]>,
  ): Promise<ExportStatus> {
    const name = this.uniqueName('original', this.originalName(result), result.id);
    let error = '';
    try {
      const url = result.files?.url;
      if (typeof url !== 'string' || url === '') throw new Error('the item has no file URL');
      const safe = plainFileName(name);
      if (safe === null)
        throw new Error(`file name ${JSON.stringify(name).slice(0, 80)} is not a plain file name`);
      this.#pool ??= new DownloadPool();
      const { body } = await safeDownload(url, {
        rules: this.ctx.downloadRules,
        maxBytes: this.options.maxOriginalBytes ?? DEFAULT_MAX_ORIGINAL_BYTES,
        timeoutMs: (this.options.downloadTimeoutSeconds ?? DEFAULT_DOWNLOAD_TIMEOUT_SECONDS) * 1000,
        pool: this.#pool,
        signal: this.ctx.signal,
      });
      await this.write(`${dir}/${safe}`, body);
    } catch (err) {
      error = errorText(err);
      errorList.push([name, error]);
    }
    this.logFile('export_original_file', 'original_file_info', result.id, name, error);
    return error ? 'failed' : 'success';
  }

  /** Saves `result.data` as `<dir>/<stem>.json`; null data is `data is Null` (event `NULL_DATA_DETECTED`). */
  async saveAsJson(
    result: ExportItem,
    dir: string,
    errorList: Array<[string, string]>,
  ): Promise<ExportStatus> {
    const name = this.uniqueName('data', `${fileStemOf(this.originalName(result))}.json`, result.id);
    let error = '';
    if (result.data === null || result.data === undefined) {
      error = 'data is Null';
      this.ctx.log('NULL_DATA_DETECTED', {
        target_id: result.id,
        message: error,
        created: formatCreated(new Date()),
      });
    } else {
      try {
        await this.write(`${dir}/${name}`, JSON.stringify(result.data, null, 2));
      } catch (err) {
        error = errorText(err);
      }
    }
    if (error) errorList.push([name, error]);
    this.logFile('export_data_file', 'data_file_info', result.id, name, error);
    return error ? 'failed' : 'success';
  }

  /** Files written once, after every item (a dataset's index, a README); default none. */
  additionalFileSaving(_pathRoot: string): void | Promise<void> {}

  // Helpers -------------------------------------------------------------------------------

  /** The item's original file name: `file_name_original`, else the URL's last segment, else its id. */
  originalName(result: ExportItem): string {
    const files = result.files;
    const given = files?.file_name_original ?? files?.filename ?? files?.name;
    if (typeof given === 'string' && given !== '') return given;
    if (typeof files?.url === 'string') {
      try {
        const last = decodeURIComponent(new URL(files.url).pathname.split('/').pop() ?? '');
        if (last) return last;
      } catch {}
    }
    return String(result.id);
  }

  /**
   * `name`, or `<stem>_<id><ext>` when an earlier item of this run took it: two data units with one
   * file name must not overwrite each other's files in silence.
   */
  uniqueName(kind: 'data' | 'original', name: string, id: number): string {
    const used = this.#usedNames[kind];
    let unique = name;
    if (used.has(unique)) {
      const stem = fileStemOf(name);
      unique = `${stem}_${id}${name.slice(stem.length)}`;
    }
    used.add(unique);
    return unique;
  }

  /** Writes a file under `pathRoot` in the storage. */
  write(path: string, data: Parameters<NonNullable<ExportContext['storage']>['write']>[1]): Promise<void> {
    return this.ctx.storage!.write(storagePath(`${this.pathRoot}/${path}`, this.ctx.storage!.label), data);
  }

  logFile(event: string, infoKey: string, targetId: number, fileName: string, error: string): void {
    this.ctx.log(event, {
      target_id: targetId,
      [infoKey]: JSON.stringify({ file_name: fileName }),
      status: error ? 'failed' : 'success',
      error,
      created: formatCreated(new Date()),
    });
  }

  // The run -------------------------------------------------------------------------------

  /** Exports every item, then writes the additional files and the error list. */
  async export(): Promise<ExportSummary> {
    await this.exportItemsLoop();
    await this.finish();
    return this.summary();
  }

  summary(): ExportSummary {
    return {
      exported_count: this.#exported,
      failed_count: this.#seen - this.#exported,
      total_count: this.#seen,
    };
  }

  /**
   * The loop: conversion in listing order (a format numbering its images numbers them the same
   * every run), saving `concurrency` items at a time, the listing read a page ahead at most.
   */
  async exportItemsLoop(): Promise<void> {
    const saveOriginals = this.params.save_original_file;
    const expected = Math.max(this.ctx.count, 1);
    this.dataMetrics.stand_by = this.ctx.count;
    this.originalMetrics.stand_by = saveOriginals ? this.ctx.count : 0;
    this.#reportMetrics();
    this.ctx.setProgress(0, expected, EXPORT_PROGRESS_CATEGORY);
    const cap = Math.max(1, this.options.concurrency ?? DEFAULT_EXPORT_CONCURRENCY);
    const limit = new AdaptiveLimit({ max: cap, initial: Math.min(4, cap) });
    const inFlight = new Set<Promise<void>>();
    let fatal: unknown = null;
    try {
      for await (const item of readAhead(this.exportItems, READ_AHEAD_ITEMS)) {
        if (this.ctx.signal.aborted || fatal !== null) break;
        this.#seen++;
        const converted = await this.#convert(item);
        await limit.acquire();
        const started = performance.now();
        const saving: Promise<void> = this.#save(item, converted, saveOriginals)
          .then(
            () => limit.release(performance.now() - started, 'ok'),
            (err) => {
              limit.release(performance.now() - started, isOverload(err) ? 'overload' : 'error');
              fatal ??= err;
            },
          )
          .finally(() => inFlight.delete(saving));
        inFlight.add(saving);
      }
    } finally {
      await Promise.all(inFlight);
      this.#pool?.close();
      this.#pool = null;
    }
    // Only a hook that throws outside the per-item handling (a storage gone, a bug) gets here.
    if (fatal !== null) throw fatal;
  }

  /** The item's conversion; a hook that throws makes it an item whose data file failed. */
  async #convert(item: ExportItem): Promise<ExportItem | ConversionFailed> {
    try {
      return await this.afterConvert(await this.convertData(await this.beforeConvert(item)));
    } catch (err) {
      return new ConversionFailed(errorText(err));
    }
  }

  async #save(
    item: ExportItem,
    converted: ExportItem | ConversionFailed,
    saveOriginals: boolean,
  ): Promise<void> {
    let ok: boolean;
    const failed = converted instanceof ConversionFailed;
    if (failed) {
      const name = this.uniqueName('data', `${fileStemOf(this.originalName(item))}.json`, item.id);
      this.errors.json_file_name.push([name, converted.message]);
      this.logFile('export_data_file', 'data_file_info', item.id, name, converted.message);
      ok = false;
    } else {
      ok = (await this.saveAsJson(converted, this.jsonDir, this.errors.json_file_name)) === 'success';
    }
    this.#count(this.dataMetrics, ok);
    if (saveOriginals) {
      const original = await this.saveOriginalFile(
        failed ? item : converted,
        this.originDir,
        this.errors.origin_file_name,
      );
      this.#count(this.originalMetrics, original === 'success');
      ok &&= original === 'success';
    }
    if (ok) this.#exported++;
    // The platform's count may lag the listing (records added meanwhile): progress never passes 100%.
    const done = this.dataMetrics.success + this.dataMetrics.failed;
    this.ctx.setProgress(done, Math.max(this.ctx.count, done), EXPORT_PROGRESS_CATEGORY);
    this.#reportMetrics();
  }

  #count(metrics: ExportCounts, ok: boolean): void {
    if (ok) metrics.success++;
    else metrics.failed++;
    metrics.stand_by = Math.max(0, metrics.stand_by - 1);
  }

  #reportMetrics(): void {
    this.ctx.setMetrics({ ...this.dataMetrics }, DATA_FILE_METRICS);
    if (this.params.save_original_file)
      this.ctx.setMetrics({ ...this.originalMetrics }, ORIGINAL_FILE_METRICS);
  }

  /**
   * After a failure or a stop: ends what the export left open, so no half-written file stays
   * (files already written stay: the folder is the run's own). Default nothing.
   */
  async abort(): Promise<void> {}

  /** After the loop: the additional files, then `error_file_list.json` when anything failed. */
  async finish(): Promise<void> {
    await this.additionalFileSaving(this.pathRoot);
    const { json_file_name, origin_file_name } = this.errors;
    if (json_file_name.length > 0 || origin_file_name.length > 0) {
      await this.write(ERROR_FILE_LIST, JSON.stringify(this.errors, null, 4));
    }
  }
}
