/**
 * `urlConversion` (client.md §6): rewrite file URLs in responses with a function per field, or
 * download them to a local cache and replace them with paths.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fetch } from 'undici';
import { AdaptiveLimit } from './adaptive-limit.ts';
import { stripQuery } from './url.ts';

export type UrlConverter = (url: string) => string | Promise<string>;

/** Form (a): a converter per dot-notation field path. */
export type UrlFunctionMap = Record<string, UrlConverter>;

/** Form (b): download the files of these fields and replace each `url` by a local `path`. */
export interface UrlDownloadConfig {
  filesFields?: string[];
  files_fields?: string[];
  isList?: boolean;
  is_list?: boolean;
  downloadDir?: string;
}

export type UrlConversion = UrlFunctionMap | UrlDownloadConfig;

const DOWNLOAD_TIMEOUT_MS = 30_000;
const MAX_PARALLEL_DOWNLOADS = 8;

const MIME_EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/bmp': '.bmp',
  'image/tiff': '.tiff',
  'application/json': '.json',
  'text/plain': '.txt',
  'text/csv': '.csv',
  'application/zip': '.zip',
  'application/pdf': '.pdf',
};

function isDownloadConfig(c: UrlConversion): c is UrlDownloadConfig {
  return 'filesFields' in c || 'files_fields' in c;
}

/**
 * Downloads `url` (or decodes a data URI) into `dir`, named by the MD5 of the URL; cached. The
 * conversion of one response passes its `limit`, shared by all its downloads.
 */
export async function downloadToCache(url: string, dir: string, limit?: AdaptiveLimit): Promise<string> {
  await mkdir(dir, { recursive: true });
  const dataUri = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  if (dataUri) {
    const ext = MIME_EXTENSIONS[dataUri[1] ?? ''] ?? '';
    const path = join(dir, createHash('md5').update(url).digest('hex') + ext);
    const bytes = dataUri[2]
      ? Buffer.from(dataUri[3], 'base64')
      : Buffer.from(decodeURIComponent(dataUri[3]));
    await writeFile(path, bytes);
    return path;
  }
  const bare = stripQuery(url);
  const path = join(dir, createHash('md5').update(bare).digest('hex') + extname(new URL(bare).pathname));
  const cached = await stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
  if (cached) return path;
  // The same file is often asked for several times at once (event files mirror their data unit's).
  let download = downloads.get(path);
  if (!download) {
    const fetching = limit ? limit.run(() => fetchTo(url, path)) : fetchTo(url, path);
    download = fetching.finally(() => downloads.delete(path));
    downloads.set(path, download);
  }
  return download;
}

const downloads = new Map<string, Promise<string>>();

async function fetchTo(url: string, path: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (!response.ok || !response.body) {
    // The path of the URL names the file; its host and query (signatures) stay out of messages.
    throw Object.assign(new Error(`Download failed with HTTP ${response.status}: ${new URL(url).pathname}`), {
      status: response.status,
    });
  }
  const partial = `${path}.${randomUUID()}.part`;
  try {
    await pipeline(Readable.fromWeb(response.body as any), createWriteStream(partial));
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return path;
}

type Convert = (value: Record<string, unknown> | string) => Promise<unknown>;

async function convertValue(value: unknown, convert: Convert): Promise<unknown> {
  if (typeof value === 'string') return convert(value);
  if (Array.isArray(value)) return Promise.all(value.map((v) => convertValue(v, convert)));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.url === 'string') return convert(obj);
    const out: Record<string, unknown> = {};
    await Promise.all(
      Object.entries(obj).map(async ([k, v]) => {
        out[k] = typeof v === 'string' || (v && typeof v === 'object') ? await convertValue(v, convert) : v;
      }),
    );
    return out;
  }
  return value;
}

async function convertField(target: any, path: string, convert: Convert): Promise<void> {
  const keys = path.split('.');
  const last = keys.pop()!;
  let node = target;
  for (const key of keys) {
    if (!node || typeof node !== 'object') return;
    node = node[key];
  }
  if (!node || typeof node !== 'object' || !(last in node) || node[last] == null) return;
  node[last] = await convertValue(node[last], convert);
}

function converters(conversion: UrlConversion): Array<[string, Convert]> {
  if (isDownloadConfig(conversion)) {
    const dir = conversion.downloadDir ?? join(tmpdir(), 'datamaker', 'media');
    // One limit per conversion (a response, a page): at most MAX_PARALLEL_DOWNLOADS at once,
    // fewer while the file server is slow or says it is overloaded.
    const limit = new AdaptiveLimit({ max: MAX_PARALLEL_DOWNLOADS });
    const convert: Convert = async (value) => {
      if (typeof value === 'string') return downloadToCache(value, dir, limit);
      const { url, ...rest } = value;
      return { ...rest, path: await downloadToCache(url as string, dir, limit) };
    };
    const fields = conversion.filesFields ?? conversion.files_fields ?? [];
    return fields.map((field) => [field, convert]);
  }
  return Object.entries(conversion).map(([field, fn]): [string, Convert] => [
    field,
    async (value) =>
      typeof value === 'string' ? fn(value) : { ...value, url: await fn(value.url as string) },
  ]);
}

/**
 * Applies a conversion in place to a detail object, or to each item of a list. With no conversion
 * (the default) the data is returned untouched.
 */
export async function applyUrlConversion<T>(
  data: T,
  conversion: UrlConversion | undefined,
  isList: boolean,
): Promise<T> {
  if (!conversion || data == null) return data;
  const list = isDownloadConfig(conversion) ? (conversion.isList ?? conversion.is_list ?? isList) : isList;
  const targets = list && Array.isArray(data) ? data : [data];
  const fields = converters(conversion);
  await Promise.all(targets.map((t) => Promise.all(fields.map(([f, c]) => convertField(t, f, c)))));
  return data;
}
