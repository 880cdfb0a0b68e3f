/**
 * The model download of `BaseInferenceAction.downloadModel` (inference.md §1): the file is
 * streamed to disk under a size limit; a zip is extracted, anything else kept as the URL's
 * basename. Archives come from users, so extraction refuses escaping paths, symlinks, too many
 * entries and too many bytes before writing them, and all work happens in a hidden sibling
 * folder renamed onto the target only when everything succeeded: a failure leaves nothing.
 *
 * Memory stays bounded: the zip is read from disk in 16 KiB chunks and inflated with fflate's
 * streaming `Inflate`, so at most one chunk's output (≤ ~16.5 MiB at DEFLATE's maximum ratio of
 * 1032:1) is held at a time, plus the central directory (≤ 64 MiB).
 */
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, mkdtemp, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { Inflate } from 'fflate';
import { fetch } from 'undici';
import { stripQuery } from '../../clients/url.ts';
import { PluginError } from '../../plugins/errors.ts';

export class ModelArchiveError extends PluginError {}

export interface ArchiveLimits {
  /** Sum of the entries' uncompressed sizes. */
  maxUncompressedBytes?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface DownloadOptions extends ArchiveLimits {
  maxDownloadBytes?: number;
}

export const DEFAULT_MODEL_LIMITS = {
  maxDownloadBytes: 20 * 1024 ** 3,
  maxUncompressedBytes: 50 * 1024 ** 3,
  maxEntries: 10_000,
} as const;

const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
const READ_CHUNK = 16 * 1024;
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

/**
 * Downloads `url` and places the model in `targetDir` (absent or empty): the extracted archive,
 * or the file itself named after the URL. Returns the absolute target path.
 */
export async function downloadAndExtractModel(
  url: string,
  targetDir: string,
  options: DownloadOptions = {},
): Promise<string> {
  return intoPlace(targetDir, async (work, out) => {
    const file = join(work, 'model.zip');
    await download(url, file, options);
    if (await isZip(file)) await extractInto(file, out, options);
    else await rename(file, join(out, fileNameOf(url)));
  });
}

/** Extracts the zip at `zipPath` into `targetDir` (absent or empty), all or nothing. */
export async function extractArchive(
  zipPath: string,
  targetDir: string,
  limits: ArchiveLimits = {},
): Promise<string> {
  return intoPlace(targetDir, (_work, out) => extractInto(zipPath, out, limits));
}

/** Builds the tree in `<parent>/.<name>.partial-*` / `out`, then renames it onto the target. */
async function intoPlace(
  targetDir: string,
  build: (work: string, out: string) => Promise<void>,
): Promise<string> {
  const target = resolve(targetDir);
  await assertAbsentOrEmpty(target);
  await mkdir(dirname(target), { recursive: true });
  const work = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  try {
    const out = join(work, 'out');
    await mkdir(out);
    await build(work, out);
    await rmdir(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(out, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function assertAbsentOrEmpty(target: string): Promise<void> {
  const entries = await readdir(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw new ModelArchiveError(`Model target is not a usable directory: ${target}`, {}, { cause: e });
  });
  if (entries.length > 0) throw new ModelArchiveError(`Model target directory is not empty: ${target}`);
}

async function download(url: string, file: string, options: DownloadOptions): Promise<void> {
  const limit = options.maxDownloadBytes ?? DEFAULT_MODEL_LIMITS.maxDownloadBytes;
  // Signed URLs carry credentials in the query: messages only show the rest.
  const shown = stripQuery(url);
  const tooLarge = () => new ModelArchiveError(`Model download exceeds ${limit} bytes: ${shown}`);
  try {
    const response = await fetch(url, { signal: options.signal });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new ModelArchiveError(`Model download failed with HTTP ${response.status}: ${shown}`);
    }
    if (Number(response.headers.get('content-length')) > limit) {
      await response.body.cancel();
      throw tooLarge();
    }
    let received = 0;
    await pipeline(
      Readable.fromWeb(response.body as any),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.byteLength;
          if (received > limit) throw tooLarge();
          yield chunk;
        }
      },
      createWriteStream(file),
    );
  } catch (e) {
    if (e instanceof ModelArchiveError || options.signal?.aborted) throw e;
    throw new ModelArchiveError(`Model download failed: ${shown}`, {}, { cause: e });
  }
}

async function isZip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.equals(ZIP_MAGIC);
  } finally {
    await fh.close();
  }
}

/** The URL's last path segment when it is a plain file name; `model` otherwise. */
function fileNameOf(url: string): string {
  let name: string;
  try {
    name = decodeURIComponent(basename(new URL(url).pathname));
  } catch {
    return 'model';
  }
  return safeRelativePath(name) === name && !name.includes('/') ? name : 'model';
}

interface Entry {
  name: string;
  /** Validated path relative to the output folder. */
  path: string;
  isDir: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

async function extractInto(zipPath: string, out: string, limits: ArchiveLimits): Promise<void> {
  const zip = await open(zipPath, 'r');
  try {
    const entries = await readCentralDirectory(zip, limits);
    const written = new Set<string>();
    for (const entry of entries) {
      limits.signal?.throwIfAborted();
      if (!entry.isDir && written.has(entry.path)) {
        throw new ModelArchiveError(`Duplicate entry in model archive: ${entry.name}`);
      }
      written.add(entry.path);
      await extractEntry(zip, entry, join(out, entry.path)).catch((e: unknown) => {
        if (e instanceof ModelArchiveError) throw e;
        // fflate's inflate errors, or a file where the archive also has a folder.
        throw new ModelArchiveError(
          `Cannot extract entry of model archive: ${entry.name} (${(e as Error).message})`,
          {},
          { cause: e },
        );
      });
    }
  } finally {
    await zip.close();
  }
}

/** Reads and validates every entry before anything is written. */
async function readCentralDirectory(zip: FileHandle, limits: ArchiveLimits): Promise<Entry[]> {
  const maxEntries = limits.maxEntries ?? DEFAULT_MODEL_LIMITS.maxEntries;
  const maxBytes = limits.maxUncompressedBytes ?? DEFAULT_MODEL_LIMITS.maxUncompressedBytes;
  const { size: fileSize } = await zip.stat();
  const { count, cdOffset, cdSize } = await readEnd(zip, fileSize);
  if (count > maxEntries) {
    throw new ModelArchiveError(`Model archive has too many entries: ${count} (limit ${maxEntries})`);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES || cdOffset + cdSize > fileSize) {
    throw new ModelArchiveError('Model archive has an invalid central directory');
  }
  const cd = await readAt(zip, cdOffset, cdSize);
  const entries: Entry[] = [];
  let total = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) {
      throw new ModelArchiveError('Model archive has an invalid central directory');
    }
    const flags = cd.readUInt16LE(p + 8);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
    const zip64 = zip64Extra(cd.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
    const field32 = (offset: number) => {
      const v = cd.readUInt32LE(p + offset);
      return v === 0xffffffff ? zip64() : v;
    };
    // The ZIP64 extra field holds, in this order, only the fields whose 32-bit value overflowed.
    const size = field32(24);
    const compressedSize = field32(20);
    const localHeaderOffset = field32(42);
    const path = safeRelativePath(name);
    if (path === null) throw new ModelArchiveError(`Unsafe path in model archive: ${name}`);
    if (((cd.readUInt32LE(p + 38) >>> 16) & 0o170000) === 0o120000) {
      throw new ModelArchiveError(`Symlink in model archive: ${name}`);
    }
    if (flags & 0x1) throw new ModelArchiveError(`Encrypted entry in model archive: ${name}`);
    const method = cd.readUInt16LE(p + 10);
    if (method !== 0 && method !== 8) {
      throw new ModelArchiveError(`Unsupported compression method ${method} in model archive: ${name}`);
    }
    total += size;
    if (total > maxBytes) {
      throw new ModelArchiveError(`Model archive exceeds ${maxBytes} bytes uncompressed at entry: ${name}`);
    }
    entries.push({
      name,
      path,
      isDir: name.endsWith('/'),
      method,
      crc: cd.readUInt32LE(p + 16),
      compressedSize,
      size,
      localHeaderOffset,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** The entry count and central directory location, from the (ZIP64) end of central directory. */
async function readEnd(zip: FileHandle, fileSize: number) {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(zip, fileSize - tailLength, tailLength);
  // The record is 22 bytes plus a comment that must reach exactly to the end of the file.
  let at = tail.length - 22;
  while (
    at >= 0 &&
    !(tail.readUInt32LE(at) === 0x06054b50 && at + 22 + tail.readUInt16LE(at + 20) === tail.length)
  ) {
    at--;
  }
  if (at < 0) throw new ModelArchiveError('Model archive is not a valid zip (no end of central directory)');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) {
    throw new ModelArchiveError('Multi-part model archives are not supported');
  }
  const end = {
    count: tail.readUInt16LE(at + 10),
    cdSize: tail.readUInt32LE(at + 12),
    cdOffset: tail.readUInt32LE(at + 16),
  };
  if (end.count !== 0xffff && end.cdSize !== 0xffffffff && end.cdOffset !== 0xffffffff) return end;
  const locator = fileSize - tailLength + at - 20;
  if (locator < 0) return end;
  const loc = await readAt(zip, locator, 20);
  if (loc.readUInt32LE(0) !== 0x07064b50) return end;
  const record = await readAt(zip, Number(loc.readBigUInt64LE(8)), 56);
  if (record.readUInt32LE(0) !== 0x06064b50) {
    throw new ModelArchiveError('Model archive has an invalid ZIP64 end of central directory');
  }
  return {
    count: Number(record.readBigUInt64LE(32)),
    cdSize: Number(record.readBigUInt64LE(40)),
    cdOffset: Number(record.readBigUInt64LE(48)),
  };
}

/** Reads the next 64-bit value of an entry's ZIP64 extra field (header id 0x0001). */
function zip64Extra(extra: Buffer): () => number {
  let data: Buffer | undefined;
  for (let p = 0; p + 4 <= extra.length; p += 4 + extra.readUInt16LE(p + 2)) {
    if (extra.readUInt16LE(p) === 0x0001) data = extra.subarray(p + 4, p + 4 + extra.readUInt16LE(p + 2));
  }
  let next = 0;
  return () => {
    if (!data || next + 8 > data.length)
      throw new ModelArchiveError('Model archive has an invalid ZIP64 field');
    const value = Number(data.readBigUInt64LE(next));
    next += 8;
    return value;
  };
}

/**
 * The entry name as a relative path, or null when it could leave the output folder: absolute
 * paths, drive letters, backslashes (a separator on Windows), NUL and `..` segments.
 */
function safeRelativePath(name: string): string | null {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || /[\\\0]/.test(name)) return null;
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return null;
  return segments.join('/');
}

/** Streams one entry to `dest`, holding it to its declared size and CRC. */
async function extractEntry(zip: FileHandle, entry: Entry, dest: string): Promise<void> {
  if (entry.isDir) {
    await mkdir(dest, { recursive: true });
    return;
  }
  const local = await readAt(zip, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) {
    throw new ModelArchiveError(`Model archive has an invalid local header for entry: ${entry.name}`);
  }
  let position = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  let remaining = entry.compressedSize;
  let pending: Uint8Array[] = [];
  const inflater = entry.method === 8 ? new Inflate((data) => pending.push(data)) : null;
  let size = 0;
  let crc = 0;
  await mkdir(dirname(dest), { recursive: true });
  const file = await open(dest, 'wx');
  try {
    do {
      const chunk = await readAt(zip, position, Math.min(READ_CHUNK, remaining));
      if (chunk.length === 0 && remaining > 0) {
        throw new ModelArchiveError(`Model archive is truncated at entry: ${entry.name}`);
      }
      position += chunk.length;
      remaining -= chunk.length;
      if (inflater) inflater.push(chunk, remaining === 0);
      else pending.push(chunk);
      for (const data of pending) {
        size += data.length;
        // Declared sizes were checked against the limit; inflating past its own makes a bomb.
        if (size > entry.size) {
          throw new ModelArchiveError(
            `Entry inflates beyond its declared size in model archive: ${entry.name}`,
          );
        }
        crc = crc32(data, crc);
        await file.write(data);
      }
      pending = [];
    } while (remaining > 0);
  } finally {
    await file.close();
  }
  if (size !== entry.size || crc !== entry.crc) {
    throw new ModelArchiveError(`Corrupt entry in model archive (size or CRC mismatch): ${entry.name}`);
  }
}

async function readAt(zip: FileHandle, position: number, length: number): Promise<Buffer> {
  // A fresh buffer each time: fflate keeps a reference to the chunk it was pushed.
  const { buffer, bytesRead } = await zip.read(Buffer.alloc(length), 0, length, position);
  return buffer.subarray(0, bytesRead);
}
