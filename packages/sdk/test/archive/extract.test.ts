/**
 * Safe extraction (#11 item 1): real archives written to disk, hostile ones refused with a
 * message naming the entry and the rule, and nothing left on disk; legit ones extracted.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildZip, textLike, type ZipEntrySpec, zeroBomb } from '../../../../test-support/archives.ts';
import {
  ArchiveError,
  DEFAULT_EXTRACTION_LIMITS,
  ExtractionError,
  type ExtractOptions,
  extractArchive,
} from '../../src/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'extract-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);
const WEIGHTS = randomBytes(100_000);
const GOOD: ZipEntrySpec[] = [
  { name: 'model.pt', data: text('torch') },
  { name: 'config/model.json', data: text('{"layers": 2}') },
  { name: 'weights/layer1/w.bin', data: WEIGHTS, store: true },
  { name: 'empty/' },
  // Tiny and highly compressible: under the ratio floor, so it passes.
  { name: 'zeros.bin', data: new Uint8Array(512 * 1024) },
];

async function zipFile(entries: ZipEntrySpec[] | Buffer): Promise<string> {
  const path = join(dir, 'in.zip');
  await writeFile(path, Buffer.isBuffer(entries) ? entries : buildZip(entries));
  return path;
}

/** Extraction must fail with `message`, leaving neither the target nor a partial folder. */
async function expectRefused(run: Promise<unknown>, message: string | RegExp, target: string) {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExtractionError);
  expect(error).toBeInstanceOf(ArchiveError);
  expect((error as Error).message).toMatch(message);
  await expect(stat(target)).rejects.toThrow('ENOENT');
  // Nor a `.model.partial-*` folder: only the input zip remains.
  expect(await readdir(dir)).toEqual(['in.zip']);
}

async function expectGoodTree(target: string) {
  expect(await readFile(join(target, 'model.pt'), 'utf8')).toBe('torch');
  expect(await readFile(join(target, 'config/model.json'), 'utf8')).toBe('{"layers": 2}');
  expect((await readFile(join(target, 'weights/layer1/w.bin'))).equals(WEIGHTS)).toBe(true);
  expect(await readdir(join(target, 'empty'))).toEqual([]);
  expect((await stat(join(target, 'zeros.bin'))).size).toBe(512 * 1024);
}

const ok = { name: 'ok.txt', data: text('fine') };
const hello = text('hello hello hello hello');
const many = Array.from({ length: DEFAULT_EXTRACTION_LIMITS.maxEntries + 1 }, (_, i) => ({ name: `f${i}` }));
const bomb = zeroBomb(200); // 200 MiB of zeros in ~200 KiB
const mib = (n: number) => n * 1024 ** 2;

const HOSTILE: [string, ZipEntrySpec[], string | RegExp, ExtractOptions?][] = [
  [
    'zero-filled bomb (ratio ~1000:1)',
    [ok, { name: 'zeros.bin', deflated: bomb }],
    /^Archive entry "zeros.bin" refused: compression ratio \d+:1 exceeds the limit of 100:1$/,
  ],
  [
    'bomb whose header lies about its size',
    [ok, { name: 'zeros.bin', deflated: bomb, size: mib(1) }],
    `Archive entry "zeros.bin" refused: inflates beyond its declared size of ${mib(1)} bytes`,
  ],
  [
    'bomb under the ratio limit that passes the total size limit',
    [ok, { name: 'zeros.bin', deflated: bomb }],
    `Archive entry "zeros.bin" refused: total uncompressed size reaches ${mib(200) + 4} bytes here, over the limit of ${mib(100)} bytes`,
    { maxRatio: 10_000, maxUncompressedBytes: mib(100) },
  ],
  [
    'many small entries sharing one archive (whole-archive ratio)',
    [ok, ...Array.from({ length: 200 }, (_, i) => ({ name: `z${i}.bin`, data: new Uint8Array(512 * 1024) }))],
    /^Archive entry "z\d+.bin" refused: the archive's compression ratio reaches \d+:1 here, over the limit of 100:1$/,
  ],
  [
    'overlapping entries (one stream inflated many times)',
    [
      { name: 'a.bin', data: new Uint8Array(1000) },
      { name: 'b.bin', aliasOf: 0 },
    ],
    /^Archive entry "[ab].bin" refused: its data overlaps another entry or the central directory$/,
  ],
  [
    'too many entries',
    many,
    `Archive refused: ${many.length} entries exceed the limit of ${DEFAULT_EXTRACTION_LIMITS.maxEntries} entries`,
  ],
  [
    'CRC mismatch',
    [ok, { name: 'a.txt', data: hello, crc: 1234 }],
    'Archive entry "a.txt" refused: CRC-32 mismatch (corrupt data)',
  ],
  [
    'size declared larger than the data',
    [ok, { name: 'a.txt', data: hello, size: hello.length + 10 }],
    `Archive entry "a.txt" refused: inflated to ${hello.length} bytes, but declares ${hello.length + 10} bytes`,
  ],
  [
    'stored entry whose sizes disagree',
    [{ name: 'a.txt', data: hello, store: true, size: 5 }],
    'Archive entry "a.txt" refused: a stored entry must declare equal compressed and uncompressed sizes',
  ],
  [
    'duplicate name',
    [ok, { name: 'a.txt', data: text('1') }, { name: './a.txt', data: text('2') }],
    'Archive entry "./a.txt" refused: duplicate name (another entry has the same path)',
  ],
  [
    'a file, then a directory on its path',
    [
      { name: 'a', data: text('file') },
      { name: 'a/b.txt', data: text('2') },
    ],
    'Archive entry "a/b.txt" refused: a file and a directory share the same path',
  ],
  [
    'a directory, then a file on its path',
    [{ name: 'a/' }, { name: 'a', data: text('file') }],
    'Archive entry "a" refused: a file and a directory share the same path',
  ],
  [
    'a name too long for the file system',
    [ok, { name: `${'d/'.repeat(3000)}f`, data: text('x') }],
    /^Archive entry "(d\/){100}…" refused: name too long \(over 4096 bytes, or a segment over 255 bytes\)$/,
  ],
  [
    'symlink',
    [ok, { name: 'link', data: text('/etc/passwd'), mode: 0o120777 }],
    'Archive entry "link" refused: symbolic links are not allowed',
  ],
  [
    'FIFO',
    [ok, { name: 'pipe', mode: 0o010644 }],
    'Archive entry "pipe" refused: special files (devices, FIFOs, sockets) are not allowed',
  ],
  ...[
    '../evil.txt',
    'a/../../evil.txt',
    '/etc/evil.txt',
    'C:/evil.txt',
    'c:evil.txt',
    '..\\evil.txt',
    '..',
  ].map((name): [string, ZipEntrySpec[], string] => [
    `escaping path ${name}`,
    [ok, { name, data: text('x') }],
    `Archive entry ${JSON.stringify(name)} refused: unsafe path (absolute, drive letter, backslash, NUL or '..' segment)`,
  ]),
];

describe('extractArchive refuses hostile archives, leaving nothing on disk', () => {
  it.each(HOSTILE)('%s', async (_what, entries, message, options) => {
    const target = join(dir, 'model');
    await expectRefused(extractArchive(await zipFile(entries), target, options), message, target);
  });

  it('refuses corrupt deflate data and a file that is not a zip', async () => {
    const target = join(dir, 'model');
    const truncated = deflateRawSync(textLike(100_000)).subarray(0, 5_000);
    await expectRefused(
      extractArchive(
        await zipFile([{ name: 'cut.txt', deflated: { bytes: truncated, size: 100_000, crc: 0 } }]),
        target,
      ),
      /^Archive entry "cut.txt" refused: corrupt compressed data \(/,
      target,
    );
    await expectRefused(
      extractArchive(await zipFile(Buffer.from('PK\x03\x04 not really')), target),
      'Archive refused: not a valid zip (no end of central directory)',
      target,
    );
  });

  it('names the archive in its messages and validates limits', async () => {
    const target = join(dir, 'model');
    const zip = await zipFile([{ name: 'link', mode: 0o120777 }]);
    await expectRefused(
      extractArchive(zip, target, { label: 'Plugin release archive' }),
      'Plugin release archive entry "link" refused: symbolic links are not allowed',
      target,
    );
    await expectRefused(
      extractArchive(zip, target, { maxRatio: 0 }),
      'Invalid extraction limit maxRatio: 0',
      target,
    );
  });
});

describe('extractArchive extracts legit archives', () => {
  it('extracts nested folders into a new target, leaving no partial folder', async () => {
    const target = join(dir, 'out', 'model');
    expect(await extractArchive(await zipFile(GOOD), target)).toBe(target);
    await expectGoodTree(target);
    expect((await readdir(dir)).sort()).toEqual(['in.zip', 'out']);
    expect(await readdir(join(dir, 'out'))).toEqual(['model']);
  });

  it('replaces an empty target folder and refuses a non-empty one untouched', async () => {
    const zip = await zipFile(GOOD);
    const target = join(dir, 'model');
    await mkdir(target);
    await extractArchive(zip, target);
    await expectGoodTree(target);
    await expect(extractArchive(zip, target)).rejects.toThrow(
      `Archive target directory is not empty: ${target}`,
    );
    await expectGoodTree(target);
    expect((await readdir(dir)).sort()).toEqual(['in.zip', 'model']);
  });

  it('extracts an empty file whose entry has no deflate data', async () => {
    const target = join(dir, 'model');
    const empty = { bytes: Buffer.alloc(0), size: 0, crc: 0 };
    await extractArchive(await zipFile([ok, { name: 'empty.txt', deflated: empty }]), target);
    expect((await readdir(target)).sort()).toEqual(['empty.txt', 'ok.txt']);
    expect((await stat(join(target, 'empty.txt'))).size).toBe(0);
  });

  it('raised limits let a refused archive through', async () => {
    const zip = await zipFile([{ name: 'zeros.bin', deflated: zeroBomb(20) }]);
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(zip, target),
      /compression ratio \d+:1 exceeds the limit of 100:1/,
      target,
    );
    await extractArchive(zip, target, { maxRatio: 2000 });
    expect((await stat(join(target, 'zeros.bin'))).size).toBe(mib(20));
  });

  it('streams a large archive of ordinary data (120 MiB)', async () => {
    const parts = [textLike(mib(60), 1), textLike(mib(60), 2)];
    const zip = await zipFile([
      { name: 'data/a.txt', data: parts[0] },
      { name: 'data/b.txt', data: parts[1] },
    ]);
    expect((await stat(zip)).size).toBeLessThan(mib(60));
    const target = join(dir, 'model');
    await extractArchive(zip, target);
    expect((await readFile(join(target, 'data/a.txt'))).equals(parts[0])).toBe(true);
    expect((await readFile(join(target, 'data/b.txt'))).equals(parts[1])).toBe(true);
  });

  it('reads archives written by Python, ZIP64 records included', async () => {
    const zip = join(dir, 'in.zip');
    const script = `
import sys, zipfile
zipfile.ZIP64_LIMIT = 0  # forces ZIP64 fields and end records on a small archive
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('model.pt', b'torch')
    z.writestr('dir/ünï.txt', 'x' * 5000)
`;
    execFileSync('python3', ['-c', script, zip]);
    expect((await readFile(zip)).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const target = join(dir, 'model');
    await extractArchive(zip, target);
    expect(await readFile(join(target, 'model.pt'), 'utf8')).toBe('torch');
    expect(await readFile(join(target, 'dir/ünï.txt'), 'utf8')).toBe('x'.repeat(5000));
  });
});
