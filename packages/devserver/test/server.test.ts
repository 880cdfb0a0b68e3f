/**
 * The devserver's wire format over real HTTP: pagination, lookups, errors, recorded requests,
 * chunked upload, persistence.
 * Own server: its paging proofs count every model on the server, it reads the recorded-request log,
 * and it restarts on a data folder.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';

let server: DevServer;
let headers: Record<string, string>;

async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
}

beforeAll(async () => {
  server = await startDevServer();
  headers = { 'Synapse-Access-Token': `Token ${server.credentials.accessToken}` };
  const models = Array.from({ length: 250 }, (_, i) => ({ name: `m${i}`, project: (i % 2) + 1 }));
  await call('POST', '_emulator/fixtures', { models });
});
afterAll(() => server.close());

describe('devserver wire format', () => {
  it('answers health without auth', async () => {
    const res = await fetch(`${server.url}/health/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  });

  it('paginates with absolute next/previous links that keep the other params', async () => {
    const first = await call('GET', 'models/?project=1&page_size=50');
    expect(first.body.count).toBe(125);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toBe(`${server.url}/models/?project=1&page_size=50&page=2`);
    const second = await call('GET', 'models/?project=1&page_size=50&page=2');
    expect(second.body.previous).toBe(`${server.url}/models/?project=1&page_size=50`);
    expect(second.body.results[0].name).toBe('m100');
    const last = await call('GET', 'models/?project=1&page_size=50&page=3');
    expect(last.body.next).toBeNull();
    expect(last.body.results).toHaveLength(25);
  });

  it('clamps page_size to 100 and rejects pages past the end', async () => {
    const big = await call('GET', 'models/?page_size=1000');
    expect(big.body.results).toHaveLength(100);
    expect(await call('GET', 'models/?page=4')).toEqual({ status: 404, body: { detail: 'Invalid page.' } });
    expect(await call('GET', 'models/?page=abc')).toEqual({ status: 404, body: { detail: 'Invalid page.' } });
    const empty = await call('GET', 'models/?project=77');
    expect(empty.body).toEqual({ count: 0, next: null, previous: null, results: [] });
  });

  it('keeps only the requested fields, and ignores unknown params', async () => {
    const { body } = await call('GET', 'models/?fields=id,name,nope&page_size=2&unknown=1');
    expect(body.results).toEqual([
      { id: 1, name: 'm0' },
      { id: 2, name: 'm1' },
    ]);
  });

  it('supports lookups: __in, __gte, __lte, __isnull and bad values', async () => {
    expect((await call('GET', 'models/?id__in=1,2,3')).body.count).toBe(3);
    expect((await call('GET', 'models/?id__gte=240')).body.count).toBe(11);
    expect((await call('GET', 'models/?id__lte=10&project=2')).body.count).toBe(5);
    expect((await call('GET', 'models/?model_type__isnull=true')).body.count).toBe(250);
    expect(await call('GET', 'models/?project=abc')).toEqual({
      status: 400,
      body: { project: ['Enter a whole number.'] },
    });
  });

  it('answers 404 with a JSON detail for unknown ids and paths', async () => {
    expect(await call('GET', 'models/99999/')).toEqual({ status: 404, body: { detail: 'Not found.' } });
    expect(await call('GET', 'no_such_thing/')).toEqual({ status: 404, body: { detail: 'Not found.' } });
  });

  it('answers 405 for a known path asked with another method', async () => {
    expect(await call('DELETE', 'models/')).toEqual({
      status: 405,
      body: { detail: 'Method "DELETE" not allowed.' },
    });
    expect((await call('PATCH', 'api/models/1/')).status).toBe(405);
    // Public pages say 405 without asking who is calling; private ones still ask first.
    expect((await fetch(`${server.url}/ui/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/health/`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${server.url}/models/`, { method: 'DELETE' })).status).toBe(401);
  });

  it('records requests without their credentials', async () => {
    await call('DELETE', '_emulator/requests');
    await call('POST', 'users/login/', { email: 'someone@example.com', password: 'hunter2-secret' });
    await call('GET', 'models/?page_size=1&token=query-secret');
    const recorded = JSON.stringify((await call('GET', '_emulator/requests')).body);
    expect(recorded).toContain('users/login/');
    for (const secret of [server.credentials.accessToken, 'hunter2-secret', 'query-secret']) {
      expect(recorded).not.toContain(secret);
    }
    expect(recorded).toContain('<redacted>');
  });

  it('records requests without credentials nested in their bodies or headers', async () => {
    await call('DELETE', '_emulator/requests');
    const body = {
      email: 'someone@example.com',
      params: { api_key: 'nested-api-key', model: 'm', steps: [{ token: 'list-token' }] },
      source: 'https://bucket.example/a.jpg?X-Amz-Signature=url-signature',
    };
    await call('POST', 'users/login/', body, { 'SYNAPSE-User': 'Token user-secret' });
    const [login] = (await call('GET', '_emulator/requests')).body;
    const text = JSON.stringify(login);
    for (const secret of ['nested-api-key', 'list-token', 'url-signature', 'user-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(login.body).toEqual({
      email: 'someone@example.com',
      params: { api_key: '<redacted>', model: 'm', steps: [{ token: '<redacted>' }] },
      source: 'https://bucket.example/a.jpg?X-Amz-Signature=***',
    });
    expect(login.headers['synapse-user']).toBe('<redacted>');
  });

  it('keeps the connection of a request that asks for an upgrade to anything but a WebSocket', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const health = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = get(`${server.agentUrl}/health/`, { agent, headers: { Upgrade: 'h2c' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    try {
      expect(await health()).toEqual({ status: 200, reused: false });
      expect(await health()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await fetch(`${server.url}/models/`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: '{"name": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).detail).toMatch(/^JSON parse error/);
  });
});

describe('chunked upload', () => {
  async function put(url: string, bytes: Buffer, range: string) {
    const form = new FormData();
    form.append('filename', 'big.bin');
    form.append('file', new Blob([bytes]), 'chunk');
    const res = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'Content-Range': range },
      body: form,
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('rejects an offset mismatch and a wrong part length, keeping the good bytes', async () => {
    const first = await put(`${server.url}/chunked_upload/`, Buffer.from('hello '), 'bytes 0-5/11');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ offset: 6, filename: 'big.bin' });
    expect(first.body.url).toBe(`${server.url}/chunked_upload/${first.body.id}/`);
    const skipped = await put(first.body.url, Buffer.from('d'), 'bytes 10-10/11');
    expect(skipped).toEqual({ status: 400, body: { detail: 'Offsets do not match', offset: 6 } });
    const short = await put(first.body.url, Buffer.from('wor'), 'bytes 6-10/11');
    expect(short).toEqual({ status: 400, body: { detail: 'Invalid Content-Range' } });
    const early = await call('POST', `chunked_upload/${first.body.id}/`, { md5: 'x' });
    expect(early).toEqual({ status: 400, body: { detail: 'Upload is incomplete' } });
    const rest = await put(first.body.url, Buffer.from('world'), 'bytes 6-10/11');
    expect(rest.body.offset).toBe(11);
    const md5 = createHash('md5').update('hello world').digest('hex');
    const done = await call('POST', `chunked_upload/${first.body.id}/`, { md5 });
    expect(done.body).toMatchObject({ id: first.body.id, checksum: md5, size: 11 });
    expect(await (await fetch(done.body.file)).text()).toBe('hello world');
  });

  it('rejects a wrong md5 and keeps nothing', async () => {
    const first = await put(`${server.url}/chunked_upload/`, Buffer.from('abc'), 'bytes 0-2/3');
    const bad = await call('POST', `chunked_upload/${first.body.id}/`, { md5: '0'.repeat(32) });
    expect(bad).toEqual({ status: 400, body: { detail: 'md5 checksum does not match' } });
    expect((await call('POST', `chunked_upload/${first.body.id}/`, { md5: 'x' })).status).toBe(404);
    const uploads = await readdir(join(server.ctx.dataDir, 'uploads'));
    expect(uploads.filter((f) => f.startsWith(first.body.id))).toEqual([]);
  });
});

describe('persistence', () => {
  it('keeps state and credentials across a restart of the same data directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'devserver-persist-'));
    const a = await startDevServer({ dataDir });
    const token = a.credentials.accessToken;
    expect(a.credentials.password).toBeTruthy();
    await fetch(`${a.url}/_emulator/fixtures`, {
      method: 'POST',
      headers: { 'Synapse-Access-Token': token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ models: [{ name: 'survivor' }] }),
    });
    await a.close();
    // Parts of presigned uploads pending when it stopped: the restarted server forgot those uploads.
    await mkdir(join(dataDir, 'presigned', 'stale'), { recursive: true });
    await writeFile(join(dataDir, 'presigned', 'stale', '1'), 'part');
    const b = await startDevServer({ dataDir });
    await expect(stat(join(dataDir, 'presigned'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(b.credentials.accessToken).toBe(token);
    expect(b.credentials.password).toBeUndefined();
    const res = await fetch(`${b.url}/models/`, { headers: { 'Synapse-Access-Token': token } });
    expect(((await res.json()) as any).results.map((m: { name: string }) => m.name)).toEqual(['survivor']);
    await b.close();
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('a start that fails', () => {
  it('leaves no data folder, database or listener behind (here: its port is taken)', async () => {
    // The ephemeral data folder is made in the temp dir: point it at a folder of this test's own.
    const temp = await mkdtemp(join(tmpdir(), 'synapse-failed-start-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = temp;
    try {
      const port = Number(new URL(server.url).port);
      await expect(startDevServer({ port })).rejects.toThrow(/EADDRINUSE|address already in use/);
      // (The embedded database's template cache, `synapse-devserver/`, is shared on purpose.)
      expect((await readdir(temp)).filter((name) => name.startsWith('synapse-dev-'))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      await rm(temp, { recursive: true, force: true });
    }
  });
});
