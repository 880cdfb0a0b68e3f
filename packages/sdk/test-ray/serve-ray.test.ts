/**
 * A deployment action deploys its serve deployment to Ray Serve (two replicas), which then
 * answers multiplexed requests for two models, each from the replica that holds it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ECHO_PLUGIN, echoModel, writeFiles } from '../../../test-support/serve-plugins.ts';
import { RayServeBackend, runPlugin } from '../src/index.ts';
import { useDevServer } from '../test/helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../bin/synapse.js');
const h = useDevServer();
const backend = new RayServeBackend({
  dashboardAddress: inject('rayDashboard'),
  address: 'http://127.0.0.1:28100',
});
const APP = 'echo-serve@1.0.0';
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../test/.tmp'), { recursive: true });
  dir = await mkdtemp(join(import.meta.dirname, '../test/.tmp/serve-ray-'));
  await writeFiles(dir, ECHO_PLUGIN);
  env = {
    SYNAPSE_HOST: h.server.url,
    SYNAPSE_ACCESS_TOKEN: h.server.credentials.accessToken,
    SYNAPSE_AGENT_URL: h.server.agentUrl,
    SYNAPSE_AGENT_TOKEN: h.server.credentials.agentToken,
  };
});
afterAll(async () => {
  await backend.delete(APP);
  await rm(dir, { recursive: true, force: true });
});

describe('serve on Ray', () => {
  it('deploys to Ray Serve and answers multiplexed requests for two models', async () => {
    const cwd = process.cwd();
    process.chdir(dir); // a deployment reads ./config.yaml of the plugin it runs in
    try {
      const deployed = await runPlugin(
        dir,
        'deployment',
        { num_replicas: 2, num_cpus: 0.5 },
        { mode: 'local', env, client: null, serveBackend: backend },
      );
      const checksum = createHash('md5').update(APP).digest('hex');
      expect(deployed).toEqual({ app: APP, route_prefix: `/${checksum}` });
    } finally {
      process.chdir(cwd);
    }
    const status = await backend.status(APP);
    expect(status).toMatchObject({
      status: 'RUNNING',
      route_prefix: `/${createHash('md5').update(APP).digest('hex')}`,
    });
    expect(status?.deployments[0]).toMatchObject({
      name: 'TypeScriptReplica',
      replica_states: { RUNNING: 2 },
    });

    const [cat, dog] = [await echoModel(h.client, dir, 'cat'), await echoModel(h.client, dir, 'dog')];
    const infer = async (id: number) => {
      const params = JSON.stringify({ model: id, method: 'post', json: { inputs: [1, 2] } });
      const { stdout } = await run(
        process.execPath,
        [BIN, 'plugin', 'run', 'inference', '--mode', 'job', '--params', params],
        { cwd: dir, env: { ...process.env, ...env, RAY_SERVE_ADDRESS: backend.url } },
      );
      return JSON.parse(stdout) as { model: string; pid: number; input: unknown };
    };
    const first = await infer(cat);
    expect(first).toMatchObject({ model: 'cat', input: { inputs: [1, 2] } });
    expect(first.pid).not.toBe(process.pid);
    // Ray routes a model's requests to the replica that loaded it.
    expect((await infer(cat)).pid).toBe(first.pid);
    expect((await infer(dog)).model).toBe('dog');
    expect((await infer(cat)).pid).toBe(first.pid);
  });
});
