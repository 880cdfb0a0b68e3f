/**
 * The HTTP transport (retries, timeouts, errors, auth) against a real devserver.
 * Own server: faults on the models route.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  BackendClient,
  ClientConnectionError,
  ClientTimeoutError,
  GpuUnavailableError,
  NotFoundError,
  ServerError,
  StreamLimitExceededError,
} from '../../src/index.ts';
import { closedPort, useDevServer } from '../helpers.ts';

const h = useDevServer({ faults: true });
const noBackoff = { retry: { backoffFactor: 0 } };

describe('transport against the devserver', () => {
  it('retries injected 503s and then succeeds', async () => {
    await h.admin('POST', '_emulator/faults', { status: 503, count: 2, path: '/models/' });
    const [, total] = await h.makeClient(noBackoff).listModels();
    expect(total).toBe(0);
    expect(await h.admin('GET', '_emulator/faults')).toEqual([]);
  });

  it('makes exactly 4 attempts on a persistent 503, then raises the mapped error', async () => {
    await h.admin('POST', '_emulator/faults', { status: 503, count: 10, path: '/models/' });
    const err = await h
      .makeClient(noBackoff)
      .listModels()
      .catch((e) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err.statusCode).toBe(503);
    const [pending] = await h.admin('GET', '_emulator/faults');
    expect(pending.remaining).toBe(6);
    await h.admin('DELETE', '_emulator/faults');
  });

  it('does not retry statuses outside the retry list', async () => {
    await h.admin('POST', '_emulator/faults', { status: 500, count: 3, path: '/models/' });
    await expect(h.makeClient(noBackoff).listModels()).rejects.toBeInstanceOf(ServerError);
    const [pending] = await h.admin('GET', '_emulator/faults');
    expect(pending.remaining).toBe(2);
    await h.admin('DELETE', '_emulator/faults');
  });

  it('raises GpuUnavailableError for a gpu_unavailable 503', async () => {
    const body = { error_type: 'gpu_unavailable', message: 'No GPU available', details: { requested: 1 } };
    await h.admin('POST', '_emulator/faults', { status: 503, count: 4, path: '/models/', body });
    const err = await h
      .makeClient(noBackoff)
      .listModels()
      .catch((e) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect(err.message).toBe('No GPU available');
    expect(err.errorDetails).toEqual({ requested: 1 });
  });

  it('times out on an injected hang without retrying', async () => {
    await h.admin('POST', '_emulator/faults', { hang_ms: 2000, count: 2, path: '/models/' });
    const client = h.makeClient({ ...noBackoff, timeout: { read: 0.3 } });
    const err = await client.listModels().catch((e) => e);
    expect(err).toBeInstanceOf(ClientTimeoutError);
    expect(err.statusCode).toBe(408);
    expect(err.message).toBe('Backend read timeout (>0.3s)');
    const [pending] = await h.admin('GET', '_emulator/faults');
    expect(pending.remaining).toBe(1);
    await h.admin('DELETE', '_emulator/faults');
  });

  it('says the connection was refused, without the address', async () => {
    const port = await closedPort();
    const client = new BackendClient(`http://127.0.0.1:${port}`, { accessToken: 'x', ...noBackoff });
    const err = await client.listModels().catch((e) => e);
    expect(err).toBeInstanceOf(ClientConnectionError);
    expect(err.statusCode).toBeNull();
    expect(err.message).toBe('Backend connection refused');
    expect(err.cause).toBeDefined();
    await client.close();
  });

  it('answers 401 for a missing or unknown token', async () => {
    const anonymous = new BackendClient(h.server.url);
    const missing = await anonymous.listModels().catch((e) => e);
    expect(missing).toBeInstanceOf(AuthenticationError);
    expect(missing.detail).toEqual({ detail: 'Authentication credentials were not provided.' });
    const wrong = new BackendClient(h.server.url, { accessToken: 'syn_wrong' });
    const invalid = await wrong.listModels().catch((e) => e);
    expect(invalid).toBeInstanceOf(AuthenticationError);
    expect(invalid.detail).toEqual({ detail: 'Invalid token.' });
    expect(invalid.message).not.toContain('syn_wrong');
    await Promise.all([anonymous.close(), wrong.close()]);
  });

  it('accepts every credential header form the platform accepts', async () => {
    const token = h.server.credentials.accessToken;
    const forms: Array<Record<string, string>> = [
      { 'Synapse-Access-Token': `Token ${token}` },
      { 'Synapse-Access-Token': token },
      // The agent header counts only beside a user token of the agent's tenant (#11 item 4).
      { 'Synapse-Access-Token': token, 'SYNAPSE-Agent': h.server.credentials.agentToken },
    ];
    for (const headers of forms) {
      const res = await fetch(`${h.server.url}/models/`, { headers });
      expect(res.status).toBe(200);
    }
    const agentAlone = await fetch(`${h.server.url}/models/`, {
      headers: { 'SYNAPSE-Agent': h.server.credentials.agentToken },
    });
    expect(agentAlone.status).toBe(401);
    const login = await h.client
      .post('users/login/', { data: { email: 'nobody@x', password: 'y' } })
      .catch((e) => e);
    expect(login.detail).toEqual({ non_field_errors: ['Unable to log in with provided credentials.'] });
    const { token: userToken } = await h.client.post('users/login/', {
      data: { email: h.server.credentials.email, password: h.server.credentials.password },
    });
    for (const scheme of ['Token', 'Bearer']) {
      const res = await fetch(`${h.server.url}/models/`, {
        headers: { Authorization: `${scheme} ${userToken}` },
      });
      expect(res.status).toBe(200);
    }
    const legacy = h.makeClient({ accessToken: undefined, authorizationToken: userToken });
    await expect(legacy.listModels()).resolves.toEqual([[], expect.any(Number)]);
  });

  it('serves every path under /api/ too, with or without the trailing slash', async () => {
    const prefixed = new BackendClient(`${h.server.url}/api/`, {
      accessToken: h.server.credentials.accessToken,
    });
    const [, total] = await prefixed.listModels();
    expect(typeof total).toBe('number');
    const res = await fetch(`${h.server.url}/api/models`, {
      headers: { 'Synapse-Access-Token': h.server.credentials.accessToken },
    });
    expect(res.status).toBe(200);
    await expect(prefixed.getModel(424242)).rejects.toBeInstanceOf(NotFoundError);
    await prefixed.close();
  });
});

describe('streamLines', () => {
  it('stops a body larger than its byte limit, even one endless line, with a 429', async () => {
    // A real server that streams 64 KiB of one line: the transport must not buffer it whole.
    const server = createServer((_req, res) => {
      res.write('first line\n');
      res.end('x'.repeat(64 * 1024));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new BackendClient(`http://127.0.0.1:${port}`, { accessToken: 't' });
    try {
      const lines: string[] = [];
      const err = await (async () => {
        for await (const line of client.streamLines('logs', {}, 16 * 1024)) lines.push(line);
      })().catch((e) => e);
      expect(err).toBeInstanceOf(StreamLimitExceededError);
      expect(err).toMatchObject({ statusCode: 429, message: '429: Stream size limit exceeded' });
      expect(lines).toEqual(['first line']);
      const all: string[] = [];
      for await (const line of client.streamLines('logs')) all.push(line);
      expect(all.map((l) => l.length)).toEqual([10, 64 * 1024]);
    } finally {
      await client.close();
      server.close();
    }
  });
});
