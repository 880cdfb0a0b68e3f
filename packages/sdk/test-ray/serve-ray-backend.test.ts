/**
 * `RayServeBackend` and its ingress on the suite's Ray head: concurrent deploys keep each other's
 * apps, and a replica whose Node worker dies answers (never hangs) until Ray replaces it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { until } from '../../../test-support/job-plugin.ts';
import { BaseServeDeployment, RayServeBackend, type ServeApp } from '../src/index.ts';

const backend = new RayServeBackend({
  dashboardAddress: inject('rayDashboard'),
  // Ray Serve's proxy: the same port as the other serve tests', since a cluster has one.
  address: 'http://127.0.0.1:28100',
});
let dir: string;

const FILES: Record<string, string> = {
  'config.yaml': `name: Probe
version: 1.0.0
category: neural_net
actions:
  inference:
    entrypoint: plugin.probe.Probe
    method: serve
`,
  'plugin/probe.ts': `import { BaseServeDeployment } from 'synapse-sdk';

export class Probe extends BaseServeDeployment {
  static override maxModelsPerReplica = 2;
  override async infer(body: { exit?: boolean } | null) {
    if (body?.exit) process.exit(1); // dies with the request unanswered
    return { pid: process.pid, input: body };
  }
}
`,
};

/** Stands for the plugin's class here: the backend reads its routes and limits, replicas import the file. */
class Probe extends BaseServeDeployment {
  static override maxModelsPerReplica = 2;
}

function probeApp(name: string): ServeApp {
  return {
    name,
    routePrefix: `/${name}`,
    deployment: Probe,
    initArgs: ['http://127.0.0.1:9'],
    actorOptions: { num_cpus: 0.25 },
    serveOptions: { num_replicas: 1 },
    modulePath: join(dir, 'plugin/probe.ts'),
    exportName: 'Probe',
  };
}

async function post(name: string, body: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${backend.url}/${name}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../test/.tmp'), { recursive: true });
  dir = await mkdtemp(join(import.meta.dirname, '../test/.tmp/serve-ray-backend-'));
  for (const [file, text] of Object.entries(FILES)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
});
afterAll(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

describe('RayServeBackend', () => {
  it('deploys two apps at once without either dropping the other', async () => {
    await Promise.all([backend.run(probeApp('probe-a')), backend.run(probeApp('probe-b'))]);
    for (const name of ['probe-a', 'probe-b']) {
      expect(await backend.status(name), name).toMatchObject({ status: 'RUNNING', route_prefix: `/${name}` });
      const reply = await post(name, '{"n": 1}');
      expect(reply, name).toMatchObject({ status: 200, body: { input: { n: 1 } } });
    }
  });

  it('answers 400 to a body that is not JSON, and keeps serving', async () => {
    expect(await post('probe-a', '{not json')).toEqual({
      status: 400,
      body: { detail: 'Invalid JSON body' },
    });
    expect((await post('probe-a', '{}')).status).toBe(200);
  });

  it('fails the requests of a replica whose worker died, until Ray replaces it', async () => {
    const before = (await post('probe-a', '{}')).body.pid as number;
    // The worker exits mid-request: the request is answered, not left hanging.
    expect(await post('probe-a', '{"exit": true}')).toEqual({
      status: 500,
      body: { detail: 'Replica process exited' },
    });
    // The replica fails its health check; Ray starts another, with a new worker. Until then
    // requests fail at once.
    const seen: number[] = [];
    const replaced = await until(
      () => post('probe-a', '{}'),
      (reply) => {
        seen.push(reply.status);
        return reply.status === 200;
      },
      150_000,
    );
    expect(replaced.body.pid).not.toBe(before);
    expect(seen.slice(0, -1).every((status) => status >= 500)).toBe(true);
    expect(await backend.status('probe-b')).toMatchObject({ status: 'RUNNING' });
  });
});
