/**
 * A client that reaches the local platform through a reverse proxy stays behind the proxy
 * (#14 item 7): next-page links and chunked-upload URLs follow `X-Forwarded-Host` /
 * `X-Forwarded-Proto`, as the real platform behind a proxy builds them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { listAll } from '../../src/clients/pagination.ts';
import { BackendClient } from '../../src/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();
let proxy: Server;
let proxyUrl: string;
/** `METHOD path` of every request the proxy passed on. */
const seen: string[] = [];

beforeAll(async () => {
  const upstream = new URL(h.server.url);
  // Like nginx's proxy_pass: Host becomes the upstream's, the client's goes in X-Forwarded-Host.
  proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: {
          ...req.headers,
          host: upstream.host,
          'x-forwarded-host': req.headers.host,
          'x-forwarded-proto': 'http',
        },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => proxy.close(resolve)));

describe('behind a reverse proxy', () => {
  it('follows next links through the proxy, page after page', async () => {
    const names = ['p1', 'p2', 'p3'].map((n) => `proxy-${Date.now()}-${n}`);
    const [project] = (await h.admin('POST', '_emulator/fixtures', { projects: [{ title: 'Proxy' }] }))
      .projects;
    await h.admin('POST', '_emulator/fixtures', {
      task_tags: names.map((name) => ({ name, project, color: '#000000', category: 'project' })),
    });
    const client = new BackendClient(proxyUrl, { accessToken: h.server.credentials.accessToken });
    try {
      const [, count] = await client.listTaskTags({ page_size: 1 });
      expect(count).toBeGreaterThanOrEqual(3);
      const page = await client.get('task_tags/', { params: { page_size: 1 } });
      expect(page.next).toBe(`${proxyUrl}/task_tags/?page_size=1&page=2`);
      const second = await client.get('task_tags/', { params: { page_size: 1, page: 2 } });
      expect(second.previous).toBe(`${proxyUrl}/task_tags/?page_size=1`);

      seen.length = 0;
      const tags = await listAll<{ name: string }>(client, 'task_tags/', { page_size: 1 });
      const listed = await tags.toArray();
      expect(listed.map((t) => t.name)).toEqual(expect.arrayContaining(names));
      // Every page, the first and each `next`, went through the proxy.
      expect(seen).toHaveLength(tags.count);
    } finally {
      await client.close();
    }
  });

  it('uploads every chunk through the proxy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxy-upload-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'blob.bin');
    await writeFile(path, Buffer.alloc(2500, 1));
    const client = new BackendClient(proxyUrl, { accessToken: h.server.credentials.accessToken });
    try {
      seen.length = 0;
      const done = await client.createChunkedUpload(path, { chunkSize: 1000 });
      expect(seen).toEqual([
        'PUT /chunked_upload/',
        `PUT /chunked_upload/${done.id}/`,
        `PUT /chunked_upload/${done.id}/`,
        `POST /chunked_upload/${done.id}/`,
      ]);
      expect(done.file.startsWith(`${proxyUrl}/`)).toBe(true);
      expect((await client.getChunkedUpload(done.id)).url).toBe(`${proxyUrl}/chunked_upload/${done.id}/`);
    } finally {
      await client.close();
    }
  });
});
