/**
 * The platform's own Python SDK (PyPI `synapse-sdk` 2026.2, Python >= 3.12) and this client make
 * the calls #14 added against the same local platform; the requests the platform recorded
 * (method, path, query, body) must be the same. Skipped, saying why, where no virtualenv with the
 * Python SDK is found (`scripts/python-sdk.sh install` makes it; `.ci/run` does).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureRelease, useDevServer } from '../helpers.ts';

/** Where a virtualenv with the Python SDK is looked for (no environment variable: a fixed place). */
const CANDIDATES = [join(import.meta.dirname, '../../../../.venv-pysdk/bin/python')];

function findPython(): { python: string | null; reason: string } {
  for (const python of CANDIDATES) {
    if (!existsSync(python)) continue;
    try {
      const version = execFileSync(
        python,
        ['-c', 'import synapse_sdk, importlib.metadata as m; print(m.version("synapse-sdk"))'],
        {
          encoding: 'utf8',
        },
      ).trim();
      return { python, reason: `synapse-sdk ${version}` };
    } catch {}
  }
  return { python: null, reason: `no virtualenv with the Python synapse-sdk at ${CANDIDATES.join(' or ')}` };
}

const { python, reason } = findPython();

function runPython(
  python: string,
  script: string,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout = (stdout + chunk).slice(-100_000);
    });
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    // A hang guard, not a timing: a script stuck on a stream that never ends fails instead of hanging.
    const guard = setTimeout(() => child.kill(), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The calls, in the Python SDK's own words; `cfg` comes on stdin. */
const SCRIPT = `
import json, sys
from synapse_sdk.clients.agent import AgentClient
from synapse_sdk.clients.backend import BackendClient
cfg = json.load(sys.stdin)
agent = AgentClient(cfg['agent_url'], cfg['agent_token'])
backend = BackendClient(cfg['url'], access_token=cfg['token'])
agent.get_gatekeeping_policy()
agent.update_gatekeeping_policy({'max_replicas': 4})
agent.get_runtime_policy()
agent.update_runtime_policy({'max_concurrent_jobs': 2})
agent.get_cluster_resources()
agent.get_cluster_resources(use_cache=False)
agent.get_gpu_status()
agent.get_system_status()
c = agent.create_container(cfg['release'], params={'port': 1}, labels=['x'], wait=False)
agent.list_containers()
agent.get_container(c['id'])
agent.update_container(c['id'], status='stopped')
agent.delete_container(c['id'])
nodes = agent.list_nodes()
agent.get_node(nodes[0]['node_id'])
agent.list_jobs()
agent.get_job(cfg['job'])
agent.get_job_logs(cfg['job'])
agent.stop_job(cfg['job'])
agent.list_tasks()
agent.list_serve_applications()
backend.list_plugin_releases(cfg['plugin'])
backend.get_plugin_release_by_lookup(cfg['release'])
backend.list_tasks_data({'project': cfg['project']})
backend.list_tasks_files({'project': cfg['project']}, url_conversion={'files_fields': []})
backend.list_assignments_data({'project': cfg['project']})
backend.list_assignments_files({'project': cfg['project']}, url_conversion={'files_fields': []})
backend.list_ground_truth_events_data({'ground_truth_dataset_versions': cfg['version']})
backend.list_ground_truth_events_files({'ground_truth_dataset_versions': cfg['version']}, url_conversion={'files_fields': []})
backend.get_chunked_upload(cfg['upload'])
backend.annotate_task_data_batch([{'task_id': cfg['task'], 'data': {'action': 'submit', 'data': {'a': 1}}}])
`;

const h = useDevServer();

interface Recorded {
  method: string;
  path: string;
  query: Record<string, unknown>;
  body: unknown;
}

let cfg: Record<string, unknown>;

beforeAll(async () => {
  if (!python) return;
  const { code } = await fixtureRelease(h, {
    actions: { serve: { entrypoint: 'plugin.s.S', method: 'job' } },
  });
  const fixtures = (body: Record<string, unknown[]>) => h.admin('POST', '_emulator/fixtures', body);
  const [project] = (await fixtures({ projects: [{ title: 'Py' }] })).projects;
  const [unit] = (
    await fixtures({ data_units: [{ files: { image_1: { url: 'https://files.example/a.jpg' } } }] })
  ).data_units;
  const [task] = (await h.client.createTasks({ project, data: [{ data_unit: unit }] })).map((t) => t.id);
  await fixtures({ assignments: [{ task }] });
  const [dataset] = (await fixtures({ ground_truth_datasets: [{ name: 'Py', project }] }))
    .ground_truth_datasets;
  const [version] = (
    await fixtures({ ground_truth_dataset_versions: [{ version: 'v1', ground_truth_dataset: dataset }] })
  ).ground_truth_dataset_versions;
  await fixtures({
    ground_truth_events: [{ ground_truth_dataset_version: version, data_unit: unit, data: {} }],
  });
  const dir = await mkdtemp(join(tmpdir(), 'py-parity-'));
  let upload: Awaited<ReturnType<typeof h.client.createChunkedUpload>>['id'];
  try {
    await writeFile(join(dir, 'f.bin'), 'x');
    upload = (await h.client.createChunkedUpload(join(dir, 'f.bin'))).id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [job] = (
    await fixtures({
      jobs: [
        { status: 'SUCCEEDED', action: 'train', agent: h.server.credentials.agentId, plugin_release: null },
      ],
    })
  ).jobs;
  cfg = { plugin: code, release: `${code}@1.0.0`, project, task, version, upload, job };
});

/** The requests since the last call, without credentials' headers, agent paths under `agent:`. */
async function requests(): Promise<Recorded[]> {
  const recorded: Recorded[] = await h.admin('GET', '_emulator/requests');
  await h.admin('DELETE', '_emulator/requests');
  return recorded.map(({ method, path, query, body }) => ({
    method,
    path: path.startsWith('/agent/') ? `agent:${path.slice('/agent'.length)}` : path,
    query,
    body: body === undefined || body === '' ? null : body,
  }));
}

/** Our calls, the same ones in the same order. */
async function ours(): Promise<void> {
  const { agent, client } = h;
  const c = cfg as Record<string, any>;
  await agent.getGatekeepingPolicy();
  await agent.updateGatekeepingPolicy({ max_replicas: 4 });
  await agent.getRuntimePolicy();
  await agent.updateRuntimePolicy({ max_concurrent_jobs: 2 });
  await agent.getClusterResources();
  await agent.getClusterResources({ useCache: false });
  await agent.getGpuStatus();
  await agent.getSystemStatus();
  const created = await agent.createContainer(c.release, { params: { port: 1 }, labels: ['x'] });
  await agent.listContainers();
  await agent.getContainer(created.id);
  await agent.updateContainer(created.id, { status: 'stopped' });
  await agent.deleteContainer(created.id);
  const [node] = await agent.listNodes();
  await agent.getNode(node.node_id);
  await agent.listJobs();
  await agent.getJob(c.job);
  await agent.getJobLogs(c.job);
  await agent.stopJob(c.job);
  await agent.listTasks();
  await agent.listServeApplications();
  await client.listPluginReleases({ plugin: c.plugin });
  await client.getPluginReleaseByLookup(c.release);
  await client.listTasksData({ project: c.project });
  await client.listTasksFiles({ project: c.project });
  await client.listAssignmentsData({ project: c.project });
  await client.listAssignmentsFiles({ project: c.project });
  await client.listGroundTruthEventsData({ ground_truth_dataset_versions: c.version });
  await client.listGroundTruthEventsFiles({ ground_truth_dataset_versions: c.version });
  await client.getChunkedUpload(c.upload);
  await client.annotateTaskDataBatch([{ task_id: c.task, data: { action: 'submit', data: { a: 1 } } }]);
}

describe.skipIf(!python)(`the Python SDK's requests (${reason})`, () => {
  it('are the requests this client makes for the same calls', async () => {
    await h.admin('DELETE', '_emulator/requests');
    const input = JSON.stringify({
      ...cfg,
      url: h.server.url,
      token: h.server.credentials.accessToken,
      agent_url: h.server.agentUrl,
      agent_token: h.server.credentials.agentToken,
    });
    // Asynchronously: the platform answers from this very process.
    const { code, stderr } = await runPython(python!, SCRIPT, input);
    // Only the script's own error output: its arguments and input carry the tokens.
    if (code !== 0) throw new Error(`the Python SDK failed (${code}): ${stderr.slice(-2000)}`);
    const theirs = await requests();
    await ours();
    const mine = await requests();
    // The container id differs between the two runs: compare the paths with it left out.
    const normal = (r: Recorded) => ({ ...r, path: r.path.replace(/containers\/\d+/, 'containers/<id>') });
    expect(mine.map(normal)).toEqual(theirs.map(normal));
    expect(theirs.length).toBe(31);
  });

  it("answers the Python SDK's Ray-state calls, on its unprefixed paths", async () => {
    const [job] = (
      await h.admin('POST', '_emulator/fixtures', {
        jobs: [
          {
            status: 'SUCCEEDED',
            action: 'train',
            agent: h.server.credentials.agentId,
            plugin_release: null,
            console_logs: ['one', 'two'],
          },
        ],
      })
    ).jobs;
    const script = `
import json, sys
from synapse_sdk.clients.agent import AgentClient
cfg = json.load(sys.stdin)
agent = AgentClient(cfg['agent_url'], cfg['agent_token'])
nodes = agent.list_nodes()
print(json.dumps({
  'jobs': [j['submission_id'] for j in agent.list_jobs()],
  'job': agent.get_job(cfg['job'])['status'],
  'logs': agent.get_job_logs(cfg['job']),
  'stream': list(agent.stream_tail_job_logs(cfg['job'])),
  'node': agent.get_node(nodes[0]['node_id'])['node_id'] == nodes[0]['node_id'],
  'tasks': agent.list_tasks(),
  'apps': agent.list_serve_applications(),
}))
`;
    const input = JSON.stringify({
      job,
      agent_url: h.server.agentUrl,
      agent_token: h.server.credentials.agentToken,
    });
    const { code, stdout, stderr } = await runPython(python!, script, input);
    if (code !== 0) throw new Error(`the Python SDK failed (${code}): ${stderr.slice(-2000)}`);
    expect(JSON.parse(stdout)).toEqual({
      jobs: expect.arrayContaining([job]),
      job: 'SUCCEEDED',
      logs: { logs: 'one\ntwo' },
      stream: ['one', 'two'],
      node: true,
      tasks: [],
      apps: expect.any(Array),
    });
  });
});
