/**
 * Chunked upload (client.md §7, backend-api.md §7): the file is read from disk one chunk at a
 * time, each chunk sent with its Content-Range, and the upload finalised with the MD5 of the
 * whole file, hashed on the way so the file is read once.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { FileNotFoundError } from './errors.ts';
import type { BaseClient } from './http.ts';

export const DEFAULT_CHUNK_SIZE = 52_428_800;

const HASH_SLICE = 1024 * 1024;

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
    // The next chunk is read and hashed while the current one is on the wire, so disk, hashing
    // and the server's work overlap. Two buffers, reused in turn: memory stays at two chunks.
    const size = Math.min(chunkSize, total);
    const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(total > size ? size : 0)];
    let turn = 0;
    const prepare = async (start: number) => {
      const buffer = buffers[turn++ % 2].subarray(0, Math.min(chunkSize, total - start));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      if (bytesRead !== buffer.length) throw new Error(`File changed during upload: ${filePath}`);
      // Hashed a slice at a time, yielding between slices: one 50 MiB update would block the
      // event loop for ~100 ms while the current chunk is on the wire, and the server would sit
      // idle once the socket buffer drained.
      for (let at = 0; at < buffer.length; at += HASH_SLICE) {
        md5.update(buffer.subarray(at, at + HASH_SLICE));
        await setImmediate();
      }
      return buffer;
    };
    let start = 0;
    let next = prepare(0);
    while (start < total) {
      const chunk = await next;
      const end = start + chunk.length - 1;
      if (end + 1 < total) {
        next = prepare(end + 1);
        next.catch(() => {}); // awaited next turn; a failed PUT must not leave it unhandled
      }
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
