/**
 * `BaseDeploymentAction` (inference.md §2) with the real `LocalServeBackend` and the devserver's
 * agent as capacity gate, plus the devserver forwarding `inference` runs to the gateway.
 * Own server: a capacity of its own and this file's serve gateway as the server's.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { DevServerOptions } from 'synapse-devserver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BaseDeploymentAction,
  DeploymentContext,
  inferRemote,
  parseRequirements,
} from '../../src/actions/inference/index.ts';
import { AgentClient } from '../../src/clients/agent/index.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { PluginEnvironment } from '../../src/plugins/environment.ts';
import { RuntimeError } from '../../src/plugins/errors.ts';
import { BaseLogger, type LoggerRecord } from '../../src/plugins/logging/index.ts';
import { BaseServeDeployment } from '../../src/serve/deployment.ts';
import { LocalServeBackend } from '../../src/serve/local-backend.ts';
import { fixtureRelease, useDevServer } from '../helpers.ts';

const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
const devOptions: DevServerOptions = { capacity: { cpus: 4, gpus: 0, memoryBytes: 8 * 1024 ** 3 } };

// Registered before useDevServer's hook: the devserver starts knowing the gateway's URL.
beforeAll(async () => {
  await backend.init();
  devOptions.serveGatewayUrl = backend.url;
});
afterAll(async () => {
  await backend.close();
});

const h = useDevServer(devOptions);

class RecordingLogger extends BaseLogger {
  records: LoggerRecord[] = [];
  protected override write(record: LoggerRecord): void {
    this.records.push(record);
  }
}

let constructed = 0;

/** Echoes the request, and the model the request selects when asked to. */
class Echo extends BaseServeDeployment {
  constructor(backendUrl: string) {
    super(backendUrl);
    constructed++;
  }

  protected override async _getModel(info: { path: string; id: number }) {
    const meta = JSON.parse(await readFile(join(info.path, 'model.json'), 'utf8'));
    return { id: info.id, ...meta };
  }

  override async infer(body: unknown) {
    const wantsModel = (body as { withModel?: boolean } | null)?.withModel;
    return { echo: body, backendUrl: this.backendUrl, model: wantsModel ? await this.getModel() : null };
  }
}

/** The seed's deployment action: its `execute()` (§2.3 simple mode) is the SDK's default one. */
class SeedDeployment extends BaseDeploymentAction<{ model?: number; num_gpus?: number; num_cpus?: number }> {
  static override actionName = 'deployment';
  static override entrypoint = Echo;
}

let logger: RecordingLogger;
beforeEach(() => {
  logger = new RecordingLogger();
});

function runtime(vars: Record<string, unknown>, init: { jobId?: string; agent?: boolean } = {}) {
  return new RuntimeContext({
    env: new PluginEnvironment({ RAY_SERVE_ADDRESS: backend.url, ...vars }),
    client: h.client,
    agentClient: init.agent === false ? null : h.agent,
    jobId: init.jobId ?? null,
    logger,
    serveBackend: backend,
  });
}

async function failure(run: Promise<unknown>): Promise<Error> {
  return run.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e as Error,
  );
}

async function inDir<T>(files: Record<string, string>, fn: () => T | Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'deployment-action-'));
  const cwd = process.cwd();
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    process.chdir(dir);
    return await fn();
  } finally {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  }
}

describe('configuration', () => {
  it('names the app after SYNAPSE_PLUGIN_RELEASE_CODE and routes it under its md5', () => {
    const action = new SeedDeployment({}, runtime({ SYNAPSE_PLUGIN_RELEASE_CODE: 'my-plugin@1.0.0' }));
    expect(action.getServeAppName()).toBe('my-plugin@1.0.0');
    expect(action.getRoutePrefix()).toBe('/ae05f4eb767dd919fcbfd963a5894e2c');
  });

  it('prefers SYNAPSE_PLUGIN_RELEASE_CHECKSUM for the route prefix', () => {
    const action = new SeedDeployment(
      {},
      runtime({ SYNAPSE_PLUGIN_RELEASE_CODE: 'x@1', SYNAPSE_PLUGIN_RELEASE_CHECKSUM: 'c0ffee' }),
    );
    expect(action.getRoutePrefix()).toBe('/c0ffee');
  });

  it('falls back to <code>@<version> of ./config.yaml, deriving the code from the name', async () => {
    await inDir({ 'config.yaml': 'name: My Plugin\nversion: 1.0.0\n' }, () => {
      const action = new SeedDeployment({}, runtime({}));
      expect(action.getServeAppName()).toBe('my-plugin@1.0.0');
      expect(action.getRoutePrefix()).toBe('/ae05f4eb767dd919fcbfd963a5894e2c');
    });
    await inDir({ 'config.yaml': 'name: Other\ncode: explicit\nversion: "2.1"\n' }, () => {
      expect(new SeedDeployment({}, runtime({})).getServeAppName()).toBe('explicit@2.1');
    });
  });

  it('fails without env and config.yaml', async () => {
    await inDir({}, () => {
      const action = new SeedDeployment({}, runtime({}));
      expect(() => action.getServeAppName()).toThrow(
        new RuntimeError(
          'Cannot determine serve app name. Set SYNAPSE_PLUGIN_RELEASE_CODE env var or ensure config.yaml exists in working directory.',
        ),
      );
    });
  });

  it('builds actor and serve options from positive params', async () => {
    await inDir({}, () => {
      const action = new SeedDeployment(
        { num_cpus: 2, num_gpus: 0, memory: 1024, num_replicas: 3 } as never,
        runtime({}),
      );
      expect(action.getRayActorOptions()).toEqual({ runtime_env: {}, num_cpus: 2, memory: 1024 });
      expect(action.getServeOptions()).toEqual({ num_replicas: 3 });
      expect(new SeedDeployment({ num_replicas: 0 } as never, runtime({})).getServeOptions()).toEqual({});
    });
  });

  it('reads the runtime env from requirements.txt: pip by default, uv with merged options', async () => {
    const requirements = '# deps\n\ntorch==2.1\n--extra-index-url "https://x.example/simple"\nnumpy\n';
    await inDir({ 'requirements.txt': requirements }, () => {
      expect(new SeedDeployment({}, runtime({})).getRuntimeEnv()).toEqual({
        pip: { packages: ['torch==2.1', 'numpy'] },
      });
    });
    expect(logger.records.filter((r) => r.kind === 'log' && r.event === 'warning')).toHaveLength(1);
    await inDir(
      {
        'requirements.txt': requirements,
        'config.yaml': 'name: p\nversion: 1\npackage_manager: uv\npackage_manager_options: ["--quiet"]\n',
      },
      () => {
        expect(new SeedDeployment({}, runtime({})).getRuntimeEnv()).toEqual({
          uv: {
            packages: ['torch==2.1', 'numpy'],
            uv_pip_install_options: [
              '--no-cache',
              '--quiet',
              '--extra-index-url',
              'https://x.example/simple',
            ],
          },
        });
      },
    );
    await inDir({ 'requirements.txt': '# nothing\n--quiet\n' }, () => {
      expect(new SeedDeployment({}, runtime({})).getRuntimeEnv()).toEqual({});
    });
    expect(parseRequirements("a\n-f 'x y'\n")).toEqual({ packages: ['a'], options: ['-f', 'x y'] });
  });

  it('DeploymentContext starts empty', () => {
    const ctx = new DeploymentContext(runtime({}), { model: 3 });
    expect(ctx).toMatchObject({
      params: { model: 3 },
      modelId: null,
      model: null,
      modelPath: null,
      serveAppName: null,
      serveAppId: null,
      routePrefix: null,
      rayActorOptions: {},
      deployed: false,
    });
  });
});

describe('deploy', () => {
  it('requires an entrypoint', async () => {
    class NoEntrypoint extends BaseDeploymentAction {
      static override actionName = 'deployment';
    }
    const err = await failure(new NoEntrypoint({}, runtime({ SYNAPSE_PLUGIN_RELEASE_CODE: 'x@1' })).deploy());
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe(
      'entrypoint must be set to a serve deployment class. Example: static entrypoint = MyServeDeployment',
    );
  });

  it('deploys without an agent client after a warning, and serves requests', async () => {
    const vars = { SYNAPSE_PLUGIN_RELEASE_CODE: 'no-agent@1.0.0', SYNAPSE_PLUGIN_RUN_HOST: h.server.url };
    const action = new SeedDeployment({}, runtime(vars, { agent: false }));
    await action.deploy();
    expect(logger.records).toContainEqual(
      expect.objectContaining({
        event: 'warning',
        data: { message: 'serve capacity gate skipped: agent_client not provided' },
      }),
    );
    expect((await backend.status('no-agent@1.0.0'))?.status).toBe('RUNNING');
    expect((await backend.status('no-agent@1.0.0'))?.route_prefix).toBe(`/${createMd5('no-agent@1.0.0')}`);
    expect(await inferRemote({ json: { q: 1 } }, runtime(vars))).toEqual({
      echo: { q: 1 },
      backendUrl: h.server.url,
      model: null,
    });
    await backend.delete('no-agent@1.0.0');
  });

  it('leaves the running app untouched when capacity is denied', async () => {
    const vars = { SYNAPSE_PLUGIN_RELEASE_CODE: 'gated@1.0.0', SYNAPSE_PLUGIN_RUN_HOST: h.server.url };
    await new SeedDeployment({ num_cpus: 1 }, runtime(vars)).deploy();
    const before = await backend.status('gated@1.0.0');
    const builtBefore = constructed;
    expect(before?.status).toBe('RUNNING');

    const err = await failure(new SeedDeployment({ num_gpus: 2 }, runtime(vars)).deploy());
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toMatch(/^Serve deploy denied: insufficient cluster capacity \(\[.+\]\)$/);

    expect(constructed).toBe(builtBefore);
    expect(await backend.status('gated@1.0.0')).toEqual(before);
    expect(await inferRemote({ json: { still: 'up' } }, runtime(vars))).toMatchObject({
      echo: { still: 'up' },
    });
    await backend.delete('gated@1.0.0');
  });

  it('fails closed when the agent is unreachable, deploying nothing', async () => {
    const vars = { SYNAPSE_PLUGIN_RELEASE_CODE: 'unreachable@1.0.0' };
    const deadAgent = new AgentClient('http://127.0.0.1:1', 'token', { retry: { total: 0 } });
    const ctx = new RuntimeContext({
      env: new PluginEnvironment(vars),
      agentClient: deadAgent,
      logger,
      serveBackend: backend,
    });
    const err = await failure(new SeedDeployment({}, ctx).deploy());
    expect(err.message).toBe('Serve deploy capacity check failed: agent unreachable (ClientConnectionError)');
    expect(await backend.status('unreachable@1.0.0')).toBeNull();
    await deadAgent.close();
  });

  it('replaces an app of the same name on redeploy', async () => {
    const vars = { SYNAPSE_PLUGIN_RELEASE_CODE: 'redeploy@1.0.0' };
    await new SeedDeployment({}, runtime(vars)).deploy();
    const first = constructed;
    await new SeedDeployment({ num_replicas: 2 } as never, runtime(vars)).deploy();
    expect(constructed).toBe(first + 2);
    expect((await backend.status('redeploy@1.0.0'))?.deployments[0]?.replica_states).toEqual({ RUNNING: 2 });
    await backend.delete('redeploy@1.0.0');
  });
});

function createMd5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

describe('registerServeApplication and the devserver', () => {
  it('returns null without a job or an agent client', async () => {
    const vars = { SYNAPSE_PLUGIN_RELEASE_CODE: 'x@1' };
    expect(await new SeedDeployment({}, runtime(vars)).registerServeApplication()).toBeNull();
    expect(
      await new SeedDeployment({}, runtime(vars, { jobId: 'j', agent: false })).registerServeApplication(),
    ).toBeNull();
  });

  it('returns null when the agent does not know the app', async () => {
    const { job_id } = await deploymentJob();
    const action = new SeedDeployment(
      {},
      runtime({ SYNAPSE_PLUGIN_RELEASE_CODE: 'unknown@9' }, { jobId: job_id }),
    );
    expect(await action.registerServeApplication()).toBeNull();
  });

  it('runs the seed flow: deploy, register, then inference through the devserver', async () => {
    const { code, job_id, releaseCode } = await deploymentJob();
    const vars = {
      SYNAPSE_PLUGIN_RELEASE_CODE: releaseCode,
      SYNAPSE_PLUGIN_RUN_HOST: h.server.url,
      SYNAPSE_AGENT_ID: String(h.server.credentials.agentId),
    };
    const result = (await SeedDeployment.dispatch({}, runtime(vars, { jobId: job_id }))) as {
      serve_application: number;
    };
    expect(typeof result.serve_application).toBe('number');
    const app = await h.client.get(`serve_applications/${result.serve_application}/`);
    expect(app).toMatchObject({ name: releaseCode, job: job_id, status: 'RUNNING' });
    expect(logger.records.filter((r) => r.kind === 'progress').map((r) => r.key)).toEqual([
      'initialize',
      'deploy',
      'register',
    ]);

    // A model the deployment loads through the multiplexing token the devserver signs.
    const dir = await mkdtemp(join(tmpdir(), 'deployment-model-'));
    try {
      const zip = join(dir, 'm.zip');
      await writeFile(zip, zipSync({ 'model.json': strToU8('{"kind":"echo-model"}') }));
      const model = await h.client.createModel({ name: 'served' }, { file: zip });
      const agent = h.server.credentials.agentId;
      const answer = await h.client.runPlugin(code, {
        agent,
        action: 'inference',
        params: { model: model.id, json: { withModel: true } },
      });
      expect(answer).toEqual({
        echo: { withModel: true },
        backendUrl: h.server.url,
        model: { id: model.id, kind: 'echo-model' },
      });
      const plain = await h.client.runPlugin(code, {
        agent,
        action: 'inference',
        params: { json: { hello: 1 }, path: '/' },
      });
      expect(plain).toEqual({ echo: { hello: 1 }, backendUrl: h.server.url, model: null });
    } finally {
      await rm(dir, { recursive: true, force: true });
      await backend.delete(releaseCode);
    }
  });

  it('answers the fixture when no app of the release is running in the gateway', async () => {
    const { code } = await fixtureRelease(h, { actions: INFERENCE_ACTIONS });
    const answer = await h.client.runPlugin(code, {
      agent: h.server.credentials.agentId,
      action: 'inference',
      params: { json: {} },
    });
    expect(answer).toEqual({ objects: [] });
  });
});

const INFERENCE_ACTIONS = {
  deployment: { entrypoint: 'plugin.Deploy', method: 'job' },
  inference: { entrypoint: 'plugin.Echo', method: 'task' },
};

/** A release and its `deployment` run on the devserver: the job and a RUNNING app there. */
async function deploymentJob() {
  const { code } = await fixtureRelease(h, { actions: INFERENCE_ACTIONS });
  const { job_id } = await h.client.runPlugin(code, {
    agent: h.server.credentials.agentId,
    action: 'deployment',
    params: {},
  });
  return { code, job_id: job_id as string, releaseCode: `${code}@1.0.0` };
}
