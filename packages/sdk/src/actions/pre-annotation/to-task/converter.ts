/**
 * The converter API (to-task.md §11) and the default file converter (§4 item 7, README D11):
 * download the target JSON over HTTP(S) with a timeout and a size limit, check it, return it.
 */
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

function networkDetail(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'request timed out';
  if (err instanceof Error && err.name === 'AbortError') return 'request aborted';
  const cause =
    err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (cause?.code) return `${message} (${cause.code})`;
  return message;
}

/** GETs `url` (no auth headers, redirects followed) and returns at most `maxBytes` of body. */
async function downloadText(url: string, timeoutSeconds: number, maxBytes: number): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConversionFailure(`${DOWNLOAD}: invalid URL`, 'DATA_DOWNLOAD_FAILED');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    const scheme = parsed.protocol.replace(/:$/, '');
    throw new ConversionFailure(`${DOWNLOAD}: unsupported URL scheme '${scheme}'`, 'DATA_DOWNLOAD_FAILED');
  }
  // No credentials are sent: the file is fetched as is, without auth (D11).
  parsed.username = '';
  parsed.password = '';
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  const tooLarge = () =>
    new ConversionFailure(
      `${DOWNLOAD}: file exceeds the size limit of ${maxBytes} bytes`,
      'DATA_DOWNLOAD_FAILED',
    );
  try {
    const res = await fetch(parsed, { redirect: 'follow', signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new ConversionFailure(`${DOWNLOAD}: HTTP ${res.status}`, 'DATA_DOWNLOAD_FAILED');
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > maxBytes) throw tooLarge();
        chunks.push(chunk);
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof ConversionFailure) throw err;
    throw new ConversionFailure(`${DOWNLOAD}: ${networkDetail(err)}`, 'DATA_DOWNLOAD_FAILED');
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the task-object format (seed: `objects` with `id`, `class_id`, `type`, `coordinates`, `properties`). */
export function checkTaskObjectFormat(data: Record<string, unknown>): string | null {
  if (!('objects' in data)) return null;
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
}

/** The stock converter: downloads and checks the target JSON; inference data passes through. */
export class DefaultToTaskConverter implements ToTaskConverter {
  context?: ToTaskContext;
  readonly downloadTimeoutSeconds: number;
  readonly maxDownloadBytes: number;

  constructor(options: DefaultConverterOptions = {}) {
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
    return parseAnnotationJson(
      await downloadText(dataUrl, this.downloadTimeoutSeconds, this.maxDownloadBytes),
    );
  }

  convertDataFromInference(data: unknown, _task: object): object {
    return data as object;
  }
}
