/**
 * `AgentClient.tailJobLogs` over a real WebSocket to the devserver's agent (client.md §10, backend-api.md §14).
 * Own server: faults, a listener on the server's upgrade event, and the recorded-request log cleared.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AgentClient,
  AuthenticationError,
  ClientConnectionError,
  ClientError,
  NotFoundError,
  StreamLimitExceededError,
  WebSocketError,
} from '../../src/index.ts';
import { closedPort, fixtureRelease, useDevServer } from '../helpers.ts';

// Job records stay PENDING until a test moves them: the tests play the running job themselves.
const h = useDevServer({ runJobs: false, faults: true });
const CONFIG = { actions: { to_task: { entrypoint: 'plugin.to_task.ToTask', method: 'job' } } };

/** A RUNNING job of this agent with these console lines. */
async function runningJob(lines: string[]): Promise<string> {
  const { code } = await fixtureRelease(h, CONFIG);
  const { job_id } = await h.agent.runPluginRelease(`${code}@1.0.0`, { action: 'to_task' });
  await h.client.updateJob(job_id, { status: 'running', console_logs: lines });
  return job_id;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** The log requests the devserver saw for this job, and whether each asked for an upgrade. */
async function logRequests(jobId: string): Promise<Array<{ path: string; upgrade: unknown }>> {
  const recorded = (await h.admin('GET', '_emulator/requests')) as Array<{ path: string; headers: any }>;
  return recorded
    .filter((r) => r.path.includes(`/jobs/${jobId}/logs`))
    .map((r) => ({ path: r.path, upgrade: r.headers.upgrade }));
}

describe('AgentClient.tailJobLogs over WebSocket', () => {
  it('streams lines in order while the job runs and ends when it completes', async () => {
    const id = await runningJob(['one']);
    const stream = h.agent.tailJobLogs(id, { protocol: 'websocket' })[Symbol.asyncIterator]();
    expect(await stream.next()).toEqual({ done: false, value: 'one' });
    await h.client.updateJob(id, { console_logs: ['one', 'two'] });
    expect(await stream.next()).toEqual({ done: false, value: 'two' });
    await h.client.updateJob(id, { console_logs: ['one', 'two', 'three'], status: 'succeeded' });
    expect(await stream.next()).toEqual({ done: false, value: 'three' });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('uses the socket for both websocket and auto, yielding what http yields', async () => {
    const id = await runningJob(['a', '', 'b']);
    await h.client.updateJob(id, { status: 'succeeded' });
    await h.admin('DELETE', '_emulator/requests');
    expect(await collect(h.agent.tailJobLogs(id, { protocol: 'websocket' }))).toEqual(['a', 'b']);
    expect(await collect(h.agent.tailJobLogs(id))).toEqual(['a', 'b']);
    const upgrade = { path: `/agent/ray/jobs/${id}/logs/`, upgrade: 'websocket' };
    expect(await logRequests(id)).toEqual([upgrade, upgrade]);
    expect(await collect(h.agent.tailJobLogs(id, { protocol: 'http' }))).toEqual(['a', 'b']);
  });

  it('turns an error frame into ClientError(500); auto then falls back to http', async () => {
    const err = await collect(h.agent.tailJobLogs('no-such-job', { protocol: 'websocket' })).catch((e) => e);
    expect(err).toBeInstanceOf(WebSocketError);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.statusCode).toBe(500);
    expect(err.detail).toBe('Not found.');
    await expect(collect(h.agent.tailJobLogs('no-such-job'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('raises 429 past maxMessages', async () => {
    const id = await runningJob(['1', '2', '3']);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const line of h.agent.tailJobLogs(id, { protocol: 'websocket', maxMessages: 2 }))
        seen.push(line);
    })().catch((e) => e);
    expect(seen).toEqual(['1', '2']);
    expect(err).toBeInstanceOf(StreamLimitExceededError);
    expect(err.statusCode).toBe(429);
    expect(err.detail).toBe('Stream message limit exceeded');
  });

  it('sends a replaced (shorter) log again from its first line', async () => {
    const id = await runningJob(['a', 'b', 'c']);
    const stream = h.agent.tailJobLogs(id, { protocol: 'websocket' })[Symbol.asyncIterator]();
    for (const line of ['a', 'b', 'c']) expect(await stream.next()).toEqual({ done: false, value: line });
    // As a deployment that fails replaces the log with its one error line.
    await h.client.updateJob(id, { console_logs: ['ERROR: replaced'] });
    expect(await stream.next()).toEqual({ done: false, value: 'ERROR: replaced' });
    await h.client.updateJob(id, { console_logs: ['ERROR: replaced', 'd'], status: 'failed' });
    expect(await stream.next()).toEqual({ done: false, value: 'd' });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('stops reading past maxMessages unread messages, without waiting for the consumer', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
    const id = await runningJob(lines);
    let closed!: Promise<void>;
    const onUpgrade = (_req: unknown, socket: Socket) => {
      closed = new Promise((resolve) => socket.once('close', () => resolve()));
    };
    h.server.app.server.on('upgrade', onUpgrade);
    try {
      const stream = h.agent
        .tailJobLogs(id, { protocol: 'websocket', maxMessages: 3 })
        [Symbol.asyncIterator]();
      expect(await stream.next()).toEqual({ done: false, value: 'line 0' });
      // The job still runs and the consumer reads nothing more: only the client's bound closes it.
      await closed;
      expect(await stream.next()).toEqual({ done: false, value: 'line 1' });
      expect(await stream.next()).toEqual({ done: false, value: 'line 2' });
      const err = await stream.next().catch((e) => e);
      expect(err).toBeInstanceOf(StreamLimitExceededError);
      expect(err.detail).toBe('Stream message limit exceeded');
    } finally {
      h.server.app.server.off('upgrade', onUpgrade);
    }
  });

  it('skips frames over 1 MiB', async () => {
    const id = await runningJob(['small', 'x'.repeat(1024 * 1024 + 1), 'after']);
    await h.client.updateJob(id, { status: 'failed' });
    expect(await collect(h.agent.tailJobLogs(id, { protocol: 'websocket' }))).toEqual(['small', 'after']);
  });

  it('ends the stream after an idle timeout', async () => {
    const id = await runningJob(['only']);
    expect(await collect(h.agent.tailJobLogs(id, { protocol: 'websocket', timeout: 0.2 }))).toEqual(['only']);
  });

  it('closes the socket when the consumer stops early', async () => {
    const id = await runningJob(['first', 'second']);
    let closed!: Promise<void>;
    const onUpgrade = (_req: unknown, socket: Socket) => {
      closed = new Promise((resolve) => socket.once('close', () => resolve()));
    };
    h.server.app.server.on('upgrade', onUpgrade);
    try {
      for await (const line of h.agent.tailJobLogs(id, { protocol: 'websocket' })) {
        expect(line).toBe('first');
        break;
      }
      await closed; // The job still runs, so only the client can have closed it.
    } finally {
      h.server.app.server.off('upgrade', onUpgrade);
    }
  });

  it('reports a failed connection as 503 without the address or token; auto falls back to http', async () => {
    const port = await closedPort();
    const token = 'secret-agent-token';
    const agent = new AgentClient(`http://127.0.0.1:${port}/agent`, token, { retry: { total: 0 } });
    try {
      const err = await collect(agent.tailJobLogs('job-1', { protocol: 'websocket' })).catch((e) => e);
      expect(err).toBeInstanceOf(WebSocketError);
      expect(err.statusCode).toBe(503);
      expect(err.detail).toMatch(/^WebSocket connection failed: /);
      for (const secret of [String(port), '127.0.0.1', token]) expect(err.message).not.toContain(secret);
      // The fallback's own failure: the http transport's refused connection.
      const fallback = await collect(agent.tailJobLogs('job-1')).catch((e) => e);
      expect(fallback).toBeInstanceOf(ClientConnectionError);
      expect(fallback.message).toBe('Agent connection refused');
    } finally {
      await agent.close();
    }
  });

  it('falls back to http with the lines when the agent refuses the upgrade', async () => {
    const id = await runningJob(['via', 'http']);
    await h.admin('DELETE', '_emulator/requests');
    await h.admin('POST', '_emulator/faults', { status: 502, path: `/jobs/${id}/logs/` });
    expect(await collect(h.agent.tailJobLogs(id))).toEqual(['via', 'http']);
    expect(await logRequests(id)).toEqual([{ path: `/agent/ray/jobs/${id}/logs`, upgrade: undefined }]);
  });

  it('refuses an upgrade without a valid token with 401', async () => {
    const id = await runningJob([]);
    const stranger = new AgentClient(h.server.agentUrl, 'f'.repeat(40));
    try {
      const err = await collect(stranger.tailJobLogs(id, { protocol: 'websocket' })).catch((e) => e);
      expect(err.statusCode).toBe(503);
      await expect(collect(stranger.tailJobLogs(id))).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      await stranger.close();
    }
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${h.server.agentUrl}/ray/jobs/${id}/logs/`, {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          Authorization: 'f'.repeat(40),
        },
      });
      req.on('response', (res) => resolve(res.statusCode!));
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
  });
});
