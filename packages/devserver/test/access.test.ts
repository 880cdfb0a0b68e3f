/**
 * Who may read what (#11 items 3 and 4), over real HTTP to a real devserver: media needs a token
 * or a signed URL, the agent token works on the agent API only, agent tokens are not shown to
 * ordinary users, and a user of another tenant sees none of the first tenant's data.
 * Own server: users in other tenants, and servers with a media URL lifetime of their own.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BackendClient } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';

let server: DevServer;
let dir: string;
const clients: BackendClient[] = [];

const md5 = (data: Uint8Array | string) => createHash('md5').update(data).digest('hex');

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${server.url}/${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: (text ? JSON.parse(text) : null) as any };
}

const access = (token: string) => ({ 'Synapse-Access-Token': `Token ${token}` });
const admin = () => access(server.credentials.accessToken);

async function newUser(email: string, tenant?: string, isAdmin?: boolean): Promise<string> {
  const res = await call('POST', '_emulator/users', admin(), {
    email,
    password: 'a long enough password',
    ...(tenant === undefined ? {} : { tenant }),
    ...(isAdmin === undefined ? {} : { is_admin: isAdmin }),
  });
  expect(res.status).toBe(201);
  return res.body.access_token as string;
}

function clientOf(token: string): BackendClient {
  const client = new BackendClient(server.url, { accessToken: token, retry: { total: 0 } });
  clients.push(client);
  return client;
}

/** The URL without its query: the file's predictable address. */
const bare = (url: string) => url.split('?')[0];

/** A dashboard session cookie, logged in with the given form fields (email+password or token). */
async function dashboardSession(fields: Record<string, string>): Promise<string> {
  const res = await fetch(`${server.url}/ui/login`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
}

async function page(cookie: string, path: string) {
  const res = await fetch(`${server.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

let modelBytes: Buffer;
let model: { id: number; file: string };
let release: { id: number; file: string };
let releaseZip: Uint8Array;

beforeAll(async () => {
  server = await startDevServer();
  dir = await mkdtemp(join(tmpdir(), 'access-test-'));
  const client = clientOf(server.credentials.accessToken);
  modelBytes = Buffer.from(zipSync({ 'weights.bin': strToU8('secret weights') }));
  const modelPath = join(dir, 'model.zip');
  await writeFile(modelPath, modelBytes);
  await call('POST', '_emulator/fixtures', admin(), {
    projects: [{ title: 'Default tenant project' }],
    tasks: [{ project: 1, data: { secret: true } }],
  });
  model = (await client.createModel({ name: 'private model', project: 1, file: modelPath })) as any;
  await client.createPlugin({ name: 'Private', code: 'private-plugin', category: 'neural_net' });
  releaseZip = zipSync({ 'config.yaml': strToU8('name: Private\n'), 'plugin/__init__.py': strToU8('') });
  const releasePath = join(dir, 'plugin.zip');
  await writeFile(releasePath, releaseZip);
  release = (await client.createPluginRelease(
    {
      plugin: 'private-plugin',
      version: '1.0.0',
      config: {
        name: 'Private',
        code: 'private-plugin',
        version: '1.0.0',
        category: 'neural_net',
        actions: { train: { entrypoint: 'plugin.train:Train', method: 'job' } },
      },
    },
    { file: releasePath },
  )) as any;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('media needs a credential', () => {
  it('answers 401 without any credential, at the predictable paths of archives and model files', async () => {
    const releasePath = `media/plugin_releases/${md5('private-plugin@1.0.0')}.zip`;
    expect(bare(release.file)).toBe(`${server.url}/${releasePath}`);
    for (const url of [bare(release.file), bare(model.file)]) {
      const res = await fetch(url);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ detail: 'Authentication credentials were not provided.' });
    }
    // A wrong token is no better than none.
    const wrong = await fetch(bare(model.file), { headers: access('syn_not_a_token') });
    expect(wrong.status).toBe(401);
  });

  it('serves a file to a token of its tenant', async () => {
    const res = await fetch(bare(model.file), { headers: admin() });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(modelBytes);
    const byUserToken = await fetch(bare(release.file), {
      headers: { Authorization: `Token ${server.credentials.accessToken}` },
    });
    expect(byUserToken.status).toBe(200);
    expect(md5(new Uint8Array(await byUserToken.arrayBuffer()))).toBe(md5(releaseZip));
  });

  it('hands out signed URLs that work without a token for the configured lifetime', async () => {
    const url = new URL(model.file);
    const expires = Number(url.searchParams.get('expires'));
    const now = Date.now() / 1000;
    // Default lifetime one hour, rounded up to 5 minutes at most.
    expect(expires).toBeGreaterThanOrEqual(Math.floor(now) + 3600 - 60);
    expect(expires).toBeLessThanOrEqual(Math.ceil(now) + 3600 + 300);
    expect(url.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);
    for (const signed of [model.file, release.file]) {
      const res = await fetch(signed);
      expect(res.status).toBe(200);
    }
    expect(Buffer.from(await (await fetch(model.file)).arrayBuffer())).toEqual(modelBytes);
  });

  it('signs and serves file names that need encoding, as the API lists them', async () => {
    const names = ['100% sure.txt', 'q?x#y.txt', 'ü.txt'];
    for (const name of names) await server.ctx.media.write(`odd/${name}`, Buffer.from(name));
    const { body } = await call('POST', '_emulator/fixtures', admin(), {
      models: names.map((name) => ({ name, file: `media/odd/${name}` })),
    });
    for (const [i, id] of (body.models as number[]).entries()) {
      const listed = await call('GET', `models/${id}/`, admin());
      const res = await fetch(listed.body.file);
      expect(res.status, names[i]).toBe(200);
      expect(await res.text()).toBe(names[i]);
    }
  });

  it("shows the dashboard's images by signed URLs the browser can load without a token", async () => {
    await server.ctx.media.write('dash/photo.png', Buffer.from('not really a png'));
    const { body } = await call('POST', '_emulator/fixtures', admin(), {
      data_collections: [{ name: 'Dash', file_specifications: [{ name: 'image_1', is_primary: true }] }],
    });
    const units = await call('POST', '_emulator/fixtures', admin(), {
      data_units: [
        {
          data_collection: body.data_collections[0],
          files: {
            image_1: { url: 'media/dash/photo.png', is_primary: true, file_name_original: 'photo.png' },
          },
        },
      ],
    });
    const tasks = await call('POST', '_emulator/fixtures', admin(), {
      tasks: [{ project: 1, data_unit: units.body.data_units[0] }],
    });
    const cookie = await dashboardSession({ token: server.credentials.accessToken });
    const { text } = await page(cookie, `/ui/tasks/${tasks.body.tasks[0]}`);
    const src = /<img src="([^"]+)"/.exec(text)?.[1].replaceAll('&amp;', '&');
    expect(src).toMatch(/^\/media\/dash\/photo\.png\?expires=\d+&signature=[0-9a-f]{64}$/);
    const image = await fetch(`${server.url}${src}`);
    expect(image.status).toBe(200);
    expect(await image.text()).toBe('not really a png');
  });

  it('answers 403 to an expired signed URL', async () => {
    const relative = new URL(bare(model.file)).pathname.replace(/^\/media\//, '');
    // Signed by the server's own key two hours ago: a real signature, expired an hour ago.
    const expired = `${server.url}${server.ctx.media.signedPath(relative, Date.now() - 2 * 3600 * 1000)}`;
    const res = await fetch(expired);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ detail: 'This media URL has expired.' });
  });

  it('answers 403 to a tampered signed URL: another file, another expiry, another signature', async () => {
    const url = new URL(model.file);
    const signature = url.searchParams.get('signature')!;
    const expires = url.searchParams.get('expires')!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const tampered = [
      // The model's signature on the release archive.
      `${bare(release.file)}?expires=${expires}&signature=${signature}`,
      `${bare(model.file)}?expires=${Number(expires) + 3600}&signature=${signature}`,
      `${bare(model.file)}?expires=${expires}&signature=${flipped}`,
      `${bare(model.file)}?expires=${expires}&signature=short`,
      `${bare(model.file)}?expires=${expires}`,
    ];
    for (const bad of tampered) {
      const res = await fetch(bad);
      expect(res.status, bad).toBe(403);
      expect(await res.json()).toEqual({ detail: 'This media URL has an invalid signature.' });
    }
  });
});

describe('tokens are separated', () => {
  it('refuses the agent token on the backend API, in any header', async () => {
    const agentToken = server.credentials.agentToken;
    for (const headers of [
      { Authorization: `Token ${agentToken}` } as Record<string, string>,
      { 'Synapse-Access-Token': `Token ${agentToken}` },
    ]) {
      const res = await call('GET', 'projects/', headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: 'The agent token is accepted on the agent API only.' });
    }
    const alone = await call('GET', 'projects/', { 'SYNAPSE-Agent': `Token ${agentToken}` });
    expect(alone.status).toBe(401);
    expect(alone.body.detail).toBe(
      'An agent token is accepted on the backend API only together with a user token.',
    );
    // Nor does it open the media route.
    expect(
      (await fetch(bare(model.file), { headers: { Authorization: `Token ${agentToken}` } })).status,
    ).toBe(401);
  });

  it('accepts the agent token on the agent API, and beside a user token of its tenant', async () => {
    const agentApi = await call('GET', 'agent/resources/policy/', {
      Authorization: server.credentials.agentToken,
    });
    expect(agentApi.status).toBe(200);
    const both = await call('GET', 'projects/', {
      ...admin(),
      'SYNAPSE-Agent': `Token ${server.credentials.agentToken}`,
    });
    expect(both.status).toBe(200);
    const badAgent = await call('GET', 'projects/', {
      ...admin(),
      'SYNAPSE-Agent': `Token ${'0'.repeat(40)}`,
    });
    expect(badAgent).toMatchObject({ status: 401, body: { detail: 'Invalid agent token.' } });
    // A user token is not an agent token either.
    expect(
      (
        await call('GET', 'agent/resources/policy/', {
          Authorization: server.credentials.accessToken,
        })
      ).status,
    ).toBe(401);
  });

  it('shows agent tokens to the tenant admin only, never to an ordinary user', async () => {
    const mine = await call('GET', 'agents/', admin());
    expect(mine.body.results[0].token).toBe(server.credentials.agentToken);
    const ordinary = await newUser('member@synapse.local');
    const seen = await call('GET', 'agents/', access(ordinary));
    expect(seen.status).toBe(200);
    expect(seen.body.count).toBe(1);
    expect(seen.body.results[0]).toMatchObject({ name: 'local', token: null, node_install_script: null });
    expect(seen.text).not.toContain(server.credentials.agentToken);
    // An ordinary user administers nothing of the emulator either.
    const reset = await call('POST', '_emulator/users', access(ordinary), {
      email: 'x@y.z',
      password: '12345678',
    });
    expect(reset.status).toBe(403);
  });
});

describe('a user of another tenant', () => {
  let other: string;
  beforeAll(async () => {
    other = await newUser('other@acme.test', 'acme', true);
  });

  it("sees none of the first tenant's projects, tasks, models, releases or agents", async () => {
    const h = access(other);
    for (const path of [
      'projects/',
      'sdk/tasks/?project=1',
      'models/',
      'plugin_releases/',
      'plugins/',
      'agents/',
    ]) {
      const res = await call('GET', path, h);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toMatchObject({ count: 0, results: [] });
    }
    for (const path of ['projects/1/', 'tasks/1/', `models/${model.id}/`, `plugin_releases/${release.id}/`]) {
      expect(await call('GET', path, h), path).toMatchObject({ status: 404, body: { detail: 'Not found.' } });
    }
    // Its agent header cannot borrow the first tenant's agent.
    const borrowed = await call('GET', 'projects/', { ...h, 'SYNAPSE-Agent': server.credentials.agentToken });
    expect(borrowed.status).toBe(403);
  });

  it("sees none of the first tenant's data on the dashboard either", async () => {
    const mine = await dashboardSession({ email: 'other@acme.test', password: 'a long enough password' });
    const theirs = await dashboardSession({ token: server.credentials.accessToken });
    for (const path of ['/ui/projects', '/ui/models', '/ui/plugins']) {
      const own = await page(theirs, path);
      expect(own.status, path).toBe(200);
      const other = await page(mine, path);
      expect(other.status, path).toBe(200);
      for (const name of ['Default tenant project', 'private model', 'Private']) {
        if (own.text.includes(`>${name}<`)) expect(other.text, `${path}: ${name}`).not.toContain(`>${name}<`);
      }
    }
    expect((await page(theirs, '/ui/projects')).text).toContain('Default tenant project');
    expect((await page(mine, '/ui/projects/1')).status).toBe(404);
  });

  it("cannot read the first tenant's files with its token", async () => {
    for (const url of [bare(model.file), bare(release.file)]) {
      const res = await fetch(url, { headers: access(other) });
      expect(res.status).toBe(404);
    }
  });

  it('keeps its own files under its own prefix, out of the first tenant reach', async () => {
    const path = join(dir, 'acme.zip');
    const bytes = Buffer.from(zipSync({ 'w.bin': strToU8('acme weights') }));
    await writeFile(path, bytes);
    const own = (await clientOf(other).createModel({ name: 'acme model', file: path })) as any;
    expect(bare(own.file)).toBe(`${server.url}/media/tenants/acme/models/${own.id}/acme.zip`);
    const res = await fetch(bare(own.file), { headers: access(other) });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    expect((await fetch(bare(own.file), { headers: admin() })).status).toBe(404);
    // Nor by a detour through a default-tenant folder (encoded so that no client normalises it).
    const detour = `${server.url}/media/models%2F..%2Ftenants%2Facme%2Fmodels%2F${own.id}%2Facme.zip`;
    expect((await fetch(detour, { headers: admin() })).status).toBe(404);
    expect(await call('GET', `models/${own.id}/`, admin())).toMatchObject({ status: 404 });
    const list = await call('GET', 'models/', admin());
    const ids = list.body.results.map((m: { id: number }) => m.id);
    expect(ids).toContain(model.id);
    expect(ids).not.toContain(own.id);
  });
});

describe('signed media URLs: lifetime and key', () => {
  it('refuses a lifetime out of bounds, naming the option', async () => {
    for (const ttl of [0, 1.5, 8 * 24 * 3600]) {
      await expect(startDevServer({ mediaUrlTtlSeconds: ttl })).rejects.toThrow(
        /mediaUrlTtlSeconds must be a whole number of seconds from 1 to 604800/,
      );
    }
  });

  it('hands out URLs of the configured lifetime, signed with a key that outlives a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'access-ttl-'));
    try {
      const first = await startDevServer({ dataDir, mediaUrlTtlSeconds: 120 });
      let url: string;
      try {
        const h = access(first.credentials.accessToken);
        const res = await fetch(`${first.url}/_emulator/fixtures`, {
          method: 'POST',
          headers: { ...h, 'Content-Type': 'application/json' },
          body: JSON.stringify({ models: [{ name: 'gone', file: 'media/models/1/gone.zip' }] }),
        });
        expect(res.status).toBe(200);
        const before = Date.now() / 1000;
        const listed = (await (await fetch(`${first.url}/models/`, { headers: h })).json()) as any;
        url = listed.results[0].file;
        const expires = Number(new URL(url).searchParams.get('expires'));
        expect(expires).toBeGreaterThanOrEqual(Math.floor(before) + 120);
        expect(expires).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 121);
      } finally {
        await first.close();
      }
      // The signature covers the path and the expiry, not the port the server listens on.
      const second = await startDevServer({ dataDir });
      try {
        const path = `${new URL(url).pathname}${new URL(url).search}`;
        // The signature is still valid after the restart: the file is simply not there (404, not 403).
        const res = await fetch(`${second.url}${path}`);
        expect(res.status).toBe(404);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
