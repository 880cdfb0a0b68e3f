/**
 * The devserver hosting serving: a published release is deployed through `plugins/<code>/run/`
 * (action `deployment`), its serve application goes DEPLOYING → RUNNING (or DEPLOY_FAILED), and
 * `inference` runs reach the replicas with the model they name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeApplication } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';
import { echoServe, publishPreProcessor } from '../serve-plugins.ts';

// Room for every deployment of this file: the capacity gate is not what these tests are about.
const h = useDevServer({ serve: { port: 0 }, capacity: { cpus: 16 } });
let dir: string;

const publish = (code: string, constructorBody = '') =>
  publishPreProcessor(h.client, dir, code, echoServe(constructorBody), 'EchoServe');

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
    expect((await h.client.getJob(jobId)).status).toBe('SUCCEEDED');

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
});
