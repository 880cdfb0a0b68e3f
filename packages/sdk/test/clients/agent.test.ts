/**
 * `AgentClient` against the devserver's agent API: auth, health, releases, runs, serve applications
 * and capacity.
 * Own server: a capacity of its own, with jobs left PENDING (runJobs: false).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AgentClient,
  AuthenticationError,
  ClientError,
  NotFoundError,
  ValidationError,
} from '../../src/index.ts';
import { fixtureRelease, useDevServer } from '../helpers.ts';

const GiB = 1024 ** 3;
// Job records stay PENDING: these tests play the agent's side themselves.
const h = useDevServer({ capacity: { cpus: 4, gpus: 1, memoryBytes: 8 * GiB }, runJobs: false });

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

const CONFIG = {
  actions: {
    to_task: { entrypoint: 'plugin.to_task.ToTask', method: 'job' },
    deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
    inference: { entrypoint: 'plugin.inference.Inference', method: 'serve' },
  },
};

const fixture = () => fixtureRelease(h, CONFIG);

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe('AgentClient: auth and health', () => {
  it('answers health without a valid token, everything else needs one', async () => {
    const stranger = new AgentClient(h.server.agentUrl, 'f'.repeat(40));
    try {
      expect(await stranger.healthCheck()).toEqual({ status: 'ok' });
      const err = await stranger.listJobs().catch((e) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err.statusCode).toBe(401);
      expect(err.detail).toEqual({ detail: 'Invalid token.' });
      expect(err.message).not.toContain('f'.repeat(40));
    } finally {
      await stranger.close();
    }
    expect(await h.agent.healthCheck()).toEqual({ status: 'ok' });
  });
});

describe('AgentClient: plugin releases', () => {
  it('caches, reads by id or code@version, lists and deletes releases', async () => {
    const { code, releaseId } = await fixture();
    await expect(h.agent.getPluginRelease(releaseId)).rejects.toBeInstanceOf(NotFoundError);
    const cached = await h.agent.createPluginRelease(code, '1.0.0');
    expect(cached).toMatchObject({ id: releaseId, code: `${code}@1.0.0` });
    expect(await h.agent.getPluginRelease(`${code}@1.0.0`)).toEqual(cached);
    expect(await h.agent.getPluginRelease(releaseId)).toEqual(cached);

    const [items, count] = await h.agent.listPluginReleases();
    expect(items.map((r) => r.id)).toContain(releaseId);
    expect(count).toBe(items.length);
    const all = await h.agent.listPluginReleases({}, { listAll: true });
    expect((await all.toArray()).map((r) => r.id)).toEqual(items.map((r) => r.id));

    expect(await h.agent.deletePluginRelease(`${code}@1.0.0`)).toBeNull();
    await expect(h.agent.getPluginRelease(releaseId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.agent.deletePluginRelease(releaseId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.agent.createPluginRelease(code, '9.9.9')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers a malformed body with a FastAPI 422', async () => {
    const err = await h.agent.post('plugin_releases/', { data: { version: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.statusCode).toBe(422);
    expect(err.message).toBe(
      [
        '422 Validation Error:',
        '  body -> plugin: Field required (type=missing)',
        '  body -> version: Input should be a valid string (type=string_type) [input=1]',
      ].join('\n'),
    );
  });
});

describe('AgentClient: runs and Ray jobs', () => {
  it('runs a job action into a Ray job, with logs, tail and stop', async () => {
    const { code, releaseId } = await fixture();
    const { job_id } = await h.agent.runPluginRelease(`${code}@1.0.0`, {
      action: 'to_task',
      params: { a: 1 },
    });
    expect(job_id).toEqual(expect.any(String));
    const record = await h.client.getJob(job_id);
    expect(record).toMatchObject({
      status: 'PENDING',
      action: 'to_task',
      plugin_release: releaseId,
      params: { a: 1 },
    });
    expect(await h.agent.getPluginRelease(releaseId)).toMatchObject({ id: releaseId });

    const job = await h.agent.getJob(job_id);
    expect(job).toMatchObject({
      submission_id: job_id,
      status: 'PENDING',
      entrypoint: 'synapse-entrypoint',
      end_time: null,
      metadata: { job_id, action: 'to_task' },
      runtime_env: {},
    });
    expect(job.start_time).toBe(Date.parse(record.created));
    expect((await h.agent.listJobs()).map((j) => j.submission_id)).toContain(job_id);

    await h.client.updateJob(job_id, { status: 'running', console_logs: ['step 1', 'step 2'] });
    expect(await h.agent.getJobLogs(job_id)).toEqual({ logs: 'step 1\nstep 2' });
    expect(await collect(h.agent.tailJobLogs(job_id, { protocol: 'http' }))).toEqual(['step 1', 'step 2']);

    expect(await h.agent.stopJob(job_id)).toEqual({ stopped: true });
    // `auto` streams over WebSocket, which ends once the job is final (agent-websocket.test.ts).
    expect(await collect(h.agent.tailJobLogs(job_id))).toEqual(['step 1', 'step 2']);
    expect((await h.agent.getJob(job_id)).status).toBe('STOPPED');
    expect((await h.client.getJob(job_id)).is_active).toBe(false);
    expect(await h.agent.stopJob(job_id)).toEqual({ stopped: false });
    await expect(h.agent.getJob('not-a-job')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sends a verbatim body and debug runs', async () => {
    const { code } = await fixture();
    await h.admin('PUT', `_emulator/run_fixtures/${code}/inference`, { objects: [1] });
    expect(
      await h.agent.runPluginRelease(`${code}@1.0.0`, { data: { action: 'inference', params: {} } }),
    ).toEqual({
      objects: [1],
    });
    const debugJob = await h.agent.runDebugPluginRelease(
      'train',
      { epochs: 1 },
      { config: { code, version: '0.0.1' } },
    );
    expect((await h.client.getJob(debugJob.job_id)).params).toEqual({ epochs: 1 });
    expect(await h.agent.runDebugPluginRelease('inference', {}, { config: { code } })).toEqual({
      objects: [1],
    });
    const badAction = await h.agent.runPluginRelease(`${code}@1.0.0`, { action: 'nope' }).catch((e) => e);
    expect(badAction).toBeInstanceOf(ValidationError);
  });

  it('validates tailJobLogs arguments before sending anything', () => {
    expect(() => h.agent.tailJobLogs('../etc')).toThrow(new ClientError(400, 'Invalid job id: ../etc'));
    expect(() => h.agent.tailJobLogs('abc', { timeout: 0 })).toThrow('Invalid timeout: 0');
    expect(() => h.agent.tailJobLogs('abc', { protocol: 'sse' as never })).toThrow('Invalid protocol: sse');
  });
});

describe('AgentClient: serve applications and capacity', () => {
  it('shows deployed applications in the Ray Serve shape and deletes them', async () => {
    const { code } = await fixture();
    await h.agent.runPluginRelease(`${code}@1.0.0`, { action: 'deployment', params: { num_cpus: 1 } });
    const name = `${code}@1.0.0`;
    const app = await h.agent.getServeApplication(name);
    expect(app).toMatchObject({
      name,
      status: 'RUNNING',
      route_prefix: `/${md5(name)}`,
      message: '',
      docs_path: null,
      deployments: [{ name: 'Inference', status: 'HEALTHY', message: '', replica_states: { RUNNING: 1 } }],
    });
    expect(app.last_deployed_time_s).toBeGreaterThan(0);
    expect((await h.agent.listServeApplications()).map((a) => a.name)).toContain(name);
    expect(await h.agent.deleteServeApplication(name)).toBeNull();
    await expect(h.agent.getServeApplication(name)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('allows what fits the declared capacity and denies with reasons', async () => {
    const base = {
      kind: 'serve',
      memory_bytes: null,
      replicas: 1,
      metadata: { plugin_code: 'cap@1.0.0', agent: '1' },
    };
    const ok = await h.agent.checkFeasibility({ ...base, num_cpus: 1.0, num_gpus: 0.5 });
    expect(ok).toMatchObject({
      allowed: true,
      reasons: [],
      requested: { num_cpus: 1, num_gpus: 0.5, memory_bytes: 0 },
      available: { num_cpus: 4, num_gpus: 1, memory_bytes: 8 * GiB },
    });
    const denied = await h.agent.checkFeasibility({
      ...base,
      num_cpus: 1,
      num_gpus: 2,
      memory_bytes: 10 * GiB,
    });
    expect(denied.allowed).toBe(false);
    expect(denied.reasons).toEqual([
      'insufficient GPU: requested 2.0, available 1.0',
      `insufficient memory: requested ${10 * GiB}.0, available ${8 * GiB}.0`,
    ]);
  });

  it('counts running applications, except the one being redeployed', async () => {
    const { code } = await fixture();
    await h.agent.runPluginRelease(`${code}@1.0.0`, {
      action: 'deployment',
      params: { num_cpus: 3, num_gpus: 1 },
    });
    const payload = { kind: 'serve', num_cpus: 2, num_gpus: 1, memory_bytes: null, replicas: 1 };
    const other = await h.agent.checkFeasibility({ ...payload, metadata: { plugin_code: 'other@1.0.0' } });
    expect(other.reasons).toEqual([
      'insufficient CPU: requested 2.0, available 1.0',
      'insufficient GPU: requested 1.0, available 0.0',
    ]);
    const redeploy = await h.agent.checkFeasibility({
      ...payload,
      metadata: { plugin_code: `${code}@1.0.0` },
    });
    expect(redeploy.allowed).toBe(true);
    await h.agent.deleteServeApplication(`${code}@1.0.0`);
    expect((await h.agent.checkFeasibility({ ...payload, metadata: {} })).allowed).toBe(true);
  });

  it('rejects a malformed payload with 422, and serves the gatekeeping policy', async () => {
    const err = await h.agent.checkFeasibility({ kind: 'serve', num_gpus: 'one' } as never).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail.detail).toEqual([
      { type: 'float_type', loc: ['body', 'num_gpus'], msg: 'Input should be a valid number', input: 'one' },
    ]);
    expect(await h.agent.getGatekeepingPolicy()).toMatchObject({
      enabled: true,
      fail_closed: true,
      max_replicas: 8,
      allow_fractional_gpus: true,
    });
  });
});

describe('AgentClient: nodes and tasks', () => {
  it('shows the local machine as the only node', async () => {
    const [node, ...rest] = await h.agent.listNodes();
    expect(rest).toEqual([]);
    expect(node).toMatchObject({ state: 'ALIVE', resources_total: { CPU: 4, GPU: 1, memory: 8 * GiB } });
    expect(await h.agent.getNode(node.node_id)).toEqual(node);
    await expect(h.agent.getNode('unknown')).rejects.toBeInstanceOf(NotFoundError);
    expect(await h.agent.listTasks()).toEqual([]);
    await expect(h.agent.getTask('t1')).rejects.toBeInstanceOf(NotFoundError);
  });
});
