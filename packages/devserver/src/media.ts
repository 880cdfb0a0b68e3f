/**
 * Files on disk under the data directory: data files, model archives, plugin archives, chunked
 * upload parts, log attachments. Documents store `media/<path>`; responses show absolute URLs.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const MEDIA_PREFIX = 'media/';

export class MediaStore {
  constructor(readonly root: string) {}

  /** Absolute path of a media-relative path; null when it would escape the root. */
  resolve(relative: string): string | null {
    const path = normalize(join(this.root, relative));
    return path.startsWith(this.root + sep) ? path : null;
  }

  /** Writes a stream to `relative` atomically (a reader never sees half a file). */
  async write(relative: string, source: Readable | Buffer): Promise<{ ref: string; size: number }> {
    const path = this.resolve(relative);
    if (!path) throw new Error(`Invalid media path: ${relative}`);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.part`;
    try {
      if (Buffer.isBuffer(source)) await pipeline([source], createWriteStream(partial));
      else await pipeline(source, createWriteStream(partial));
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return { ref: MEDIA_PREFIX + relative, size: (await stat(path)).size };
  }

  /** Moves a file already on disk (e.g. an assembled chunked upload) into the store. */
  async adopt(file: string, relative: string): Promise<string> {
    const path = this.resolve(relative);
    if (!path) throw new Error(`Invalid media path: ${relative}`);
    await mkdir(dirname(path), { recursive: true });
    await rename(file, path);
    return MEDIA_PREFIX + relative;
  }

  open(relative: string) {
    const path = this.resolve(relative);
    return path ? createReadStream(path) : null;
  }

  pathOf(ref: string): string | null {
    return ref.startsWith(MEDIA_PREFIX) ? this.resolve(ref.slice(MEDIA_PREFIX.length)) : null;
  }
}

/** Replaces stored `media/...` references in `file`/`url` fields with absolute URLs. */
export function renderMediaUrls<T>(value: T, baseUrl: string): T {
  if (Array.isArray(value)) return value.map((v) => renderMediaUrls(v, baseUrl)) as T;
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      (k === 'file' || k === 'url') && typeof v === 'string' && v.startsWith(MEDIA_PREFIX)
        ? `${baseUrl}/${v}`
        : v && typeof v === 'object'
          ? renderMediaUrls(v, baseUrl)
          : v;
  }
  return out as T;
}
