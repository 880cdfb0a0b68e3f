/**
 * Bulk upload through presigned URLs (client.md §8.7): the server hands out a URL per file (or
 * per part of a large one), the bytes go straight to storage, and a confirm call turns them into
 * data files. Each file is read once, streamed: its SHA-1 is computed as its parts go out.
 * A failure is reported per file, never thrown for the whole call: a batch whose presign or
 * confirm request fails marks its own files failed, and the other batches go on.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { AdaptiveLimit } from '../adaptive-limit.ts';
import { positiveInteger } from '../concurrency.ts';
import { ClientError, FileNotFoundError } from '../errors.ts';
import type { BackendClient } from './index.ts';

export interface BulkUploadOptions {
  /** Files per presign-and-confirm round; default 100. */
  batchSize?: number;
  /** Files uploading at once; default 8. */
  maxWorkers?: number;
  /** Seconds the presigned URLs stay valid; default 3600. */
  urlExpiration?: number;
  /** Called as each file's bytes are uploaded (or fail to be). */
  onProgress?: (done: number, total: number) => void;
}

export interface BulkUploadFileResult {
  /** Empty when the server gave the file no key (its batch's presign request failed). */
  file_key: string;
  /** SHA-1 hex of the file; empty when it failed before it could be confirmed. */
  checksum: string;
  success: boolean;
  error: string | null;
  data_file_id?: number;
  [key: string]: unknown;
}

export interface BulkUploadResult {
  /** One per path, in the order given. */
  results: BulkUploadFileResult[];
  created_count: number;
  failed_count: number;
}

export interface BulkUploadClientMixin {
  /** Uploads local files as data files through presigned URLs, batch by batch. */
  uploadFilesBulk(paths: string[], opts?: BulkUploadOptions): Promise<BulkUploadResult>;
}

interface PresignedFile {
  file_key: string;
  presigned_url?: string;
  multipart?: {
    upload_id: string;
    part_size: number;
    parts: Array<{ part_number: number; presigned_url: string }>;
  };
}

interface ConfirmFile {
  file_key: string;
  checksum: string;
  size: number;
  multipart?: { upload_id: string; parts: Array<{ part_number: number; etag: string }> };
}

/** Declared when asking for URLs and sent with the bytes: a URL signed for a type must get it. */
const CONTENT_TYPE = 'application/octet-stream';

/** A failure this module describes itself: its message is safe to report as is. */
class UploadError extends Error {
  /** The storage's HTTP status, when it answered one (an adaptive limit reads 503s as overload). */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A file's error message. The module's own and the client's are reported as they are, a file
 * system error with its (local) path; any other error (the PUT's network failures, whose messages
 * can carry the presigned URL or its host) by its code or name only.
 */
function failureText(err: unknown): string {
  if (err instanceof UploadError || err instanceof ClientError) return err.message;
  const e = (err ?? {}) as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    path?: unknown;
    syscall?: unknown;
  };
  if (typeof e.path === 'string' && typeof e.syscall === 'string' && typeof e.message === 'string')
    return e.message;
  return String(e.code ?? e.name ?? 'Error');
}

function failed(fileKey: string, checksum: string, error: string): BulkUploadFileResult {
  return { file_key: fileKey, checksum, success: false, error };
}

/** A part's bytes, added to the file's hash on the way; a file that shrank is an error. */
async function* hashing(source: AsyncIterable<Buffer>, hash: Hash, length: number): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    read += chunk.length;
    yield chunk;
  }
  if (read !== length) throw new UploadError('File changed during upload');
}

/** PUTs one part and answers its ETag. The URL carries its own authorization: no client headers. */
async function putPart(url: string, body: AsyncIterable<Buffer>, length: number): Promise<string> {
  const response = await request(url, {
    method: 'PUT',
    body: Readable.from(body),
    headers: { 'content-type': CONTENT_TYPE, 'content-length': String(length) },
  });
  await response.body.dump();
  // The URL holds a signature: it stays out of the message.
  if (response.statusCode >= 300)
    throw new UploadError(`Upload failed with HTTP ${response.statusCode}`, response.statusCode);
  return String(response.headers.etag ?? '');
}

/** The URLs to PUT the file to, in order, after checking the server's answer fits its size. */
function targetParts(
  size: number,
  target: PresignedFile,
): Array<{ part_number: number; presigned_url: string }> {
  if (typeof target?.file_key !== 'string') throw new UploadError('Presigned upload answered no file_key');
  const multipart = target.multipart;
  if (!multipart) {
    if (typeof target.presigned_url !== 'string') throw new UploadError('Presigned upload answered no URL');
    return [{ part_number: 1, presigned_url: target.presigned_url }];
  }
  const { part_size: partSize, parts } = multipart;
  if (!Number.isInteger(partSize) || partSize < 1 || !Array.isArray(parts))
    throw new UploadError('Presigned upload answered an invalid multipart upload');
  // Each part but the last is exactly `part_size`: any other count would upload other bytes.
  const expected = Math.ceil(size / partSize);
  if (parts.length !== expected)
    throw new UploadError(
      `Presigned upload answered ${parts.length} of the ${expected} parts the file needs`,
    );
  const sorted = [...parts].sort((a, b) => a.part_number - b.part_number);
  if (sorted.some((p, i) => p.part_number !== i + 1 || typeof p.presigned_url !== 'string'))
    throw new UploadError('Presigned upload answered invalid parts');
  return sorted;
}

/** Streams a file to its URL (or its parts, in order, to theirs) and returns what confirms it. */
async function uploadFile(path: string, size: number, target: PresignedFile): Promise<ConfirmFile> {
  const parts = targetParts(size, target);
  const multipart = target.multipart;
  const partSize = multipart?.part_size ?? size;
  const sha1 = createHash('sha1');
  const etags: Array<{ part_number: number; etag: string }> = [];
  for (const [i, part] of parts.entries()) {
    const start = i * partSize;
    const length = Math.min(partSize, size - start);
    const source = createReadStream(path, { start, end: start + length - 1, highWaterMark: 1024 * 1024 });
    const etag = await putPart(part.presigned_url, hashing(source, sha1, length), length);
    etags.push({ part_number: part.part_number, etag });
  }
  // A file that grew was uploaded only up to its presigned size: not the file it now is.
  if ((await stat(path)).size !== size) throw new UploadError('File changed during upload');
  const confirm: ConfirmFile = { file_key: target.file_key, checksum: sha1.digest('hex'), size };
  if (multipart) confirm.multipart = { upload_id: multipart.upload_id, parts: etags };
  return confirm;
}

interface BatchContext {
  client: BackendClient;
  limit: AdaptiveLimit;
  expiration: number;
  /** Counts one more file done (uploaded or failed). */
  progress: () => void;
}

/** One presign-upload-confirm round; every failure, the requests' included, is its files' result. */
async function uploadBatch(
  ctx: BatchContext,
  paths: string[],
  sizes: number[],
): Promise<BulkUploadFileResult[]> {
  let files: PresignedFile[];
  try {
    const answer = await ctx.client.post<{ files?: PresignedFile[] }>('data_files/presigned_upload/upload/', {
      data: {
        files: paths.map((path, i) => ({
          filename: basename(path),
          size: sizes[i],
          content_type: CONTENT_TYPE,
        })),
        expiration: ctx.expiration,
      },
    });
    if (!Array.isArray(answer?.files) || answer.files.length !== paths.length)
      throw new UploadError('Presigned upload answered the wrong number of files');
    files = answer.files;
  } catch (err) {
    const error = failureText(err);
    return paths.map(() => {
      ctx.progress();
      return failed('', '', error);
    });
  }
  // A file that fails to upload is reported failed; the others go on to be confirmed.
  const uploads = await Promise.all(
    paths.map((path, i) =>
      ctx.limit
        .run(() => uploadFile(path, sizes[i], files[i]))
        .catch((err: unknown): BulkUploadFileResult => {
          const key = files[i]?.file_key;
          return failed(typeof key === 'string' ? key : '', '', failureText(err));
        })
        .finally(ctx.progress),
    ),
  );
  const toConfirm = uploads.filter((u): u is ConfirmFile => !('success' in u));
  let byKey = new Map<string, BulkUploadFileResult>();
  let confirmError = 'The server did not confirm the file';
  if (toConfirm.length > 0) {
    try {
      const confirmed = await ctx.client.post<{ results?: BulkUploadFileResult[] }>(
        'data_files/presigned_upload/confirm_upload/',
        { data: { files: toConfirm } },
      );
      byKey = new Map((confirmed?.results ?? []).map((r) => [r.file_key, r]));
    } catch (err) {
      confirmError = failureText(err);
    }
  }
  return uploads.map((u) =>
    'success' in u ? u : (byKey.get(u.file_key) ?? failed(u.file_key, u.checksum, confirmError)),
  );
}

export const bulkUploadMethods: BulkUploadClientMixin & ThisType<BackendClient> = {
  async uploadFilesBulk(paths, opts = {}) {
    const batchSize = positiveInteger('batchSize', opts.batchSize ?? 100);
    // At most `maxWorkers` files at once, fewer while the storage is slow or says it is overloaded.
    const limit = new AdaptiveLimit({ max: positiveInteger('maxWorkers', opts.maxWorkers ?? 8) });
    const expiration = positiveInteger('urlExpiration', opts.urlExpiration ?? 3600);
    // Every path is checked before the first upload: a typo must not leave half a bulk behind. An
    // empty file is refused as every other upload refuses it (a data file has bytes, client.md §7).
    const infos = await Promise.all(paths.map((path) => stat(path).catch(() => null)));
    const sizes = infos.map((info, i) => {
      if (!info?.isFile()) throw new FileNotFoundError(`File not found: ${paths[i]}`);
      if (info.size === 0) throw new Error(`Cannot upload an empty file: ${paths[i]}`);
      return info.size;
    });
    let done = 0;
    const ctx: BatchContext = {
      client: this.reportingLoad(limit.overloaded),
      limit,
      expiration,
      progress: () => opts.onProgress?.(++done, paths.length),
    };
    const results: BulkUploadFileResult[] = [];
    for (let start = 0; start < paths.length; start += batchSize) {
      const end = start + batchSize;
      for (const r of await uploadBatch(ctx, paths.slice(start, end), sizes.slice(start, end)))
        results.push(r);
    }
    const created = results.filter((r) => r.success).length;
    return { results, created_count: created, failed_count: results.length - created };
  },
};
