/**
 * The serve runtime against real processes and a real devserver: models uploaded as zips, loaded
 * by worker replicas through `getModel()`, requests through the HTTP gateway.
 * Own server: faults on its model and media routes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../../test-support/job-plugin.ts';
import { createServeMultiplexedModelId, LocalServeBackend, type ServeApp } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';
import { BrokenDeployment, WeightsDeployment } from './fixtures/deployments.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/deployments.ts', import.meta.url));
let TMP: string;

const h = useDevServer({ faults: true });
const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
const tokens: Record<string, string> = {};
const modelIds: Record<string, number> = {};
let apps = 0;

function app(overrides: Partial<ServeApp> = {}): ServeApp {
  const n = ++apps;
  return {
    name: `app-${n}@1.0.0`,
    routePrefix: `/app${n}`,
    deployment: WeightsDeployment,
    initArgs: [h.server.url],
    actorOptions: {},
    serveOptions: {},
    modulePath: FIXTURE,
    exportName: 'WeightsDeployment',
    ...overrides,
  };
}

async function call(path: string, opts: { token?: string; body?: unknown; method?: string } = {}) {
  const res = await fetch(`${backend.url}${path}`, {
    method: opts.method ?? 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(opts.token ? { serve_multiplexed_model_id: opts.token } : {}),
    },
    body: opts.method === 'GET' ? undefined : JSON.stringify(opts.body ?? {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), 'synapse-serve-runtime-'));
  for (const name of ['alpha', 'beta', 'gamma']) {
    const zip = join(TMP, `${name}.zip`);
    await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name })) }));
    const model = await h.client.createModel({ name, file: zip } as never);
    modelIds[name] = model.id;
    tokens[name] = createServeMultiplexedModelId(model.id, h.server.credentials.accessToken, h.server.url);
  }
  await backend.init();
});

afterAll(async () => {
  await backend.close();
  await rm(TMP, { recursive: true, force: true });
});

describe('worker replicas', () => {
  it('evicts the least recently used model past maxModelsPerReplica and disposes it', async () => {
    const a = app();
    await backend.run(a);
    const [pid] = backend.replicaPids(a.name);
    expect(pid).not.toBe(process.pid);
    for (const name of ['alpha', 'beta', 'gamma']) {
      const res = await call(`${a.routePrefix}/`, { token: tokens[name], body: { x: 1 } });
      expect(res).toEqual({ status: 200, body: { model: name, pid, input: { x: 1 } } });
    }
    expect((await call(`${a.routePrefix}/stats`, { method: 'GET' })).body).toMatchObject({
      loads: 3,
      disposed: ['alpha'],
      loaded: 2,
    });
    // gamma (cached) stays, alpha is loaded again and beta evicted.
    await call(`${a.routePrefix}/`, { token: tokens.gamma });
    await call(`${a.routePrefix}/`, { token: tokens.alpha });
    expect((await call(`${a.routePrefix}/stats`, { method: 'GET' })).body).toMatchObject({
      loads: 4,
      disposed: ['alpha', 'beta'],
    });
    await backend.delete(a.name);
  });

  it('loads a model once for fifty concurrent first requests', async () => {
    const a = app();
    await backend.run(a);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => call(`${a.routePrefix}/`, { token: tokens.beta, body: { i } })),
    );
    expect(results.every((r) => r.status === 200 && r.body.model === 'beta')).toBe(true);
    expect((await call(`${a.routePrefix}/stats`, { method: 'GET' })).body.loads).toBe(1);
    await backend.delete(a.name);
  });

  it("keeps a replica's downloaded models in a folder of its own, removed when the replica is killed", async () => {
    const a = app();
    await backend.run(a);
    const [pid] = backend.replicaPids(a.name);
    expect((await call(`${a.routePrefix}/`, { token: tokens.alpha })).status).toBe(200);
    // Linux: the replica's environment names its scratch folder (SYNAPSE_SERVE_SCRATCH_DIR).
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    const scratch = environ.find((v) => v.startsWith('SYNAPSE_SERVE_SCRATCH_DIR='))!.split('=')[1];
    expect(scratch.startsWith(tmpdir())).toBe(true);
    expect((await readdir(scratch)).filter((f) => f.startsWith('synapse_model_'))).toHaveLength(1);
    // Killed, the replica cannot dispose its models: the backend that started it removes the folder.
    process.kill(pid, 'SIGKILL');
    await until(
      async () => existsSync(scratch),
      (exists) => !exists,
    );
    await backend.delete(a.name);
  });

  it('sends the same model to the same replica', async () => {
    const a = app({ serveOptions: { num_replicas: 2 } });
    await backend.run(a);
    const pids = backend.replicaPids(a.name);
    expect(new Set(pids).size).toBe(2);
    const seen: Record<string, Set<number>> = {};
    for (let round = 0; round < 4; round++) {
      for (const name of ['alpha', 'beta', 'gamma']) {
        const res = await call(`${a.routePrefix}/`, { token: tokens[name] });
        expect(res.status).toBe(200);
        seen[name] ??= new Set();
        seen[name].add(res.body.pid);
      }
    }
    for (const name of ['alpha', 'beta', 'gamma']) {
      expect(seen[name].size).toBe(1);
      expect(pids).toContain([...seen[name]][0]);
    }
    expect((await backend.status(a.name))?.deployments[0]).toMatchObject({ replica_states: { RUNNING: 2 } });
    await backend.delete(a.name);
  });

  it('goes DEPLOYING → RUNNING, and DEPLOY_FAILED when the constructor throws', async () => {
    const a = app();
    const running = backend.run(a);
    expect((await backend.status(a.name))?.status).toBe('DEPLOYING');
    await running;
    const status = await backend.status(a.name);
    expect(status).toMatchObject({
      name: a.name,
      status: 'RUNNING',
      route_prefix: a.routePrefix,
      message: '',
      docs_path: null,
      deployments: [{ name: 'WeightsDeployment', status: 'HEALTHY', replica_states: { RUNNING: 1 } }],
    });
    expect(typeof status?.last_deployed_time_s).toBe('number');
    const routes = await (await fetch(`${backend.url}/-/routes`)).json();
    expect(routes).toMatchObject({ [a.routePrefix]: a.name });
    await backend.delete(a.name);
    expect(await backend.status(a.name)).toBeNull();

    const broken = app({ deployment: BrokenDeployment, exportName: 'BrokenDeployment' });
    await expect(backend.run(broken)).rejects.toThrow('constructor failed');
    expect(await backend.status(broken.name)).toMatchObject({
      status: 'DEPLOY_FAILED',
      message: 'constructor failed',
    });
    await backend.delete(broken.name);
  });
});

describe('gateway errors', () => {
  let a: ServeApp;

  beforeAll(async () => {
    a = app({ modulePath: undefined }); // an in-process replica
    await backend.run(a);
  });

  it('answers 401 for a tampered token', async () => {
    const t = tokens.alpha;
    const tampered = t.slice(0, -2) + (t.endsWith('AA') ? 'BB' : 'AA');
    expect(await call(`${a.routePrefix}/`, { token: tampered })).toEqual({
      status: 401,
      body: { detail: 'Invalid model token' },
    });
    const other = createServeMultiplexedModelId(1, 'x', 'http://another-backend');
    expect((await call(`${a.routePrefix}/`, { token: other })).status).toBe(401);
  });

  it('answers 401 with its own words when the backend refuses the user token the model token carries', async () => {
    const stranger = createServeMultiplexedModelId(
      modelIds.alpha,
      'syn_not-a-token-of-this-backend',
      h.server.url,
    );
    const res = await call(`${a.routePrefix}/`, { token: stranger });
    expect(res).toEqual({
      status: 401,
      body: { detail: 'The model token carries a user token the backend does not accept' },
    });
  });

  it('answers 404 "Model N not found" for a model the backend does not have', async () => {
    const unknown = createServeMultiplexedModelId(987654, h.server.credentials.accessToken, h.server.url);
    expect(await call(`${a.routePrefix}/`, { token: unknown })).toEqual({
      status: 404,
      body: { detail: 'Model 987654 not found' },
    });
  });

  it('answers 502 without the backend text when the backend fails, and serves once it is back', async () => {
    await h.admin('POST', '_emulator/faults', {
      status: 500,
      path: `/models/${modelIds.beta}/`,
      body: { detail: 'password=hunter2 in postgres://admin:hunter2@db/synapse' },
    });
    const res = await call(`${a.routePrefix}/`, { token: tokens.beta });
    expect(res).toEqual({
      status: 502,
      body: { detail: `Model ${modelIds.beta} could not be loaded: the backend answered HTTP 500` },
    });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    expect((await call(`${a.routePrefix}/`, { token: tokens.beta })).body.model).toBe('beta');
  });

  it('answers 502 when the model file cannot be downloaded, naming the model and the HTTP status', async () => {
    await h.admin('POST', '_emulator/faults', { status: 500, path: '/media/', body: { detail: 'secret' } });
    const res = await call(`${a.routePrefix}/`, { token: tokens.alpha });
    expect(res.status).toBe(502);
    expect(res.body.detail).toMatch(
      new RegExp(`^Model ${modelIds.alpha} could not be loaded: Model download failed with HTTP 500: http`),
    );
    expect(JSON.stringify(res.body)).not.toContain('secret');
    expect((await call(`${a.routePrefix}/`, { token: tokens.alpha })).body.model).toBe('alpha');
  });

  it.each(['1; DROP', '0', '-1', '1e3', '007', ' 1', '1.0', '99999999999999999999'])(
    'refuses the model claim %j with 401 naming the rule',
    async (claim) => {
      const token = createServeMultiplexedModelId(claim, h.server.credentials.accessToken, h.server.url);
      expect(await call(`${a.routePrefix}/`, { token })).toEqual({
        status: 401,
        body: {
          detail:
            'Invalid model token: the model claim must be a model id: a positive integer of digits only, at most 9007199254740991',
        },
      });
    },
  );

  it('answers 400 without the multiplexed model id header', async () => {
    expect(await call(`${a.routePrefix}/`)).toEqual({
      status: 400,
      body: { detail: 'No serve_multiplexed_model_id in request' },
    });
  });

  it('answers 404 for unknown routes and 500 when the handler throws', async () => {
    expect(await call('/no-such-app/')).toEqual({ status: 404, body: { detail: 'Not Found' } });
    expect(await call(`${a.routePrefix}/nope`)).toEqual({ status: 404, body: { detail: 'Not Found' } });
    expect(await call(`${a.routePrefix}/`, { method: 'GET' })).toEqual({
      status: 404,
      body: { detail: 'Not Found' },
    });
    expect(await call(`${a.routePrefix}/boom`)).toEqual({ status: 500, body: { detail: 'kaboom' } });
  });

  it('serves in process too', async () => {
    const res = await call(`${a.routePrefix}/`, { token: tokens.gamma });
    expect(res).toEqual({ status: 200, body: { model: 'gamma', pid: process.pid, input: {} } });
  });

  it('answers health checks', async () => {
    const res = await fetch(`${backend.url}/-/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('success');
    expect((await fetch(`${backend.url}/-/apps/${encodeURIComponent(a.name)}`)).status).toBe(200);
  });

  it('reports DEPLOY_FAILED for an in-process constructor that throws', async () => {
    const broken = app({ deployment: BrokenDeployment, modulePath: undefined });
    await expect(backend.run(broken)).rejects.toThrow('constructor failed');
    expect((await backend.status(broken.name))?.status).toBe('DEPLOY_FAILED');
  });
});

describe('shutdown', () => {
  it('waits for requests in flight before closing', async () => {
    const own = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
    const a = app();
    await own.run(a);
    const pid = own.replicaPids(a.name)[0];
    const url = own.url;
    const slow = fetch(`${url}${a.routePrefix}/slow`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ms: 500 }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slept: 500 });
    await expect(fetch(`${url}/-/healthz`)).rejects.toThrow();
    // The replica process is gone.
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
