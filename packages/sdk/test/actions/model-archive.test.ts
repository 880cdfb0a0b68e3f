import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Zippable, zipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildZip, zeroBomb } from '../../../../test-support/archives.ts';
import { downloadAndExtractModel, ModelArchiveError } from '../../src/archive/model-archive.ts';
import { ExtractionError, PluginError } from '../../src/index.ts';
import { useSharedPlatform } from '../helpers.ts';

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
  expect(error).toBeInstanceOf(message.toString().includes('entry') ? ExtractionError : ModelArchiveError);
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

describe('downloadAndExtractModel', () => {
  let server: Server;
  let base: string;
  const goodZip = Buffer.from(zipSync(GOOD));
  const slipZip = Buffer.from(zipSync({ '../evil.txt': new Uint8Array([1]) }));
  // 10 MiB of zeros in ~10 KiB; its headers are honest, so only the ratio limit stops it.
  const bombZip = buildZip([{ name: 'weights.bin', deflated: zeroBomb(10) }]);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/model.zip') res.end(goodZip);
      else if (path === '/slip.zip') res.end(slipZip);
      else if (path === '/bomb.zip') res.end(bombZip);
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
    await expectRefused(
      run,
      `Model archive entry "../evil.txt" refused: unsafe path (absolute, drive letter, backslash, NUL or '..' segment)`,
      target,
    );
    await expect(run).rejects.not.toThrow('secret');
  });

  it('refuses a zip bomb by its compression ratio, well under the size limit (#11 item 1)', async () => {
    const target = join(dir, 'model');
    const run = downloadAndExtractModel(`${base}/bomb.zip?token=secret`, target);
    await expectRefused(
      run,
      /^Model archive entry "weights.bin" refused: compression ratio \d+:1 exceeds the limit of 100:1$/,
      target,
    );
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
  const h = useSharedPlatform();

  it('extracts an uploaded model from its file URL', async () => {
    const zip = await writeZip(GOOD, 'upload.zip');
    const model = await h.client.createModel({ name: 'archive-test', file: zip });
    expect(model.file).toMatch(/^https?:\/\//);
    const target = join(dir, 'model');
    await downloadAndExtractModel(model.file!, target);
    await expectGoodTree(target);
  });
});
