/**
 * Safe zip extraction, shared by the model download (`downloadModel`) and the devserver's release
 * extraction: archives come from users, so nothing in them is trusted.
 *
 * - Streaming: the central directory and local headers are read with a file handle, entry data in
 *   64 KiB chunks, inflated by node:zlib streams (the work runs on libuv's thread pool, so the event
 *   loop keeps serving requests) and written straight to disk. Memory stays bounded whatever the
 *   archive declares.
 * - Limits: entry count, total uncompressed size and compression ratio (per entry and for the whole
 *   archive, above a floor so small highly compressible files pass). They are checked first against
 *   the central directory, so a bomb is refused before anything is written, and then again against
 *   the bytes actually inflated, so a lying header gains nothing.
 * - Integrity: each entry must inflate to exactly its declared size with its declared CRC-32; an
 *   entry that inflates past its size is an error, never cut.
 * - Shape: unsafe paths, duplicates, a file and a directory on the same path, symlinks and other
 *   special files, overlapping entries (the "overlapping file" bomb) and encrypted entries are
 *   refused, each with a message naming the entry and the rule.
 * - All or nothing: the tree is built in a hidden sibling of the target and renamed onto it only
 *   when every entry is in place; on any error the sibling is removed.
 */
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, mkdtemp, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { ArchiveError } from '../plugins/errors.ts';

/** An archive refused or failed while extracting; the message names the entry and the rule. */
export class ExtractionError extends ArchiveError {}

export interface ExtractionLimits {
  /** Entries in the central directory (files and directories). */
  maxEntries?: number;
  /** Sum of the entries' uncompressed sizes, declared and inflated. */
  maxUncompressedBytes?: number;
  /** Uncompressed : compressed, per entry and for the whole archive (against its file size). */
  maxRatio?: number;
  /** The ratio limit applies only to an entry (or archive total) larger than this. */
  ratioFloorBytes?: number;
}

export interface ExtractOptions extends ExtractionLimits {
  signal?: AbortSignal;
  /** What the archive is, starting messages ("Model archive", "Plugin release archive"). */
  label?: string;
}

export const DEFAULT_EXTRACTION_LIMITS: Readonly<Required<ExtractionLimits>> = Object.freeze({
  maxEntries: 10_000,
  maxUncompressedBytes: 50 * 1024 ** 3,
  maxRatio: 100,
  ratioFloorBytes: 1024 ** 2,
});

const READ_CHUNK = 64 * 1024;
const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * Extracts the zip at `zipPath` into `targetDir` (absent or empty), all or nothing. Returns the
 * absolute target path.
 */
export async function extractArchive(
  zipPath: string,
  targetDir: string,
  options: ExtractOptions = {},
): Promise<string> {
  return buildInPlace(targetDir, (_work, out) => extractInto(zipPath, out, options), options.label);
}

/**
 * Builds a tree in `<parent>/.<name>.partial-*` / `out` with `build`, then renames it onto
 * `targetDir` (absent or empty); the partial folder is removed whatever happens. `work` is a
 * scratch folder beside `out` (e.g. for a download).
 */
export async function buildInPlace(
  targetDir: string,
  build: (work: string, out: string) => Promise<void>,
  label = 'Archive',
): Promise<string> {
  const target = resolve(targetDir);
  await assertAbsentOrEmpty(target, label);
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

async function assertAbsentOrEmpty(target: string, label: string): Promise<void> {
  const entries = await readdir(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw new ExtractionError(`${label} target is not a usable directory: ${target}`, {}, { cause: e });
  });
  if (entries.length > 0) throw new ExtractionError(`${label} target directory is not empty: ${target}`);
}

interface Entry {
  name: string;
  nameBytes: Buffer;
  /** Validated path relative to the output folder. */
  path: string;
  isDir: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  /** Where the next entry (or the central directory) starts: this entry's data must end before. */
  dataLimit: number;
}

/** The resolved limits and the running totals of one extraction. */
interface Run {
  label: string;
  limits: Required<ExtractionLimits>;
  fileSize: number;
  inflated: number;
  signal?: AbortSignal;
}

/**
 * Extracts the zip into the existing, empty folder `out` (no rename, no cleanup: callers use
 * `extractArchive` or `buildInPlace`).
 */
export async function extractInto(zipPath: string, out: string, options: ExtractOptions = {}): Promise<void> {
  const limits = resolveExtractionLimits(options);
  const zip = await open(zipPath, 'r');
  try {
    const { size: fileSize } = await zip.stat();
    const run: Run = {
      label: options.label ?? 'Archive',
      limits,
      fileSize,
      inflated: 0,
      signal: options.signal,
    };
    const entries = await readCentralDirectory(zip, run);
    for (const entry of entries) {
      run.signal?.throwIfAborted();
      const dest = join(out, entry.path);
      if (entry.isDir) await mkdir(dest, { recursive: true });
      else await extractEntry(zip, entry, dest, run);
    }
  } finally {
    await zip.close();
  }
}

/** The limits with defaults filled in; a limit that is not a number in range is an error naming it. */
export function resolveExtractionLimits(options: ExtractionLimits = {}): Required<ExtractionLimits> {
  const limits = { ...DEFAULT_EXTRACTION_LIMITS };
  for (const key of Object.keys(limits) as (keyof ExtractionLimits)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || Number.isNaN(value) || value < (key === 'ratioFloorBytes' ? 0 : 1)) {
      throw new ExtractionError(`Invalid extraction limit ${key}: ${value}`);
    }
    limits[key] = value;
  }
  return limits;
}

/** The entry name quoted for a message: control characters escaped, and cut (names reach 64 KiB). */
function shown(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

function refuse(run: Run, entry: { name: string }, rule: string): ExtractionError {
  return new ExtractionError(`${run.label} entry ${shown(entry.name)} refused: ${rule}`);
}

function invalid(run: Run, what: string): ExtractionError {
  return new ExtractionError(`${run.label} refused: ${what}`);
}

/** Reads and validates every entry, and the archive's declared totals, before anything is written. */
async function readCentralDirectory(zip: FileHandle, run: Run): Promise<Entry[]> {
  const { maxEntries, maxUncompressedBytes, maxRatio, ratioFloorBytes } = run.limits;
  const { count, cdOffset, cdSize } = await readEnd(zip, run);
  if (count > maxEntries) {
    throw invalid(run, `${count} entries exceed the limit of ${maxEntries} entries`);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES || cdOffset + cdSize > run.fileSize) {
    throw invalid(run, 'invalid central directory');
  }
  const cd = await readAt(zip, cdOffset, cdSize);
  const entries: Entry[] = [];
  /** Every path seen so far: explicit entries and the folders their paths imply. */
  const tree: PathNode = { kind: 'dir', explicit: true, children: new Map() };
  let declared = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50)
      throw invalid(run, 'invalid central directory');
    const flags = cd.readUInt16LE(p + 8);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLength + extraLength > cd.length) throw invalid(run, 'invalid central directory');
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
    const entry = { name };
    const zip64 = zip64Extra(cd.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), run, entry);
    const field32 = (offset: number) => {
      const v = cd.readUInt32LE(p + offset);
      return v === 0xffffffff ? zip64() : v;
    };
    // The ZIP64 extra field holds, in this order, only the fields whose 32-bit value overflowed.
    const size = field32(24);
    const compressedSize = field32(20);
    const localHeaderOffset = field32(42);
    const method = cd.readUInt16LE(p + 10);
    const fileType = (cd.readUInt32LE(p + 38) >>> 16) & S_IFMT;
    const isDir = name.endsWith('/') || fileType === S_IFDIR;

    const path = safeRelativePath(name);
    if (path === null) {
      throw refuse(run, entry, "unsafe path (absolute, drive letter, backslash, NUL or '..' segment)");
    }
    // What Linux can create (PATH_MAX, NAME_MAX): refused up front, not midway with ENAMETOOLONG.
    if (Buffer.byteLength(path) > 4096 || path.split('/').some((s) => Buffer.byteLength(s) > 255)) {
      throw refuse(run, entry, 'name too long (over 4096 bytes, or a segment over 255 bytes)');
    }
    if (fileType === S_IFLNK) throw refuse(run, entry, 'symbolic links are not allowed');
    if (fileType !== 0 && fileType !== S_IFREG && fileType !== S_IFDIR) {
      throw refuse(run, entry, 'special files (devices, FIFOs, sockets) are not allowed');
    }
    if (flags & 0x1) throw refuse(run, entry, 'encrypted entries are not supported');
    if (method !== 0 && method !== 8) {
      throw refuse(run, entry, `compression method ${method} is not supported (only stored and deflate)`);
    }
    if (isDir && size > 0) throw refuse(run, entry, 'a directory entry must not hold data');
    if (method === 0 && size !== compressedSize) {
      throw refuse(run, entry, 'a stored entry must declare equal compressed and uncompressed sizes');
    }
    checkShape(run, entry, path, isDir, tree);
    if (size > ratioFloorBytes && size > maxRatio * compressedSize) {
      throw refuse(run, entry, ratioRule(size, compressedSize, maxRatio));
    }
    declared += size;
    if (declared > maxUncompressedBytes) {
      throw refuse(run, entry, totalRule(declared, maxUncompressedBytes));
    }
    if (declared > ratioFloorBytes && declared > maxRatio * run.fileSize) {
      throw refuse(run, entry, archiveRatioRule(declared, run.fileSize, maxRatio));
    }
    entries.push({
      name,
      nameBytes,
      path,
      isDir,
      method,
      crc: cd.readUInt32LE(p + 16),
      compressedSize,
      size,
      localHeaderOffset,
      dataLimit: cdOffset,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  checkOverlaps(run, entries, cdOffset);
  return entries;
}

interface PathNode {
  kind: 'file' | 'dir';
  /** Named by an entry, not only implied by a deeper one. */
  explicit: boolean;
  children?: Map<string, PathNode>;
}

/**
 * Duplicates, and a file on a path that is (or lies under) another entry's file or folder. A tree
 * of segments, so each name costs its length once (prefix strings would be quadratic in depth).
 */
function checkShape(run: Run, entry: { name: string }, path: string, isDir: boolean, tree: PathNode): void {
  const clash = () => refuse(run, entry, 'a file and a directory share the same path');
  const segments = path.split('/');
  const last = segments.pop()!;
  let node = tree;
  for (const segment of segments) {
    let child = node.children!.get(segment);
    if (!child) {
      child = { kind: 'dir', explicit: false, children: new Map() };
      node.children!.set(segment, child);
    } else if (child.kind === 'file') throw clash();
    node = child;
  }
  const kind = isDir ? 'dir' : 'file';
  const seen = node.children!.get(last);
  if (!seen) {
    node.children!.set(last, { kind, explicit: true, children: isDir ? new Map() : undefined });
    return;
  }
  if (seen.kind !== kind) throw clash();
  if (seen.explicit) throw refuse(run, entry, 'duplicate name (another entry has the same path)');
  seen.explicit = true;
}

/**
 * Each entry's local header and data must end before the next entry starts: entries sharing
 * their compressed data are the "overlapping file" bomb, which inflates one stream many times.
 */
function checkOverlaps(run: Run, entries: Entry[], cdOffset: number): void {
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const entry = byOffset[i];
    const limit = i + 1 < byOffset.length ? byOffset[i + 1].localHeaderOffset : cdOffset;
    // The local name is as long as the central one (checked when extracting): a lower bound of its span.
    if (entry.localHeaderOffset + 30 + entry.nameBytes.length + entry.compressedSize > limit) {
      throw refuse(run, entry, 'its data overlaps another entry or the central directory');
    }
    entry.dataLimit = limit;
  }
}

function ratioRule(size: number, compressed: number, maxRatio: number): string {
  const ratio = compressed === 0 ? 'unbounded' : `${Math.round(size / compressed)}:1`;
  return `compression ratio ${ratio} exceeds the limit of ${maxRatio}:1`;
}

function archiveRatioRule(total: number, fileSize: number, maxRatio: number): string {
  return `the archive's compression ratio reaches ${Math.round(total / fileSize)}:1 here, over the limit of ${maxRatio}:1`;
}

function totalRule(total: number, max: number): string {
  return `total uncompressed size reaches ${total} bytes here, over the limit of ${max} bytes`;
}

/** The entry count and central directory location, from the (ZIP64) end of central directory. */
async function readEnd(zip: FileHandle, run: Run) {
  const { fileSize } = run;
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
  if (at < 0) throw invalid(run, 'not a valid zip (no end of central directory)');
  if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) {
    throw invalid(run, 'multi-part archives are not supported');
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
  if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50) {
    throw invalid(run, 'invalid ZIP64 end of central directory');
  }
  return {
    count: Number(record.readBigUInt64LE(32)),
    cdSize: Number(record.readBigUInt64LE(40)),
    cdOffset: Number(record.readBigUInt64LE(48)),
  };
}

/** Reads the next 64-bit value of an entry's ZIP64 extra field (header id 0x0001). */
function zip64Extra(extra: Buffer, run: Run, entry: { name: string }): () => number {
  let data: Buffer | undefined;
  for (let p = 0; p + 4 <= extra.length; p += 4 + extra.readUInt16LE(p + 2)) {
    if (extra.readUInt16LE(p) === 0x0001) data = extra.subarray(p + 4, p + 4 + extra.readUInt16LE(p + 2));
  }
  let next = 0;
  return () => {
    if (!data || next + 8 > data.length) throw refuse(run, entry, 'invalid ZIP64 extra field');
    const value = Number(data.readBigUInt64LE(next));
    next += 8;
    return value;
  };
}

/**
 * The entry name as a relative path, or null when it could leave the output folder: absolute
 * paths, drive letters, backslashes (a separator on Windows), NUL and `..` segments.
 */
export function safeRelativePath(name: string): string | null {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || /[\\\0]/.test(name)) return null;
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return null;
  return segments.join('/');
}

/** Streams one file entry to `dest` (created, never overwritten), holding it to every limit. */
async function extractEntry(zip: FileHandle, entry: Entry, dest: string, run: Run): Promise<void> {
  const local = await readAt(zip, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) {
    throw refuse(run, entry, 'invalid local header');
  }
  const nameLength = local.readUInt16LE(26);
  const localName = await readAt(zip, entry.localHeaderOffset + 30, nameLength);
  if (!localName.equals(entry.nameBytes)) {
    throw refuse(run, entry, 'its local header names another entry');
  }
  const start = entry.localHeaderOffset + 30 + nameLength + local.readUInt16LE(28);
  if (start + entry.compressedSize > entry.dataLimit) {
    throw refuse(run, entry, 'its data overlaps another entry or the central directory');
  }

  const { maxUncompressedBytes, maxRatio, ratioFloorBytes } = run.limits;
  let size = 0;
  let crc = 0;
  // Counts what really comes out of the inflater: the checks above trusted the headers.
  async function* checked(chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      size += chunk.length;
      run.inflated += chunk.length;
      if (size > entry.size)
        throw refuse(run, entry, `inflates beyond its declared size of ${entry.size} bytes`);
      if (run.inflated > maxUncompressedBytes) {
        throw refuse(run, entry, totalRule(run.inflated, maxUncompressedBytes));
      }
      if (size > ratioFloorBytes && size > maxRatio * entry.compressedSize) {
        throw refuse(run, entry, ratioRule(size, entry.compressedSize, maxRatio));
      }
      if (run.inflated > ratioFloorBytes && run.inflated > maxRatio * run.fileSize) {
        throw refuse(run, entry, archiveRatioRule(run.inflated, run.fileSize, maxRatio));
      }
      crc = crc32(chunk, crc);
      yield chunk;
    }
  }

  await mkdir(dirname(dest), { recursive: true });
  const source = compressedData(zip, start, entry.compressedSize, run, entry);
  const sink = createWriteStream(dest, { flags: 'wx' });
  try {
    // An empty entry may have no deflate data at all (some writers leave it out).
    if (entry.method === 8 && entry.compressedSize > 0) {
      await pipeline(source, createInflateRaw({ chunkSize: READ_CHUNK }), checked, sink, {
        signal: run.signal,
      });
    } else {
      await pipeline(source, checked, sink, { signal: run.signal });
    }
  } catch (e) {
    if (e instanceof ExtractionError || run.signal?.aborted) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new ExtractionError(
        `${run.label} entry ${shown(entry.name)} refused: corrupt compressed data (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    throw new ExtractionError(
      `${run.label} entry ${shown(entry.name)} could not be written: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  if (size !== entry.size) {
    throw refuse(run, entry, `inflated to ${size} bytes, but declares ${entry.size} bytes`);
  }
  if (crc !== entry.crc) throw refuse(run, entry, 'CRC-32 mismatch (corrupt data)');
}

/** The entry's compressed bytes, read from the archive in chunks. */
async function* compressedData(
  zip: FileHandle,
  start: number,
  length: number,
  run: Run,
  entry: Entry,
): AsyncGenerator<Buffer> {
  let position = start;
  let remaining = length;
  while (remaining > 0) {
    const chunk = await readAt(zip, position, Math.min(READ_CHUNK, remaining));
    if (chunk.length === 0) throw refuse(run, entry, 'the archive is truncated');
    position += chunk.length;
    remaining -= chunk.length;
    yield chunk;
  }
}

async function readAt(zip: FileHandle, position: number, length: number): Promise<Buffer> {
  // A fresh buffer each time: the inflater may still hold the previous chunk.
  const { buffer, bytesRead } = await zip.read(Buffer.alloc(length), 0, length, position);
  return buffer.subarray(0, bytesRead);
}
