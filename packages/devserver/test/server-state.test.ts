/**
 * #13 item 7: a server's state is its own. Two devservers in one process (as in a test suite, or
 * an embedder running several) share no job-change channel, token cache or console follow, even
 * for a job id both happen to hold.
 * Own servers: two of them side by side are the subject.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';
import { type FollowEnd, followConsoleLines, startJob } from '../src/jobs.ts';

let a: DevServer;
let b: DevServer;

beforeAll(async () => {
  [a, b] = await Promise.all([startDevServer({ runJobs: false }), startDevServer({ runJobs: false })]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

async function call(server: DevServer, method: string, path: string, body?: unknown, token?: string) {
  return fetch(`${server.url}/${path}`, {
    method,
    headers: {
      'Synapse-Access-Token': `Token ${token ?? server.credentials.accessToken}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('two servers in one process', () => {
  it("do not see each other's job changes, even for the same job id", async () => {
    const id = randomUUID();
    const spec = (server: DevServer) => ({
      id,
      action: 'train',
      plugin: null,
      plugin_release: null,
      agent: server.credentials.agentId,
      params: {},
    });
    await startJob(a.ctx, spec(a));
    await startJob(b.ctx, spec(b));

    const seenByA: string[] = [];
    const endsOfA: FollowEnd[] = [];
    const follow = followConsoleLines(
      a.ctx,
      id,
      (lines) => seenByA.push(...lines),
      (end) => endsOfA.push(end),
    );
    await follow.ready;

    // B's job ends over the real API; its change events are emitted before the PATCH answers.
    const patched = await call(b, 'PATCH', `jobs/${id}/`, { console_logs: ['from b'], status: 'SUCCEEDED' });
    expect(patched.status).toBe(200);
    expect(seenByA).toEqual([]);
    expect(endsOfA).toEqual([]);

    // A's own change reaches its follow (the follow works; it just hears only its server).
    const own = await call(a, 'PATCH', `jobs/${id}/`, { console_logs: ['from a'], status: 'SUCCEEDED' });
    expect(own.status).toBe(200);
    expect(seenByA).toEqual(['from a']);
    expect(endsOfA).toEqual(['complete']);
  });

  it("accept only their own tokens, also after the other's were used", async () => {
    // Each server has now authenticated (and cached) its own token.
    expect((await call(a, 'GET', 'jobs/')).status).toBe(200);
    expect((await call(b, 'GET', 'jobs/')).status).toBe(200);
    expect((await call(b, 'GET', 'jobs/', undefined, a.credentials.accessToken)).status).toBe(401);
    expect((await call(a, 'GET', 'jobs/', undefined, b.credentials.accessToken)).status).toBe(401);
  });
});
