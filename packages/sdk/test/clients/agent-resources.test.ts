/**
 * The agent calls of the platform's Python SDK 2026.2 (#14 items 1, 2) against the devserver's
 * agent: cluster resources, the policy (gatekeeping and runtime, one object at
 * `resources/policy/`), GPU and system status, containers, and Ray's state on the Python paths.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/index.ts';
import { fixtureRelease, useDevServer } from '../helpers.ts';

const GiB = 1024 ** 3;
// The policy is server-wide state (this file changes it): a server of its own.
const h = useDevServer({ capacity: { cpus: 4, gpus: 2, memoryBytes: 8 * GiB }, runJobs: false });

interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

beforeEach(() => h.admin('DELETE', '_emulator/requests'));

/** The agent requests the server received since the test began, as `METHOD /path`. */
async function agentRequests(): Promise<Recorded[]> {
  const recorded: Recorded[] = await h.admin('GET', '_emulator/requests');
  return recorded
    .filter((r) => r.path.startsWith('/agent/'))
    .map((r) => ({ ...r, path: r.path.slice('/agent'.length) }));
}

describe('policy (resources/policy/)', () => {
  it('reads and patches the one policy object at the Python SDK path', async () => {
    const policy = await h.agent.getGatekeepingPolicy();
    expect(policy).toMatchObject({
      enabled: true,
      gatekeeping_enabled: true,
      max_concurrent_jobs: 3,
      max_concurrent_serve_replicas: 16,
      cpu_max_utilization_percent: 90,
    });
    expect(await h.agent.getRuntimePolicy()).toEqual(policy);

    const updated = await h.agent.updateRuntimePolicy({
      max_concurrent_jobs: 5,
      gpu_max_memory_percent: 75.5,
    });
    expect(updated).toEqual({ ...policy, max_concurrent_jobs: 5, gpu_max_memory_percent: 75.5 });
    expect(await h.agent.getGatekeepingPolicy()).toEqual(updated);

    expect((await agentRequests()).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /resources/policy/',
      'GET /resources/policy/',
      'PATCH /resources/policy/',
      'GET /resources/policy/',
    ]);
    const [, , patch] = await agentRequests();
    expect(patch.body).toEqual({ max_concurrent_jobs: 5, gpu_max_memory_percent: 75.5 });
  });

  it('switching gatekeeping off lets every deployment through; either name is the same switch', async () => {
    const huge = { kind: 'serve', num_cpus: 64, num_gpus: 0, memory_bytes: null, replicas: 1, metadata: {} };
    expect((await h.agent.checkFeasibility(huge)).allowed).toBe(false);
    const off = await h.agent.updateGatekeepingPolicy({ gatekeeping_enabled: false });
    expect(off).toMatchObject({ enabled: false, gatekeeping_enabled: false });
    expect(await h.agent.checkFeasibility(huge)).toMatchObject({ allowed: true, reasons: [] });
    expect(await h.agent.updateGatekeepingPolicy({ enabled: true })).toMatchObject({
      enabled: true,
      gatekeeping_enabled: true,
    });
    expect((await h.agent.checkFeasibility(huge)).allowed).toBe(false);
  });

  it('refuses a bad or unknown field with 422 naming it, and keeps the policy', async () => {
    const before = await h.agent.getGatekeepingPolicy();
    const bad = await h.agent.updateGatekeepingPolicy({ max_concurrent_jobs: -1 }).catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.detail.detail[0].loc).toEqual(['body', 'max_concurrent_jobs']);
    const unknown = await h.agent.updateGatekeepingPolicy({ surprise: 1 } as never).catch((e) => e);
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.detail.detail[0]).toMatchObject({ loc: ['body', 'surprise'] });
    expect(unknown.message).toContain('surprise');
    const notObject = await h.agent.updateGatekeepingPolicy([1] as never).catch((e) => e);
    expect(notObject).toBeInstanceOf(ValidationError);
    expect(await h.agent.getGatekeepingPolicy()).toEqual(before);
  });

  it('no longer answers the old gatekeeping_policy path', async () => {
    await expect(h.agent.get('resources/gatekeeping_policy/')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('cluster resources (resources/cluster/)', () => {
  it("answers the agent's capacity, minus what its running serve applications hold", async () => {
    const agent = h.server.credentials.agentId;
    const empty = await h.agent.getClusterResources();
    expect(empty).toMatchObject({
      stale: false,
      cpu: { total: 4, used: 0, available: 4 },
      memory: { total: 8 * GiB, used: 0, available: 8 * GiB },
      gpu: { total_gpus: 2, available_gpus: 2 },
      node_counts: { total: 1, alive: 1, dead: 0 },
      total_serve_replicas: 0,
    });
    expect(empty.nodes).toHaveLength(1);
    expect(empty.nodes[0]).toMatchObject({ is_head_node: true, state: 'ALIVE', cpu: { total: 4 } });
    expect(empty.nodes[0].gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(Number.isNaN(Date.parse(empty.collected_at))).toBe(false);

    const { serve_applications: ids } = await h.admin('POST', '_emulator/fixtures', {
      serve_applications: [
        {
          name: 'held@1.0.0',
          status: 'RUNNING',
          agent,
          num_replicas: 2,
          params: { num_cpus: 1.5, num_gpus: 0.5, memory: GiB },
        },
      ],
    });
    expect(ids).toHaveLength(1);
    try {
      const busy = await h.agent.getClusterResources({ useCache: false });
      expect(busy).toMatchObject({
        cpu: { total: 4, used: 3, available: 1 },
        memory: { used: 2 * GiB, available: 6 * GiB },
        gpu: { total_gpus: 2, available_gpus: 1 },
        total_serve_replicas: 2,
      });
    } finally {
      await h.agent.deleteServeApplication('held@1.0.0');
    }
    const queries = (await agentRequests())
      .filter((r) => r.path === '/resources/cluster/')
      .map((r) => r.query.use_cache);
    expect(queries).toEqual(['true', 'false']);
  });

  it('refuses a use_cache that is not a boolean, naming it', async () => {
    const err = await h.agent.get('resources/cluster/', { params: { use_cache: 'maybe' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail.detail[0]).toMatchObject({ type: 'bool_parsing', loc: ['query', 'use_cache'] });
  });
});

describe('GPU and system status', () => {
  it('answers GPU status by node and the system status', async () => {
    const gpus = await h.agent.getGpuStatus();
    expect(gpus).toMatchObject({ total_gpus: 2, available_gpus: 2 });
    expect(gpus.nodes).toHaveLength(1);
    expect(gpus.nodes[0].gpus).toHaveLength(2);
    const system = await h.agent.getSystemStatus();
    expect(system).toMatchObject({ status: 'ok', services: { api: { status: 'running' } } });
    expect(system.version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await agentRequests()).map((r) => r.path)).toEqual(['/gpu_status/', '/system/status/']);
  });
});

describe('containers', () => {
  it('creates, lists, reads, updates and deletes a container of a published release', async () => {
    const { code } = await fixtureRelease(h, {
      actions: { serve: { entrypoint: 'plugin.serve.Serve', method: 'job' } },
    });
    const created = await h.agent.createContainer(`${code}@1.0.0`, {
      params: { port: 8080 },
      envs: { MODE: 'dev' },
      labels: ['demo'],
      metadata: {},
    });
    expect(created).toMatchObject({
      plugin_release: `${code}@1.0.0`,
      plugin: code,
      version: '1.0.0',
      params: { port: 8080 },
      envs: { MODE: 'dev' },
      labels: ['demo'],
      status: 'running',
    });
    const [post] = (await agentRequests()).filter((r) => r.method === 'POST');
    // As the Python SDK sends it: the release split out, empty options left out.
    expect(post.body).toEqual({
      plugin_release: `${code}@1.0.0`,
      plugin: code,
      version: '1.0.0',
      params: { port: 8080 },
      envs: { MODE: 'dev' },
      labels: ['demo'],
    });

    const [listed, count] = await h.agent.listContainers();
    expect(count).toBe(1);
    expect(listed.map((c) => c.id)).toEqual([created.id]);
    expect(await h.agent.getContainer(created.id)).toEqual(created);
    const stopped = await h.agent.updateContainer(created.id, { status: 'stopped' });
    expect(stopped.status).toBe('stopped');
    expect(await h.agent.deleteContainer(created.id)).toBeNull();
    await expect(h.agent.getContainer(created.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await agentRequests()).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /containers/',
      'GET /containers/',
      `GET /containers/${created.id}`,
      `PATCH /containers/${created.id}`,
      `DELETE /containers/${created.id}`,
      `GET /containers/${created.id}`,
    ]);
  });

  it('refuses an unknown release or a bad field, naming it', async () => {
    const unknown = await h.agent.createContainer('nope@9.9.9').catch((e) => e);
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.detail.detail[0].loc).toEqual(['body', 'plugin_release']);
    const bad = await h.agent
      .post('containers/', { data: { plugin_release: 'x@1', labels: 'one' } })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.detail.detail[0].loc).toEqual(['body', 'labels']);
  });
});

describe("Ray's state on the Python SDK's paths", () => {
  it('answers jobs/, nodes/, tasks/ and serve_applications/ without the ray/ prefix', async () => {
    const [node] = await h.agent.get('nodes/');
    expect(node).toEqual((await h.agent.listNodes())[0]);
    expect(await h.agent.get(`nodes/${node.node_id}/`)).toEqual(node);
    expect(await h.agent.get('jobs/')).toEqual(await h.agent.listJobs());
    expect(await h.agent.get('tasks/')).toEqual([]);
    expect(await h.agent.get('serve_applications/')).toEqual(await h.agent.listServeApplications());
    await expect(h.agent.get('serve_applications/none/')).rejects.toBeInstanceOf(NotFoundError);
  });
});
