/**
 * A tiny zip writer for tests: honest archives, and hostile ones whose headers lie (sizes, CRC,
 * unix modes, shared data), which ordinary zip libraries refuse to write.
 */
import { writeFile } from 'node:fs/promises';
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  name: string;
  /** The content (default empty); ignored when `deflated` is given. */
  data?: Uint8Array;
  /** Stored instead of deflated. */
  store?: boolean;
  /** A ready raw deflate stream with its true `size` and `crc` (for bombs built cheaply). */
  deflated?: { bytes: Buffer; size: number; crc: number };
  /** Declared uncompressed size, when it should lie. */
  size?: number;
  /** Declared CRC-32, when it should lie. */
  crc?: number;
  /** Unix mode (type and permissions) in the external attributes, e.g. 0o120777 for a symlink. */
  mode?: number;
  /** No data of its own: the central directory points at the local header of entry `aliasOf`. */
  aliasOf?: number;
}

/** The zip's bytes: local headers and data, central directory, end record (no ZIP64). */
export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const own of entries) {
    // An alias repeats its target's data description under its own name.
    const spec = own.aliasOf === undefined ? own : { ...entries[own.aliasOf], ...own };
    const name = Buffer.from(spec.name, 'utf8');
    const data = Buffer.from(spec.data ?? new Uint8Array(0));
    const method = spec.store ? 0 : 8;
    const body = spec.deflated?.bytes ?? (spec.store ? data : deflateRawSync(data, { level: 1 }));
    const size = spec.size ?? spec.deflated?.size ?? data.length;
    const crc = spec.crc ?? spec.deflated?.crc ?? crc32(data);
    let at = offset;
    if (spec.aliasOf === undefined) {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x800, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt32LE(crc >>> 0, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(name.length, 26);
      parts.push(local, name, body);
      offset += local.length + name.length + body.length;
    } else {
      at = offsets[spec.aliasOf];
    }
    offsets.push(at);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by unix, so the mode in the external attributes counts
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc >>> 0, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    const mode = spec.mode ?? (spec.name.endsWith('/') ? 0o040755 : 0o100644);
    cd.writeUInt32LE(((mode << 16) >>> 0) + (spec.name.endsWith('/') ? 0x10 : 0), 38);
    cd.writeUInt32LE(at, 42);
    central.push(cd, name);
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

export async function writeZip(path: string, entries: ZipEntrySpec[]): Promise<string> {
  await writeFile(path, buildZip(entries));
  return path;
}

/**
 * A raw deflate stream of `mib` MiB of zeros, built cheaply: one MiB of zeros compressed once as
 * a non-final, byte-aligned block run (sync flush), repeated, then an empty final block. About
 * 1 KiB per MiB: a ratio near DEFLATE's maximum of 1032:1.
 */
export function zeroBomb(mib: number): { bytes: Buffer; size: number; crc: number } {
  const zeros = Buffer.alloc(1024 ** 2);
  const block = deflateRawSync(zeros, { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const last = deflateRawSync(Buffer.alloc(0));
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(zeros, crc);
  return {
    bytes: Buffer.concat([...Array.from({ length: mib }, () => block), last]),
    size: mib * 1024 ** 2,
    crc,
  };
}

/**
 * `bytes` of text-like data (words from a small vocabulary, lines of varying length): it deflates
 * at an ordinary ratio (about 3-4:1), as source code and model configs do. A 4 MiB pattern is
 * repeated: deflate only looks back 32 KiB, so repeating it does not raise the ratio.
 */
export function textLike(bytes: number, seed = 1): Buffer {
  const words = ['tensor', 'layer', 'weight', 'bias', 'conv', 'relu', 'batch', 'norm', '0.125', 'epoch'];
  const pattern = Buffer.alloc(Math.min(bytes, 4 * 1024 ** 2));
  let state = seed >>> 0 || 1;
  let at = 0;
  while (at < pattern.length) {
    // xorshift32: deterministic and fast, enough variety to keep the ratio ordinary.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const word = state % 7 === 0 ? `${state % 100000}` : words[state % words.length];
    at += pattern.write(state % 11 === 0 ? `${word}\n` : `${word} `, at);
  }
  const out = Buffer.alloc(bytes);
  for (let p = 0; p < bytes; p += pattern.length) pattern.copy(out, p);
  return out;
}
