import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Zippable, zipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  downloadAndExtractModel,
  extractArchive,
  ModelArchiveError,
} from '../../src/actions/inference/model-archive.ts';
import { PluginError } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WEIGHTS = randomBytes(100_000);
const GOOD: Zippable = {
  'model.pt': new TextEncoder().encode('torch'),
  'config/model.json': new TextEncoder().encode('{"layers": 2}'),
  'weights/layer1/w.bin': WEIGHTS,
  'empty/': new Uint8Array(0),
};

async function writeZip(entries: Zippable, name = 'in.zip'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, zipSync(entries));
  return path;
}

/** Extraction must fail with `message`, leaving neither the target nor a partial folder. */
async function expectRefused(run: Promise<unknown>, message: string | RegExp, target: string) {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelArchiveError);
  expect(error).toBeInstanceOf(PluginError);
  expect((error as Error).message).toMatch(message);
  await expect(stat(target)).rejects.toThrow('ENOENT');
  // Nor a `.model.partial-*` folder: only the input zip remains.
  expect((await readdir(dir)).filter((f) => f !== 'in.zip')).toEqual([]);
}

async function expectGoodTree(target: string) {
  expect(await readFile(join(target, 'model.pt'), 'utf8')).toBe('torch');
  expect(await readFile(join(target, 'config/model.json'), 'utf8')).toBe('{"layers": 2}');
  expect((await readFile(join(target, 'weights/layer1/w.bin'))).equals(WEIGHTS)).toBe(true);
  expect(await readdir(join(target, 'empty'))).toEqual([]);
}

describe('extractArchive', () => {
  it('extracts nested folders into a new target, leaving no partial folder', async () => {
    const target = join(dir, 'out', 'model');
    expect(await extractArchive(await writeZip(GOOD), target)).toBe(target);
    await expectGoodTree(target);
    expect((await readdir(dir)).sort()).toEqual(['in.zip', 'out']);
    expect(await readdir(join(dir, 'out'))).toEqual(['model']);
  });

  it('replaces an empty target folder and refuses a non-empty one untouched', async () => {
    const zip = await writeZip(GOOD);
    const target = join(dir, 'model');
    await mkdir(target);
    await extractArchive(zip, target);
    await expectGoodTree(target);
    await expect(extractArchive(zip, target)).rejects.toThrow(
      `Model target directory is not empty: ${target}`,
    );
    await expectGoodTree(target);
    expect((await readdir(dir)).sort()).toEqual(['in.zip', 'model']);
  });

  it.each([
    '../evil.txt',
    'a/../../evil.txt',
    '/etc/evil.txt',
    'C:/evil.txt',
    'c:evil.txt',
    '..\\evil.txt',
    'a\\b.txt',
    '..',
  ])('refuses the escaping entry %j', async (name) => {
    const zip = await writeZip({ 'ok.txt': new Uint8Array([1]), [name]: new Uint8Array([2]) });
    const target = join(dir, 'model');
    await expectRefused(extractArchive(zip, target), `Unsafe path in model archive: ${name}`, target);
  });

  it('refuses a symlink entry', async () => {
    const S_IFLNK = 0o120000;
    const zip = await writeZip({
      'ok.txt': new Uint8Array([1]),
      link: [new TextEncoder().encode('/etc/passwd'), { os: 3, attrs: ((S_IFLNK | 0o777) << 16) >>> 0 }],
    });
    const target = join(dir, 'model');
    await expectRefused(extractArchive(zip, target), 'Symlink in model archive: link', target);
  });

  it('refuses too many entries', async () => {
    const entries: Zippable = {};
    for (let i = 0; i < 6; i++) entries[`f${i}.txt`] = new Uint8Array([i]);
    const zip = await writeZip(entries);
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(zip, target, { maxEntries: 5 }),
      'Model archive has too many entries: 6 (limit 5)',
      target,
    );
    await extractArchive(zip, target, { maxEntries: 6 });
    expect(await readdir(target)).toHaveLength(6);
  });

  it('refuses a zip bomb by its declared size', async () => {
    const zip = await writeZip({ 'small.txt': new Uint8Array(10), 'bomb.bin': new Uint8Array(20_000_000) });
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(zip, target, { maxUncompressedBytes: 10_000_000 }),
      'Model archive exceeds 10000000 bytes uncompressed at entry: bomb.bin',
      target,
    );
  });

  it('refuses an entry that inflates beyond the size it declares', async () => {
    const bytes = zipSync({ 'bomb.bin': new Uint8Array(20_000_000) });
    // Declare 1000 bytes in the central directory entry (uncompressed size at +24).
    const view = Buffer.from(bytes);
    const cd = view.readUInt32LE(view.length - 22 + 16);
    view.writeUInt32LE(1000, cd + 24);
    const zip = join(dir, 'in.zip');
    await writeFile(zip, view);
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(zip, target, { maxUncompressedBytes: 10_000 }),
      'Entry inflates beyond its declared size in model archive: bomb.bin',
      target,
    );
  });

  it('refuses a corrupt entry and a file that is not a zip', async () => {
    const bytes = Buffer.from(
      zipSync({ 'a.txt': new TextEncoder().encode('hello hello hello') }, { level: 0 }),
    );
    bytes[bytes.indexOf('hello')] = 'j'.charCodeAt(0);
    await writeFile(join(dir, 'in.zip'), bytes);
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(join(dir, 'in.zip'), target),
      'Corrupt entry in model archive (size or CRC mismatch): a.txt',
      target,
    );
    await writeFile(join(dir, 'in.zip'), 'PK\x03\x04 not really');
    await expectRefused(extractArchive(join(dir, 'in.zip'), target), /not a valid zip/, target);
  });

  it('refuses duplicate entries', async () => {
    await writeFile(
      join(dir, 'in.zip'),
      zipSync({ 'a.txt': new Uint8Array([1]), './a.txt': new Uint8Array([2]) }),
    );
    const target = join(dir, 'model');
    await expectRefused(
      extractArchive(join(dir, 'in.zip'), target),
      'Duplicate entry in model archive: ./a.txt',
      target,
    );
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

describe('downloadAndExtractModel', () => {
  let server: Server;
  let base: string;
  const goodZip = Buffer.from(zipSync(GOOD));
  const slipZip = Buffer.from(zipSync({ '../evil.txt': new Uint8Array([1]) }));

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/model.zip') res.end(goodZip);
      else if (path === '/slip.zip') res.end(slipZip);
      else if (path === '/weights%20v1.bin') res.end('raw weights');
      else if (path === '/declared-big')
        res.writeHead(200, { 'Content-Length': 2_000_000 }).end(Buffer.alloc(2_000_000));
      else if (path === '/streamed-big') {
        // No Content-Length: only counting the streamed bytes can stop it.
        res.writeHead(200, { 'Transfer-Encoding': 'chunked' });
        const chunk = Buffer.alloc(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 4_000_000 && res.write(chunk)) sent += chunk.length;
          if (sent >= 4_000_000) res.end();
          else res.once('drain', pump);
        };
        pump();
      } else res.writeHead(404).end('not found');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  });

  it('downloads and extracts a zip', async () => {
    const target = join(dir, 'model');
    expect(await downloadAndExtractModel(`${base}/model.zip?sig=abc`, target)).toBe(target);
    await expectGoodTree(target);
    expect(await readdir(dir)).toEqual(['model']);
  });

  it('keeps a file that is not a zip under its URL basename', async () => {
    const target = join(dir, 'model');
    await downloadAndExtractModel(`${base}/weights%20v1.bin?token=secret`, target);
    expect(await readdir(target)).toEqual(['weights v1.bin']);
    expect(await readFile(join(target, 'weights v1.bin'), 'utf8')).toBe('raw weights');
  });

  it('refuses a hostile archive without showing the signed query', async () => {
    const target = join(dir, 'model');
    const run = downloadAndExtractModel(`${base}/slip.zip?X-Amz-Signature=secret`, target);
    await expectRefused(run, 'Unsafe path in model archive: ../evil.txt', target);
  });

  it.each([
    ['declared-big', 'Content-Length'],
    ['streamed-big', 'streamed bytes'],
  ])('stops a download over the size limit (%s, by %s)', async (path) => {
    const target = join(dir, 'model');
    const url = `${base}/${path}?token=secret`;
    const run = downloadAndExtractModel(url, target, { maxDownloadBytes: 1_000_000 });
    await expectRefused(run, `Model download exceeds 1000000 bytes: ${base}/${path}`, target);
    await expect(run).rejects.not.toThrow('secret');
  });

  it('reports a 404 without the query', async () => {
    const target = join(dir, 'model');
    const run = downloadAndExtractModel(`${base}/missing.zip?token=secret`, target);
    await expectRefused(run, `Model download failed with HTTP 404: ${base}/missing.zip`, target);
    await expect(run).rejects.toThrow(/^Model download failed with HTTP 404: [^?]*$/);
  });

  it('reports an unreachable host without the query', async () => {
    const target = join(dir, 'model');
    const run = downloadAndExtractModel('http://127.0.0.1:1/m.zip?token=secret', target);
    await expectRefused(run, /^Model download failed: http:\/\/127\.0\.0\.1:1\/m\.zip$/, target);
  });

  it('stops when aborted, leaving nothing', async () => {
    const target = join(dir, 'model');
    const controller = new AbortController();
    const run = downloadAndExtractModel(`${base}/streamed-big`, target, { signal: controller.signal });
    controller.abort();
    await expect(run).rejects.toThrow(/abort/i);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('downloadAndExtractModel from the devserver', () => {
  const h = useDevServer();

  it('extracts an uploaded model from its file URL', async () => {
    const zip = await writeZip(GOOD, 'upload.zip');
    const model = await h.client.createModel({ name: 'archive-test', file: zip });
    expect(model.file).toMatch(/^https?:\/\//);
    const target = join(dir, 'model');
    await downloadAndExtractModel(model.file!, target);
    await expectGoodTree(target);
  });
});
