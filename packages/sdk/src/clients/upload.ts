/**
 * Chunked upload (client.md §7, backend-api.md §7): the file is read from disk one chunk at a
 * time, each chunk sent with its Content-Range, and the upload finalised with the MD5 of the
 * whole file, hashed on the way so the file is read once.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileNotFoundError } from './errors.ts';
import type { BaseClient } from './http.ts';

export const DEFAULT_CHUNK_SIZE = 52_428_800;

export interface ChunkedUploadOptions {
  chunkSize?: number;
  onProgress?: (offset: number, total: number) => void;
  signal?: AbortSignal;
}

export interface ChunkedUploadResult {
  id: string | number;
  file: string;
  checksum: string;
  size: number;
}

interface ChunkResponse {
  id: string | number;
  url: string;
  offset: number;
}

export async function createChunkedUpload(
  client: BaseClient,
  filePath: string,
  opts: ChunkedUploadOptions = {},
): Promise<ChunkedUploadResult> {
  const info = await stat(filePath).catch(() => null);
  if (!info?.isFile()) throw new FileNotFoundError(`File not found: ${filePath}`);
  const total = info.size;
  if (total === 0) throw new Error(`Cannot chunk-upload an empty file: ${filePath}`);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const filename = basename(filePath);
  const md5 = createHash('md5');
  const handle = await open(filePath, 'r');
  let url = 'chunked_upload/';
  try {
    // Read the next chunk while the current one is on the wire: disk and network overlap,
    // and at most two chunks are in memory.
    const read = async (start: number) => {
      const buffer = Buffer.allocUnsafe(Math.min(chunkSize, total - start));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    };
    let start = 0;
    let next = read(0);
    while (start < total) {
      const chunk = await next;
      if (chunk.length === 0) throw new Error(`File changed during upload: ${filePath}`);
      md5.update(chunk);
      const end = start + chunk.length - 1;
      next = end + 1 < total ? read(end + 1) : Promise.resolve(Buffer.alloc(0));
      const response = await client.put<ChunkResponse>(url, {
        data: { filename },
        files: { file: { data: chunk, filename: 'chunk' } },
        headers: { 'Content-Range': `bytes ${start}-${end}/${total}` },
        signal: opts.signal,
      });
      url = response.url;
      start = response.offset;
      if (start !== end + 1)
        throw new Error(`Upload out of sync: server offset ${start}, expected ${end + 1}`);
      opts.onProgress?.(start, total);
    }
    return await client.post<ChunkedUploadResult>(url, {
      data: { md5: md5.digest('hex') },
      signal: opts.signal,
    });
  } finally {
    await handle.close();
  }
}
