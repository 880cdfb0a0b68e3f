/**
 * A plugin deploys its serve deployment (two worker-process replicas) and is then called the
 * way a user calls it: `synapse plugin run inference --mode job --params {model, json}`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalServeBackend, runPlugin, setServeBackend } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useDevServer();
const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
let dir: string;
let env: Record<string, string>;

const FILES: Record<string, string> = {
  'config.yaml': `name: Echo Serve
version: 1.0.0
category: neural_net
description: serves the name stored in each model
actions:
  deployment:
    entrypoint: plugin.deploy.Deploy
    method: job
  inference:
    entrypoint: plugin.serve.EchoServe
    method: serve
`,
  'plugin/serve.ts': `import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseServeDeployment } from 'synapse-sdk';

export class EchoServe extends BaseServeDeployment {
  protected override async _getModel(info: { path: string }) {
    return JSON.parse(await readFile(join(info.path, 'weights.json'), 'utf8'));
  }
  override async infer(body: unknown) {
    const model = (await this.getModel()) as { name: string };
    return { model: model.name, pid: process.pid, input: body };
  }
}
`,
  'plugin/deploy.ts': `import { BaseDeploymentAction } from 'synapse-sdk';
import { EchoServe } from './serve.ts';

export class Deploy extends BaseDeploymentAction<{ num_replicas?: number }> {
  static override entrypoint = EchoServe;
  async execute() {
    await this.deploy();
    return { app: this.getServeAppName(), route_prefix: this.getRoutePrefix() };
  }
}
`,
};

async function model(name: string): Promise<number> {
  const zip = join(dir, `${name}.zip`);
  await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name })) }));
  return (await h.client.createModel({ name, file: zip })).id;
}

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  dir = await mkdtemp(join(import.meta.dirname, '../.tmp/serve-e2e-'));
  for (const [file, text] of Object.entries(FILES)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  await backend.init();
  setServeBackend(backend);
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
        { mode: 'local', env, client: null },
      );
      const checksum = createHash('md5').update('echo-serve@1.0.0').digest('hex');
      expect(deployed).toEqual({ app: 'echo-serve@1.0.0', route_prefix: `/${checksum}` });
    } finally {
      process.chdir(cwd);
    }
    expect((await backend.status('echo-serve@1.0.0'))?.status).toBe('RUNNING');

    const [cat, dog] = [await model('cat'), await model('dog')];
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
