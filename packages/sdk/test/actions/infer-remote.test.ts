/** `inferRemote` (inference.md §6) against a real HTTP server standing in for the serve gateway. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientConnectionError,
  NotFoundError,
  ServerError,
  ValidationError,
} from '../../src/clients/errors.ts';
import { dispatchAction } from '../../src/plugins/action.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { isActionExport } from '../../src/plugins/entrypoint.ts';
import { PluginEnvironment } from '../../src/plugins/environment.ts';
import { PluginValidationError, RuntimeError } from '../../src/plugins/errors.ts';
import { BaseServeDeployment } from '../../src/serve/deployment.ts';
import { inferRemote, SERVE_TIMEOUT } from '../../src/serve/infer-remote.ts';
import { decodeServeMultiplexedModelId } from '../../src/serve/multiplex-token.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let gateway: string;
let received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '').replace(/^\/[^/]+/, '');
      if (path === '/missing') {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"detail":"Not Found"}');
      } else if (path === '/boom') {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"detail":"model exploded"}');
      } else if (path === '/bad') {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"detail":"bad input"}');
      } else if (path === '/text') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('plain answer');
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, path }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateway = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  received = [];
});

const BASE_ENV = {
  SYNAPSE_PLUGIN_RELEASE_CODE: 'my-plugin@1.0.0',
  SYNAPSE_PLUGIN_RUN_USER_TOKEN: 'user-token',
  SYNAPSE_PLUGIN_RUN_HOST: 'http://backend.example',
};

function ctxWith(vars: Record<string, unknown>): RuntimeContext {
  return new RuntimeContext({ env: new PluginEnvironment({ RAY_SERVE_ADDRESS: `${gateway}/`, ...vars }) });
}

async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => expect.unreachable('inferRemote succeeded'),
    (e: unknown) => e as Error,
  );
}

describe('request', () => {
  it('posts json to <address>/<md5 of the release code>/ with the multiplexed model id', async () => {
    const result = await inferRemote(
      { model: 34, method: 'post', json: { inputs: [{ data: [1, 2, 3] }] } },
      ctxWith({ ...BASE_ENV, SYNAPSE_PLUGIN_RUN_TENANT: 'acme' }),
    );
    expect(result).toEqual({ ok: true, path: '/' });
    expect(received).toHaveLength(1);
    const [req] = received as [Received];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/ae05f4eb767dd919fcbfd963a5894e2c/');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ inputs: [{ data: [1, 2, 3] }] });
    const jwt = req.headers.serve_multiplexed_model_id as string;
    expect(decodeServeMultiplexedModelId(jwt, 'http://backend.example')).toEqual({
      model: '34',
      token: 'user-token',
      tenant: 'acme',
    });
  });

  it('prefers SYNAPSE_PLUGIN_RELEASE_CHECKSUM and appends params.path', async () => {
    await inferRemote(
      { json: {}, path: 'predict/batch' },
      ctxWith({ ...BASE_ENV, SYNAPSE_PLUGIN_RELEASE_CHECKSUM: 'abc123' }),
    );
    await inferRemote(
      { json: {}, path: '/health' },
      ctxWith({ ...BASE_ENV, SYNAPSE_PLUGIN_RELEASE_CHECKSUM: 'abc123' }),
    );
    expect(received.map((r) => r.url)).toEqual(['/abc123/predict/batch', '/abc123/health']);
  });

  it('sends no multiplexing header without a model', async () => {
    await inferRemote({ json: { a: 1 } }, ctxWith({ SYNAPSE_PLUGIN_RELEASE_CODE: 'my-plugin@1.0.0' }));
    expect(received[0]?.headers).not.toHaveProperty('serve_multiplexed_model_id');
  });

  it('sends the method upper-case and no body for GET', async () => {
    await inferRemote({ json: { a: 1 }, method: 'get' }, ctxWith(BASE_ENV));
    await inferRemote({ json: { a: 1 }, method: 'Put' }, ctxWith(BASE_ENV));
    expect(received.map((r) => [r.method, r.body])).toEqual([
      ['GET', ''],
      ['PUT', '{"a":1}'],
    ]);
    expect(received[0]?.headers['content-type']).toBe('application/json');
  });

  it('falls back to SYNAPSE_ACCESS_TOKEN and SYNAPSE_HOST, without a tenant', async () => {
    await inferRemote(
      { json: {}, model: '7' },
      ctxWith({
        SYNAPSE_PLUGIN_RELEASE_CODE: 'p@1',
        SYNAPSE_ACCESS_TOKEN: 'access',
        SYNAPSE_HOST: 'https://api.synapse.sh',
      }),
    );
    const jwt = received[0]?.headers.serve_multiplexed_model_id as string;
    expect(decodeServeMultiplexedModelId(jwt, 'https://api.synapse.sh')).toEqual({
      model: '7',
      token: 'access',
    });
  });

  it('derives the route prefix from ./config.yaml when no release env is set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infer-remote-'));
    const cwd = process.cwd();
    try {
      await writeFile(join(dir, 'config.yaml'), 'name: My Plugin\nversion: 1.0.0\n');
      process.chdir(dir);
      await inferRemote({ json: {} }, ctxWith({}));
      expect(received[0]?.url).toBe('/ae05f4eb767dd919fcbfd963a5894e2c/');
      const err = await failure(
        (async () => {
          await rm(join(dir, 'config.yaml'));
          return inferRemote({ json: {} }, ctxWith({}));
        })(),
      );
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.message).toBe(
        'Cannot determine serve app name. Set SYNAPSE_PLUGIN_RELEASE_CODE env var or ensure config.yaml exists in working directory.',
      );
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses connect 5 s and read 300 s', () => {
    expect(SERVE_TIMEOUT).toEqual({ connect: 5, read: 300 });
  });
});

describe('validation', () => {
  it.each([[{}], [{ json: [1] }], [{ json: 'x' }], [{ json: null }], [null]])(
    'rejects params %j without a json object',
    async (params) => {
      const err = await failure(inferRemote(params, ctxWith(BASE_ENV)));
      expect(err).toBeInstanceOf(PluginValidationError);
      expect(err.message).toBe('Parameter validation failed: json: Input should be a valid dictionary');
      expect(received).toHaveLength(0);
    },
  );

  it('needs a user token to multiplex a model', async () => {
    const err = await failure(
      inferRemote({ json: {}, model: 1 }, ctxWith({ SYNAPSE_PLUGIN_RELEASE_CODE: 'p@1' })),
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe(
      'No user token available for model multiplexing. Set SYNAPSE_PLUGIN_RUN_USER_TOKEN or SYNAPSE_ACCESS_TOKEN.',
    );
    expect(received).toHaveLength(0);
  });
});

describe('responses and errors', () => {
  it('returns text answers as text', async () => {
    expect(await inferRemote({ json: {}, path: '/text' }, ctxWith(BASE_ENV))).toBe('plain answer');
  });

  it('maps error statuses like the other clients', async () => {
    const missing = await failure(inferRemote({ json: {}, path: '/missing' }, ctxWith(BASE_ENV)));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).detail).toEqual({ detail: 'Not Found' });
    const boom = await failure(inferRemote({ json: {}, path: '/boom' }, ctxWith(BASE_ENV)));
    expect(boom).toBeInstanceOf(ServerError);
    expect((boom as ServerError).statusCode).toBe(500);
    const bad = await failure(inferRemote({ json: {}, path: '/bad' }, ctxWith(BASE_ENV)));
    expect(bad).toBeInstanceOf(ValidationError);
    // 5xx is not retried: inference is not idempotent.
    expect(received.filter((r) => r.url.endsWith('/boom'))).toHaveLength(1);
  });

  it('reports an unreachable gateway as ClientConnectionError', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const err = await failure(
      inferRemote({ json: {} }, ctxWith({ ...BASE_ENV, RAY_SERVE_ADDRESS: `http://127.0.0.1:${port}` })),
    );
    expect(err).toBeInstanceOf(ClientConnectionError);
    expect(err.message).toBe('Unable to connect to serve application');
  });
});

describe('serve deployment classes', () => {
  it('dispatch and inferRemote of a BaseServeDeployment call the deployed app', async () => {
    class Echo extends BaseServeDeployment {}
    expect(await Echo.dispatch({ json: { q: 1 } }, ctxWith(BASE_ENV))).toEqual({ ok: true, path: '/' });
    expect(await Echo.inferRemote({ json: { q: 2 } }, ctxWith(BASE_ENV))).toEqual({ ok: true, path: '/' });
    expect(received.map((r) => JSON.parse(r.body))).toEqual([{ q: 1 }, { q: 2 }]);
  });

  it('are action exports that dispatchAction routes to inferRemote', async () => {
    class Echo extends BaseServeDeployment {}
    expect(isActionExport(Echo)).toBe(true);
    expect(await dispatchAction(Echo, { model: 3, json: { q: 3 } }, ctxWith(BASE_ENV))).toEqual({
      ok: true,
      path: '/',
    });
    const jwt = received[0]?.headers.serve_multiplexed_model_id as string;
    expect(decodeServeMultiplexedModelId(jwt, 'http://backend.example').model).toBe('3');
  });
});
