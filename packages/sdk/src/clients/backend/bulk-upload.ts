/**
 * Bulk upload through presigned URLs (client.md §8.7): the server hands out a URL per file (or
 * per part of a large one), the bytes go straight to storage, and a confirm call turns them into
 * data files. Each file is read once, streamed: its SHA-1 is computed as its parts go out.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { FileNotFoundError } from '../errors.ts';
import { limiter } from '../url-conversion.ts';
import { positiveInteger } from './data-collection.ts';
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

/** A part's bytes, added to the file's hash on the way; a file that shrank is an error. */
async function* hashing(source: AsyncIterable<Buffer>, hash: Hash, length: number): AsyncGenerator<Buffer> {
  let read = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    read += chunk.length;
    yield chunk;
  }
  if (read !== length) throw new Error('File changed during upload');
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
  if (response.statusCode >= 300) throw new Error(`Upload failed with HTTP ${response.statusCode}`);
  return String(response.headers.etag ?? '');
}

/** Streams a file to its URL (or its parts, in order, to theirs) and returns what confirms it. */
async function uploadFile(path: string, size: number, target: PresignedFile): Promise<ConfirmFile> {
  const multipart = target.multipart;
  const parts = multipart
    ? [...multipart.parts].sort((a, b) => a.part_number - b.part_number)
    : [{ part_number: 1, presigned_url: target.presigned_url! }];
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
  if ((await stat(path)).size !== size) throw new Error('File changed during upload');
  const confirm: ConfirmFile = { file_key: target.file_key, checksum: sha1.digest('hex'), size };
  if (multipart) confirm.multipart = { upload_id: multipart.upload_id, parts: etags };
  return confirm;
}

export const bulkUploadMethods: BulkUploadClientMixin & ThisType<BackendClient> = {
  async uploadFilesBulk(paths, opts = {}) {
    const batchSize = positiveInteger('batchSize', opts.batchSize ?? 100);
    const slot = limiter(positiveInteger('maxWorkers', opts.maxWorkers ?? 8));
    const expiration = positiveInteger('urlExpiration', opts.urlExpiration ?? 3600);
    // Every path is checked before the first upload: a typo must not leave half a bulk behind.
    const sizes = await Promise.all(
      paths.map(async (path) => {
        const info = await stat(path).catch(() => null);
        if (!info?.isFile()) throw new FileNotFoundError(`File not found: ${path}`);
        return info.size;
      }),
    );
    const results: BulkUploadFileResult[] = [];
    let done = 0;
    for (let start = 0; start < paths.length; start += batchSize) {
      const batch = paths.slice(start, start + batchSize);
      const { files } = await this.post<{ files: PresignedFile[] }>('data_files/presigned_upload/upload/', {
        data: {
          files: batch.map((path, i) => ({
            filename: basename(path),
            size: sizes[start + i],
            content_type: CONTENT_TYPE,
          })),
          expiration,
        },
      });
      if (files?.length !== batch.length)
        throw new Error('Presigned upload answered the wrong number of files');
      // A file that fails to upload is reported failed; the others go on to be confirmed.
      const uploads = await Promise.all(
        batch.map((path, i) =>
          slot(async (): Promise<ConfirmFile | BulkUploadFileResult> => {
            try {
              return await uploadFile(path, sizes[start + i], files[i]);
            } catch (err) {
              return {
                file_key: files[i].file_key,
                checksum: '',
                success: false,
                error: (err as Error).message,
              };
            } finally {
              opts.onProgress?.(++done, paths.length);
            }
          }),
        ),
      );
      const toConfirm = uploads.filter((u): u is ConfirmFile => !('success' in u));
      const confirmed =
        toConfirm.length === 0
          ? { results: [] }
          : await this.post<BulkUploadResult>('data_files/presigned_upload/confirm_upload/', {
              data: { files: toConfirm },
            });
      const byKey = new Map(confirmed.results.map((r) => [r.file_key, r]));
      for (const u of uploads) {
        if ('success' in u) results.push(u);
        else
          results.push(
            byKey.get(u.file_key) ?? {
              file_key: u.file_key,
              checksum: u.checksum,
              success: false,
              error: 'The server did not confirm the file',
            },
          );
      }
    }
    const created = results.filter((r) => r.success).length;
    return { results, created_count: created, failed_count: results.length - created };
  },
};
