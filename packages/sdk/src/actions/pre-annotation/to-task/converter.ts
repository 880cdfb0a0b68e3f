/**
 * The converter API (to-task.md §11) and the default file converter (§4 item 7, README D11):
 * download the target JSON through the safe download (allowed origins only, #11 item 5) with a
 * timeout and a size limit, check it, return it.
 */
import { isObject } from 'synapse-core';
import {
  type DownloadPool,
  type HostRule,
  SafeFetchError,
  safeDownload,
} from '../../../clients/safe-fetch/index.ts';
import type { ToTaskContext } from './context.ts';

export interface ToTaskConverter {
  /** Set by the action before use. */
  context?: ToTaskContext;
  convertDataFromFile(
    primaryUrl: string,
    primaryName: string,
    dataUrl: string,
    dataName: string,
    task: object,
  ): Promise<object> | object;
  convertDataFromInference(data: unknown, task: object): Promise<object> | object;
}

export const DEFAULT_DOWNLOAD_TIMEOUT_SECONDS = 30;
export const DEFAULT_MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024;

/** A per-task failure of the default converter: its message is the task's error as is. */
export class ConversionFailure extends Error {
  constructor(
    message: string,
    readonly event: 'DATA_DOWNLOAD_FAILED' | 'JSON_DECODE_FAILED',
  ) {
    super(message);
    this.name = 'ConversionFailure';
  }
}

const DOWNLOAD = 'Failed to download JSON from URL';
const INVALID = 'Invalid JSON format in annotation file';

/**
 * GETs `url` through the safe download (no auth headers; only allowed origins, every redirect hop
 * re-checked, internal addresses refused) and returns the body as text.
 */
async function downloadText(
  url: string,
  rules: readonly HostRule[],
  timeoutSeconds: number,
  maxBytes: number,
  pool: DownloadPool | undefined,
): Promise<string> {
  try {
    const { body } = await safeDownload(url, { rules, maxBytes, timeoutMs: timeoutSeconds * 1000, pool });
    return body.toString('utf8');
  } catch (err) {
    if (err instanceof SafeFetchError) {
      throw new ConversionFailure(`${DOWNLOAD}: ${err.message}`, 'DATA_DOWNLOAD_FAILED');
    }
    throw err;
  }
}

/** Checks the task-object format (seed: `objects` with `id`, `class_id`, `type`, `coordinates`, `properties`). */
export function checkTaskObjectFormat(data: Record<string, unknown>): string | null {
  if (!('objects' in data)) return 'no \'objects\' list (expected {"objects": [...]})';
  const { objects } = data;
  if (!Array.isArray(objects)) return "'objects' must be a list";
  for (const [i, item] of objects.entries()) {
    if (!isObject(item)) return `objects[${i}] must be an object`;
    for (const key of ['id', 'class_id', 'type', 'coordinates']) {
      if (item[key] === undefined || item[key] === null) return `objects[${i}] is missing '${key}'`;
    }
    if (typeof item.type !== 'string') return `objects[${i}].type must be a string`;
    if (typeof item.coordinates !== 'object') return `objects[${i}].coordinates must be an object or a list`;
    if (item.properties !== undefined && item.properties !== null && !isObject(item.properties)) {
      return `objects[${i}].properties must be an object`;
    }
  }
  return null;
}

/** Parses annotation JSON text: an object in the task-object format. */
function parseAnnotationJson(text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConversionFailure(`${INVALID}: ${(err as Error).message}`, 'JSON_DECODE_FAILED');
  }
  if (!isObject(data))
    throw new ConversionFailure(`${INVALID}: expected a JSON object`, 'JSON_DECODE_FAILED');
  const problem = checkTaskObjectFormat(data);
  if (problem) throw new ConversionFailure(`${INVALID}: ${problem}`, 'JSON_DECODE_FAILED');
  return data;
}

export interface DefaultConverterOptions {
  downloadTimeoutSeconds?: number;
  maxDownloadBytes?: number;
  /**
   * Origins the converter may download from when it runs without a ToTask context (standalone);
   * inside a run, the run's rules apply (the backend's origin and the allowed hosts).
   */
  allowedHosts?: readonly HostRule[];
}

/** The stock converter: downloads and checks the target JSON; inference data passes through. */
export class DefaultToTaskConverter implements ToTaskConverter {
  context?: ToTaskContext;
  readonly downloadTimeoutSeconds: number;
  readonly maxDownloadBytes: number;
  readonly allowedHosts: readonly HostRule[];

  constructor(options: DefaultConverterOptions = {}) {
    this.allowedHosts = options.allowedHosts ?? [];
    this.downloadTimeoutSeconds = options.downloadTimeoutSeconds ?? DEFAULT_DOWNLOAD_TIMEOUT_SECONDS;
    this.maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  }

  async convertDataFromFile(
    _primaryUrl: string,
    _primaryName: string,
    dataUrl: string,
    _dataName: string,
    _task: object,
  ): Promise<object> {
    const rules = this.context?.downloadRules ?? this.allowedHosts;
    return parseAnnotationJson(
      await downloadText(
        dataUrl,
        rules,
        this.downloadTimeoutSeconds,
        this.maxDownloadBytes,
        this.context?.downloadPool ?? undefined,
      ),
    );
  }

  convertDataFromInference(data: unknown, _task: object): object {
    return data as object;
  }
}
