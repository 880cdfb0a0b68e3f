/**
 * A plugin deploys its serve deployment (two worker-process replicas) and is then called the
 * way a user calls it: `synapse plugin run inference --mode job --params {model, json}`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_PLUGIN, echoModel, writeFiles } from '../../../../test-support/serve-plugins.ts';
import { LocalServeBackend, runPlugin } from '../../src/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  dir = await mkdtemp(join(import.meta.dirname, '../.tmp/serve-e2e-'));
  await writeFiles(dir, ECHO_PLUGIN);
  await backend.init();
  env = {
    SYNAPSE_HOST: h.server.url,
    SYNAPSE_ACCESS_TOKEN: h.server.credentials.accessToken,
    // The capacity gate asks the devserver's agent before anything is deployed.
    SYNAPSE_AGENT_URL: h.server.agentUrl,
    SYNAPSE_AGENT_TOKEN: h.server.credentials.agentToken,
  };
});
afterAll(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

describe('deploy, then infer remotely', () => {
  it('serves each model from its own replica process and answers the CLI through the gateway', async () => {
    const cwd = process.cwd();
    process.chdir(dir); // a deployment reads ./config.yaml of the plugin it runs in
    try {
      const deployed = await runPlugin(
        dir,
        'deployment',
        { num_replicas: 2 },
        { mode: 'local', env, client: null, serveBackend: backend },
      );
      const checksum = createHash('md5').update('echo-serve@1.0.0').digest('hex');
      expect(deployed).toEqual({ app: 'echo-serve@1.0.0', route_prefix: `/${checksum}` });
    } finally {
      process.chdir(cwd);
    }
    expect((await backend.status('echo-serve@1.0.0'))?.status).toBe('RUNNING');

    const [cat, dog] = [await echoModel(h.client, dir, 'cat'), await echoModel(h.client, dir, 'dog')];
    const infer = async (id: number) => {
      const params = JSON.stringify({ model: id, method: 'post', json: { inputs: [1, 2] } });
      const { stdout } = await run(
        process.execPath,
        [BIN, 'plugin', 'run', 'inference', '--mode', 'job', '--params', params],
        {
          cwd: dir,
          env: { ...process.env, ...env, RAY_SERVE_ADDRESS: backend.url },
        },
      );
      return JSON.parse(stdout) as { model: string; pid: number; input: unknown };
    };
    const first = await infer(cat);
    expect(first).toMatchObject({ model: 'cat', input: { inputs: [1, 2] } });
    expect(first.pid).not.toBe(process.pid); // a worker-process replica answered
    expect((await infer(cat)).pid).toBe(first.pid); // model affinity: the same replica again
    expect((await infer(dog)).model).toBe('dog');
  });
});
