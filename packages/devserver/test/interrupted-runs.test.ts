/**
 * Runs a restart interrupted (#11 item 6): a devserver started on the data dir of one that stopped
 * ends the runs still recorded as live, over the real API, with a reason the user can read.
 * Own servers: restarts on a data folder of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requestJson } from '../../../test-support/harness.ts';
import {
  INTERRUPTED_DEPLOYING,
  INTERRUPTED_PENDING,
  INTERRUPTED_RUNNING,
} from '../src/agent/interrupted-runs.ts';
import { type DevServer, type DevServerOptions, startDevServer } from '../src/index.ts';

const servers: DevServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(dataDir: string, options: DevServerOptions = {}): Promise<DevServer> {
  const server = await startDevServer({ dataDir, ...options });
  servers.push(server);
  return server;
}

async function call(server: DevServer, method: string, path: string, body?: unknown): Promise<any> {
  const res = await requestJson(server, method, path, body);
  if (res.status >= 400) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A platform that stopped with live records: jobs of each state, a deployment, serve apps. */
async function leaveLiveRuns(dataDir: string) {
  const server = await start(dataDir, { runJobs: false, deploymentDelayMs: 3_600_000 });
  const agent = server.credentials.agentId;
  const job = (status: string, action: string, console_logs: string[] | null = null) => ({
    status,
    action,
    agent,
    params: {},
    is_active: true,
    console_logs,
  });
  const { jobs } = await call(server, 'POST', '_emulator/fixtures', {
    jobs: [
      job('RUNNING', 'train', ['epoch 1 of 10']),
      job('PENDING', 'train'),
      job('SUCCEEDED', 'train', ['done']),
      job('STOPPED', 'train'),
    ],
  });
  // A simulated deployment, left DEPLOYING by the long delay.
  const { plugins } = await call(server, 'POST', '_emulator/fixtures', {
    plugins: [{ code: 'det', name: 'det', category: 'neural_net' }],
  });
  await call(server, 'POST', '_emulator/fixtures', {
    plugin_releases: [
      {
        plugin: plugins[0],
        plugin_code: 'det',
        version: '1.0.0',
        code: 'det@1.0.0',
        checksum: 'c',
        config: {
          code: 'det',
          actions: { deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' } },
        },
      },
    ],
  });
  const deployment = await call(server, 'POST', 'plugins/det/run/', {
    agent,
    action: 'deployment',
    params: {},
  });
  const { serve_applications } = await call(server, 'POST', '_emulator/fixtures', {
    serve_applications: [{ name: 'live@1.0.0', agent, status: 'RUNNING', data: {} }],
  });
  const [app] = (await call(server, 'GET', 'serve_applications/?name=det@1.0.0')).results;
  expect(app.status).toBe('DEPLOYING');
  await server.close();
  servers.splice(servers.indexOf(server), 1);
  const [running, pending, succeeded, stopped] = jobs as string[];
  return {
    running,
    pending,
    succeeded,
    stopped,
    deploymentJob: deployment.job_id as string,
    deployingApp: app.id as number,
    runningApp: serve_applications[0] as number,
  };
}

describe('a devserver started on the data dir of one that stopped', () => {
  it('ends live jobs FAILED with the reason, and a DEPLOYING app DEPLOY_FAILED', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'synapse-interrupted-'));
    dirs.push(dataDir);
    const left = await leaveLiveRuns(dataDir);
    const server = await start(dataDir);

    const running = await call(server, 'GET', `jobs/${left.running}/`);
    expect(running).toMatchObject({ status: 'FAILED', is_active: false });
    expect(running.completed).toEqual(expect.any(String));
    expect((await call(server, 'GET', `jobs/${left.running}/console_logs/`)).results).toEqual([
      'epoch 1 of 10',
      `ERROR: ${INTERRUPTED_RUNNING}`,
    ]);
    expect(await call(server, 'GET', `jobs/${left.pending}/`)).toMatchObject({
      status: 'FAILED',
      console_logs: [`ERROR: ${INTERRUPTED_PENDING}`],
    });
    expect(await call(server, 'GET', `jobs/${left.deploymentJob}/`)).toMatchObject({ status: 'FAILED' });
    // Finished jobs keep what they were.
    expect(await call(server, 'GET', `jobs/${left.succeeded}/`)).toMatchObject({
      status: 'SUCCEEDED',
      console_logs: ['done'],
    });
    expect((await call(server, 'GET', `jobs/${left.stopped}/`)).status).toBe('STOPPED');

    const app = await call(server, 'GET', `serve_applications/${left.deployingApp}/`);
    expect(app).toMatchObject({ status: 'DEPLOY_FAILED', data: { message: INTERRUPTED_DEPLOYING } });
    // A simulated app that was RUNNING stays so: nothing of it was lost.
    expect((await call(server, 'GET', `serve_applications/${left.runningApp}/`)).status).toBe('RUNNING');
  });

  it('leaves job records alone when it runs no jobs itself, but still ends the deployment', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'synapse-interrupted-'));
    dirs.push(dataDir);
    const left = await leaveLiveRuns(dataDir);
    const server = await start(dataDir, { runJobs: false });
    expect((await call(server, 'GET', `jobs/${left.running}/`)).status).toBe('RUNNING');
    expect((await call(server, 'GET', `jobs/${left.pending}/`)).status).toBe('PENDING');
    expect((await call(server, 'GET', `jobs/${left.deploymentJob}/`)).status).toBe('FAILED');
    expect((await call(server, 'GET', `serve_applications/${left.deployingApp}/`)).status).toBe(
      'DEPLOY_FAILED',
    );
  });
});
