/**
 * The devserver hosting serving: a published release is deployed through `plugins/<code>/run/`
 * (action `deployment`), its serve application goes DEPLOYING → RUNNING (or DEPLOY_FAILED), and
 * `inference` runs reach the replicas with the model they name.
 * Own server: a serve gateway and a capacity of 16 CPUs (the shared platform has neither), and a
 * restart on a data folder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { strToU8, zipSync } from 'fflate';
import {
  BackendClient,
  inferRemote,
  PluginEnvironment,
  RuntimeContext,
  type ServeApplication,
} from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDevServer } from '../../../test-support/harness.ts';
import { echoModel, echoServe, publishPreProcessor } from '../../../test-support/serve-plugins.ts';
import { startDevServer } from '../src/index.ts';

// Room for every deployment of this file: the capacity gate is not what these tests are about.
const h = useDevServer({ serve: { port: 0 }, capacity: { cpus: 16 } });
let dir: string;

const publish = (code: string, constructorBody = '') =>
  publishPreProcessor(h.client, dir, code, echoServe(constructorBody), 'EchoServe');

/** A serve deployment whose routes answer the method they were called with. */
const METHOD_ECHO = `import { BaseServeDeployment, type ServeRequest, type ServeRoute } from 'synapse-sdk';

export class MethodEcho extends BaseServeDeployment {
  static override routes: ServeRoute[] = [
    { method: 'GET', path: '/info', handler: 'info' },
    { method: 'PUT', path: '/', handler: 'infer' },
  ];
  async info(_body: unknown, request: ServeRequest) {
    return { route: 'info', method: request.method };
  }
  override async infer(body: unknown, request: ServeRequest) {
    return { route: 'infer', method: request.method, body };
  }
}
`;

/**
 * A plugin's own deployment action: whatever the run asks, it serves three replicas, says so in
 * the job's log and answers a result of its own; the platform must run this, not a copy of the SDK's.
 */
const CUSTOM_DEPLOY = `import { BaseDeploymentAction } from 'synapse-sdk';
import { EchoServe } from './serve.ts';

export class Deploy extends BaseDeploymentAction<{ num_replicas?: number }> {
  static override entrypoint = EchoServe;
  override getServeOptions() {
    return { num_replicas: 3 };
  }
  override async execute() {
    this.logMessage('custom deployment: three replicas');
    await this.deploy();
    return { deployed_by: 'custom Deploy', app: this.getServeAppName(), asked: this.params.num_replicas };
  }
}
`;

async function settled(name: string): Promise<ServeApplication> {
  for (let i = 0; i < 200; i++) {
    const [[app]] = await h.client.listServeApplications({ name });
    if (app && app.status !== 'DEPLOYING') return app;
    await sleep(100);
  }
  throw new Error(`${name} still DEPLOYING`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'devserver-serve-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('deployments hosted by the devserver', () => {
  it('deploys a release and answers inference runs with the model they name', async () => {
    await publish('hosted-echo');
    const agent = h.server.credentials.agentId;
    const { job_id: jobId } = await h.client.runPlugin('hosted-echo', {
      agent,
      action: 'deployment',
      params: { num_replicas: 2 },
    });
    const app = await settled('hosted-echo@1.0.0');
    expect(app).toMatchObject({
      status: 'RUNNING',
      num_replicas: 2,
      route_prefix: expect.stringMatching(/^\/[0-9a-f]{32}$/),
    });
    // The SDK's default deployment action ran: it registered the app and answered its id.
    expect(await h.client.getJob(jobId)).toMatchObject({
      status: 'SUCCEEDED',
      result: { serve_application: app.id },
    });

    const zip = join(dir, 'cat.zip');
    await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name: 'cat' })) }));
    const model = await h.client.createModel({ name: 'cat', file: zip });
    const answer = (await h.client.runPlugin('hosted-echo', {
      agent,
      action: 'inference',
      params: { model: model.id, json: { inputs: [1] } },
    })) as { model: string; pid: number; input: unknown };
    expect(answer).toMatchObject({ model: 'cat', input: { inputs: [1] } });
    expect(answer.pid).not.toBe(process.pid);
  });

  it('marks the app DEPLOY_FAILED and the job FAILED when the deployment cannot start', async () => {
    await publish('broken-echo', "throw new Error('GPU driver missing');");
    const { job_id: jobId } = await h.client.runPlugin('broken-echo', {
      agent: h.server.credentials.agentId,
      action: 'deployment',
    });
    expect((await settled('broken-echo@1.0.0')).status).toBe('DEPLOY_FAILED');
    const job = await h.client.getJob(jobId);
    expect(job.status).toBe('FAILED');
    expect(String(job.console_logs)).toContain('GPU driver missing');
  });

  it("runs the release's own deployment action, with the parameters it chooses", async () => {
    await publishPreProcessor(h.client, dir, 'custom-echo', echoServe(), 'EchoServe', CUSTOM_DEPLOY);
    const { job_id: jobId } = await h.client.runPlugin('custom-echo', {
      agent: h.server.credentials.agentId,
      action: 'deployment',
      params: { num_replicas: 1 },
    });
    const app = await settled('custom-echo@1.0.0');
    expect(app.status).toBe('RUNNING');
    // The backend's own view of the app: the replicas the plugin's action asked for.
    expect((app.data as { deployments: Array<{ replica_states: unknown }> }).deployments[0]).toMatchObject({
      replica_states: { RUNNING: 3 },
    });
    const job = await h.client.getJob(jobId);
    expect(job).toMatchObject({
      status: 'SUCCEEDED',
      result: { deployed_by: 'custom Deploy', app: 'custom-echo@1.0.0', asked: 1 },
    });
    expect(String(job.console_logs)).toContain('custom deployment: three replicas');
  });

  it('fails a deployment whose deployment action names a file the release does not have', async () => {
    const missing = 'export const nothing = 1;\n';
    const release = await publishPreProcessor(h.client, dir, 'no-deploy', echoServe(), 'EchoServe', missing);
    expect(release.config).toMatchObject({ actions: { deployment: { entrypoint: 'plugin.deploy.Deploy' } } });
    const { job_id: jobId } = await h.client.runPlugin('no-deploy', {
      agent: h.server.credentials.agentId,
      action: 'deployment',
    });
    expect((await settled('no-deploy@1.0.0')).status).toBe('DEPLOY_FAILED');
    const job = await h.client.getJob(jobId);
    expect(job.status).toBe('FAILED');
    expect(String(job.console_logs)).toContain("module has no export 'Deploy'");
  });

  it('honours the method of an inference run, through the platform and through inferRemote', async () => {
    const release = await publishPreProcessor(h.client, dir, 'method-echo', METHOD_ECHO, 'MethodEcho');
    const agent = h.server.credentials.agentId;
    await h.client.runPlugin('method-echo', { agent, action: 'deployment' });
    expect((await settled('method-echo@1.0.0')).status).toBe('RUNNING');

    const viaPlatform = (params: Record<string, unknown>) =>
      h.client.runPlugin('method-echo', { agent, action: 'inference', params });
    expect(await viaPlatform({ method: 'get', path: '/info', json: {} })).toEqual({
      route: 'info',
      method: 'GET',
    });
    expect(await viaPlatform({ method: 'Put', json: { a: 1 } })).toEqual({
      route: 'infer',
      method: 'PUT',
      body: { a: 1 },
    });

    const ctx = new RuntimeContext({
      env: new PluginEnvironment({
        RAY_SERVE_ADDRESS: h.server.ctx.serveGatewayUrl,
        SYNAPSE_PLUGIN_RELEASE_CHECKSUM: release.checksum,
      }),
    });
    expect(await inferRemote({ method: 'get', path: 'info', json: {} }, ctx)).toEqual({
      route: 'info',
      method: 'GET',
    });
    expect(await inferRemote({ method: 'put', json: { a: 1 } }, ctx)).toEqual({
      route: 'infer',
      method: 'PUT',
      body: { a: 1 },
    });
  });

  it('serves its apps again after a restart by running their deployment action again', async () => {
    const dataDir = join(dir, 'restarted');
    const options = { dataDir, serve: { port: 0 }, capacity: { cpus: 16 } };
    const first = await startDevServer(options);
    try {
      const client = new BackendClient(first.url, { accessToken: first.credentials.accessToken });
      await publishPreProcessor(client, dir, 'restored-echo', echoServe(), 'EchoServe', CUSTOM_DEPLOY);
      await client.runPlugin('restored-echo', { agent: first.credentials.agentId, action: 'deployment' });
      for (let i = 0; i < 200; i++) {
        const [[app]] = await client.listServeApplications({ name: 'restored-echo@1.0.0' });
        if (app?.status === 'RUNNING') break;
        await sleep(100);
      }
      await client.close();
    } finally {
      await first.close();
    }

    const second = await startDevServer(options);
    try {
      const client = new BackendClient(second.url, { accessToken: second.credentials.accessToken });
      const [[app]] = await client.listServeApplications({ name: 'restored-echo@1.0.0' });
      // Restored by the plugin's own action: its three replicas, not the run's params.
      expect(app).toMatchObject({ status: 'RUNNING' });
      expect((app!.data as { deployments: Array<{ replica_states: unknown }> }).deployments[0]).toMatchObject(
        {
          replica_states: { RUNNING: 3 },
        },
      );
      const model = await echoModel(client, dir, 'owl');
      const answer = await client.runPlugin('restored-echo', {
        agent: second.credentials.agentId,
        action: 'inference',
        params: { model, json: { q: 1 } },
      });
      expect(answer).toMatchObject({ model: 'owl', input: { q: 1 } });
      await client.close();
    } finally {
      await second.close();
    }
    // Two servers start, deploy and stop in this test: room for that on a busy machine.
  }, 120_000);
});
