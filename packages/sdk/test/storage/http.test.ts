/**
 * The read-only `http` provider against real web servers: Python's own `http.server` (a server
 * nobody here wrote) for plain reads, and a small server of this test for what that one cannot
 * do (credentials, redirects, lengths that lie). Read-only and no listing, said by name; paths and
 * redirects that would leave the base URL refused; credentials never shown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import type { Storage } from 'synapse-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStorage, openStorage, StorageError, type StorageProvider } from '../../src/index.ts';
import { closedPort, useSharedPlatform } from '../helpers.ts';
import { collect, expectNoSecret, patternStream } from './support.ts';

const record = (configuration: Record<string, unknown>, provider = 'http'): Storage => ({
  id: 63,
  name: 'web',
  category: 'external',
  provider,
  configuration,
  is_default: false,
});
const LABEL = 'storage 63 "web" (http)';
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;

let dir: string;
let python: ChildProcess | undefined;
let pythonUrl: string | undefined;
let own: Server;
let ownUrl: string;
const opened: StorageProvider[] = [];
const open = (configuration: Record<string, unknown>, provider?: string) => {
  const storage = openStorage(record(configuration, provider));
  opened.push(storage);
  return storage;
};

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synapse-http-storage-'));
  await mkdir(join(dir, 'files', 'a b'), { recursive: true });
  await writeFile(join(dir, 'secret.txt'), 'outside the base');
  await writeFile(join(dir, 'files', 'a b', 'c.txt'), 'spaced');

  const port = await closedPort();
  python = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, String(port)], {
    stdio: 'ignore',
  });
  python.on('error', () => {
    python = undefined;
  });
  for (let i = 0; i < 100 && python && python.exitCode === null; i++) {
    if (await listening(port)) {
      pythonUrl = `http://127.0.0.1:${port}/files/`;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  own = createServer((req, res) => {
    const path = req.url ?? '';
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return res.writeHead(401).end('who are you');
    if (path === '/files/real.txt') return res.writeHead(200, { 'content-length': 4 }).end('real');
    if (path === '/files/moved.txt') return res.writeHead(302, { location: '/files/real.txt' }).end();
    if (path === '/files/away.txt') return res.writeHead(302, { location: '/secret.txt' }).end();
    if (path === '/files/elsewhere.txt')
      return res.writeHead(301, { location: 'http://example.invalid/files/real.txt' }).end();
    if (path === '/files/loop.txt') return res.writeHead(302, { location: '/files/loop.txt' }).end();
    if (path === '/files/big.bin')
      return res.writeHead(200, { 'content-length': 5000 }).end(Buffer.alloc(5000));
    // No length announced: only counting the bytes finds it too large.
    if (path === '/files/unannounced.bin') {
      res.writeHead(200);
      res.write(Buffer.alloc(3000));
      return res.end(Buffer.alloc(3000));
    }
    if (path === '/files/broken.txt') return res.writeHead(500).end();
    if (path === '/files/') return res.writeHead(404).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  ownUrl = `http://127.0.0.1:${(own.address() as { port: number }).port}/files`;
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  python?.kill();
  own.closeAllConnections();
  await new Promise((resolve) => own.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('http storage', () => {
  it('reads files of a real web server (Python http.server) as streams', async (ctx) => {
    if (!pythonUrl) return ctx.skip('python3 is not installed: no independent web server to read from');
    const size = 3 * 1024 * 1024 + 7;
    const big = patternStream(size, 'http');
    await writeFile(join(dir, 'files', 'big.bin'), await buffer(big.stream));
    const storage = open({ base_url: pythonUrl.replace(/\/$/, '') });
    expect(storage.writable).toBe(false);
    await storage.check();
    const back = await buffer(await storage.read('big.bin'));
    expect(back.length).toBe(size);
    expect(createHash('sha256').update(back).digest('hex')).toBe(big.sha256);
    // Segments are percent-encoded: a space is a space, not a cut.
    expect(await text(await storage.read('a b/c.txt'))).toBe('spaced');
    expect(await storage.exists('a b/c.txt')).toBe(true);
    expect(await storage.exists('missing.txt')).toBe(false);
    await expect(storage.read('missing.txt')).rejects.toMatchObject({
      code: 'not_found',
      message: `${LABEL}: no file missing.txt`,
    });
    expect(storage.locate('a b/c.txt')).toBe(`${pythonUrl}a%20b/c.txt`);
  });

  it('is read-only and cannot list, and says so', async () => {
    const storage = open({ base_url: ownUrl, headers: { Authorization: `Bearer ${TOKEN}` } }, 'https');
    await expect(storage.write('x.txt', 'x')).rejects.toMatchObject({
      code: 'read_only',
      message: 'storage 63 "web" (https): an HTTP storage is read-only (cannot change x.txt)',
    });
    await expect(storage.remove('x.txt')).rejects.toMatchObject({ code: 'read_only' });
    await expect(collect(storage.list(''))).rejects.toMatchObject({
      code: 'unsupported',
      message: 'storage 63 "web" (https): an HTTP storage cannot list its files',
    });
  });

  it('sends its headers, follows redirects that stay under the base URL, refuses the others', async () => {
    const storage = open({ base_url: ownUrl, headers: { Authorization: `Bearer ${TOKEN}` } });
    await storage.check();
    expect(await text(await storage.read('real.txt'))).toBe('real');
    expect(await text(await storage.read('moved.txt'))).toBe('real');
    for (const path of ['away.txt', 'elsewhere.txt']) {
      const err = await storage.read(path).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'unsafe_path',
        message: `${LABEL}: ${path} redirects out of the storage's base URL`,
      });
    }
    await expect(storage.read('loop.txt')).rejects.toMatchObject({
      code: 'invalid',
      message: `${LABEL}: loop.txt redirects more than 5 times`,
    });
    await expect(storage.read('broken.txt')).rejects.toMatchObject({
      code: 'unreachable',
      message: `${LABEL}: the server failed on broken.txt (500)`,
    });
    for (const path of ['../secret.txt', 'a/../../secret.txt', '/secret.txt', 'a\\b']) {
      const err = await storage.read(path).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('unsafe_path');
    }
  });

  it('bounds what it reads, announced or not', async () => {
    const storage = new HttpStorage(
      { baseUrl: ownUrl, headers: { Authorization: `Bearer ${TOKEN}` }, maxBytes: 4096 },
      LABEL,
    );
    opened.push(storage);
    await expect(storage.read('big.bin')).rejects.toMatchObject({
      code: 'invalid',
      message: `${LABEL}: big.bin is larger than 4096 bytes`,
    });
    await expect(buffer(await storage.read('unannounced.bin'))).rejects.toMatchObject({
      code: 'invalid',
      message: `${LABEL}: unannounced.bin is larger than 4096 bytes`,
    });
  });

  it('says the server refused, or could not be reached, without the credentials', async () => {
    const wrong = `tok-${randomBytes(16).toString('hex')}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const refused = [
      open({ base_url: ownUrl, headers: { Authorization: `Bearer ${wrong}` } }),
      open({ base_url: ownUrl.replace('http://', `http://someone:${password}@`) }),
    ];
    for (const storage of refused) {
      for (const attempt of [
        () => storage.check(),
        () => storage.read('real.txt'),
        () => storage.exists('real.txt'),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'refused' });
        expect((err as Error).message).toMatch(
          /^storage 63 "web" \(http\): the server refused access to .* \(401\)$/,
        );
        expectNoSecret(err, [wrong, password, TOKEN]);
      }
      expect(storage.locate('real.txt')).toBe(`${ownUrl}/real.txt`);
    }
    const gone = open({
      base_url: `http://someone:${password}@127.0.0.1:${await closedPort()}/files/`,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const err = await gone.check().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unreachable' });
    expect((err as Error).message).toMatch(
      /^storage 63 "web" \(http\): http:\/\/127\.0\.0\.1:\d+\/files\/ could not be reached \(ECONNREFUSED\)$/,
    );
    expectNoSecret(err, [password, TOKEN]);
  });

  it('names the bad configuration', () => {
    const bad = (configuration: Record<string, unknown>) => {
      try {
        openStorage(record(configuration));
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(bad({})).toBe(`${LABEL}: configuration.base_url is missing or not a string`);
    expect(bad({ base_url: 'ftp://x/' })).toBe(
      `${LABEL}: configuration.base_url must start with http:// or https://`,
    );
    expect(bad({ base_url: ownUrl, headers: { a: 1 } })).toBe(
      `${LABEL}: configuration.headers must be an object of strings`,
    );
    expect(bad({ base_url: ownUrl, timeout: 0 })).toBe(
      `${LABEL}: configuration.timeout must be a number of seconds (at most 3600)`,
    );
  });
});

describe('an http storage record of the local platform', () => {
  const h = useSharedPlatform();

  it('opens as the client fetches it', async () => {
    const { storages } = await h.admin('POST', '_emulator/fixtures', {
      storages: [
        {
          name: 'web',
          category: 'external',
          provider: 'http',
          configuration: { base_url: ownUrl, headers: { Authorization: `Bearer ${TOKEN}` } },
        },
      ],
    });
    const storage = openStorage(await h.client.getStorage(storages[0]));
    opened.push(storage);
    expect(storage.label).toBe(`storage ${storages[0]} "web" (http)`);
    expect(await text(await storage.read('moved.txt'))).toBe('real');
  });
});
