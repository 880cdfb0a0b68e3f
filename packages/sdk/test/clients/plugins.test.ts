/**
 * BackendClient's agents, storages, plugins, releases and runs against a real devserver.
 * Own servers: a hook in the server's context, the default storage's id, the recorded-request log, and a deployment delay.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { FileNotFoundError, NotFoundError, type PluginRelease, ValidationError } from '../../src/index.ts';
import { fixtureRelease, SIGNED_QUERY, signedMediaUrl, useDevServer } from '../helpers.ts';

const h = useDevServer();

const md5 = (data: string | Uint8Array) => createHash('md5').update(data).digest('hex');

async function tempFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'sdk-integration-')), name);
  await writeFile(path, bytes);
  return path;
}

function pluginZip(marker: string): Uint8Array {
  return zipSync({
    'config.yaml': strToU8(`name: Demo\nmarker: ${marker}\n`),
    'plugin/__init__.py': strToU8(''),
  });
}

const CONFIG = {
  name: 'Demo Plugin',
  code: 'demo',
  version: '1.0.0',
  category: 'pre_annotation',
  actions: {
    to_task: { entrypoint: 'plugin.to_task.ToTask', method: 'job' },
    deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
    inference: {
      entrypoint: 'plugin.inference.Inference',
      method: 'serve',
      required_resources: { required_cpu_count: 2, required_gpu_count: 0.5 },
    },
  },
};

const fixturePlugin = (config: Record<string, unknown> = CONFIG) => fixtureRelease(h, config);

describe('AgentsClientMixin and StoragesClientMixin', () => {
  it('lists agents with their token and connection state', async () => {
    const token = 'ab'.repeat(20);
    await h.admin('POST', '_emulator/fixtures', {
      agents: [
        {
          name: 'old',
          url: 'http://10.0.0.7:8010',
          status: 'Disconnected',
          node_install_script: `http://x/agents/${token}/node_install_script`,
        },
      ],
    });
    const agents = await h.client.listAgents();
    const local = agents.find((a) => a.id === h.server.credentials.agentId)!;
    expect(local).toMatchObject({
      name: 'local',
      url: h.server.agentUrl,
      status: 'connected',
      token: h.server.credentials.agentToken,
      is_connected: true,
    });
    expect(agents.find((a) => a.name === 'old')).toMatchObject({ token, is_connected: false });
  });

  it('health-checks an agent by token', async () => {
    expect(await h.client.healthCheckAgent(h.server.credentials.agentToken)).toEqual({ status: 'connected' });
    await expect(h.client.healthCheckAgent('0'.repeat(40))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads a storage with its configuration', async () => {
    const storage = await h.client.getStorage(1);
    expect(storage).toMatchObject({ id: 1, name: 'default', category: 'internal', is_default: true });
    expect(storage.configuration).toHaveProperty('location');
    await expect(h.client.getStorage(999)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('PluginsClientMixin: plugins', () => {
  it('creates, reads by id or code, updates and lists plugins', async () => {
    const plugin = await h.client.createPlugin({
      name: 'My Plugin',
      code: 'my-plugin',
      category: 'neural_net',
    });
    expect(plugin).toMatchObject({
      code: 'my-plugin',
      name: 'My Plugin',
      category: 'neural_net',
      description: '',
      is_active: true,
      is_public: false,
      system_only: false,
      detail: {},
    });
    expect(await h.client.getPlugin(plugin.id)).toEqual(plugin);
    expect(await h.client.getPlugin('my-plugin')).toEqual(plugin);

    const updated = await h.client.updatePlugin(plugin.id, { description: 'detector', is_active: false });
    expect(updated).toMatchObject({
      id: plugin.id,
      code: 'my-plugin',
      description: 'detector',
      is_active: false,
    });

    const [inactive, count] = await h.client.listPlugins({ code: 'my-plugin', is_active: false });
    expect(count).toBe(1);
    expect(inactive[0].id).toBe(plugin.id);
    const [active] = await h.client.listPlugins({ code: 'my-plugin', is_active: true });
    expect(active).toEqual([]);
  });

  it('rejects a duplicate code, an invalid category and missing fields', async () => {
    await h.client.createPlugin({ name: 'Dup', code: 'dup', category: 'export' });
    const dup = await h.client.createPlugin({ name: 'Dup', code: 'dup', category: 'export' }).catch((e) => e);
    expect(dup).toBeInstanceOf(ValidationError);
    expect(dup.detail).toEqual({ code: ['코드은/는 이미 존재합니다.'] });

    const bad = await h.client.createPlugin({ name: 'X', code: 'x', category: 'custom' }).catch((e) => e);
    expect(bad.detail).toEqual({ category: ['"custom" is not a valid choice.'] });

    const missing = await h.client.createPlugin({ category: 'export' } as never).catch((e) => e);
    expect(missing.detail).toEqual({ name: ['This field is required.'], code: ['This field is required.'] });

    await expect(h.client.getPlugin('no-such-plugin')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('PluginsClientMixin: plugin releases', () => {
  it('publishes a zip, with both checksums and the archive downloadable', async () => {
    await h.client.createPlugin({ name: 'Zip', code: 'zip-plugin', category: 'neural_net' });
    const zip = pluginZip('one');
    const path = await tempFile('plugin.zip', zip);
    const config = { ...CONFIG, code: 'zip-plugin' };
    const release = await h.client.createPluginRelease(
      { plugin: 'zip-plugin', version: '1.0.0', config, requirements: ['numpy'] },
      { file: path },
    );
    const checksum = md5('zip-plugin@1.0.0');
    expect(release).toMatchObject({
      plugin_code: 'zip-plugin',
      version: '1.0.0',
      code: 'zip-plugin@1.0.0',
      checksum,
      config,
      requirements: ['numpy'],
      debug: false,
      archive_checksum: md5(zip),
    });
    expect(release.file).toBe(signedMediaUrl(h, `media/plugin_releases/${checksum}.zip`));
    const downloaded = new Uint8Array(await (await fetch(release.file!)).arrayBuffer());
    expect(md5(downloaded)).toBe(md5(zip));
    expect(await h.client.getPluginRelease(release.id)).toEqual(release);
  });

  it('refuses a duplicate version unless debug, which overwrites the same release', async () => {
    await h.client.createPlugin({ name: 'Dbg', code: 'dbg', category: 'export' });
    const first = await h.client.createPluginRelease(
      { plugin: 'dbg', version: '2.0.0' },
      { file: { data: pluginZip('a'), filename: 'plugin.zip' } },
    );
    const again = await h.client
      .createPluginRelease(
        { plugin: 'dbg', version: '2.0.0' },
        { file: { data: pluginZip('b'), filename: 'plugin.zip' } },
      )
      .catch((e) => e);
    expect(again).toBeInstanceOf(ValidationError);
    expect(again.detail).toEqual({ version: ['Version 2.0.0 already exists'] });

    const zip = pluginZip('c');
    const overwritten = await h.client.createPluginRelease(
      { plugin: 'dbg', version: '2.0.0', debug: true },
      { file: { data: zip, filename: 'plugin.zip' } },
    );
    expect(overwritten).toMatchObject({ id: first.id, debug: true, archive_checksum: md5(zip) });
    const downloaded = new Uint8Array(await (await fetch(overwritten.file!)).arrayBuffer());
    expect(md5(downloaded)).toBe(md5(zip));
  });

  it('creates the plugin of an unknown code from the release config', async () => {
    const config = { name: 'Fresh', code: 'fresh', version: '0.1.0', category: 'upload', description: 'new' };
    const release = await h.client.createPluginRelease(
      { plugin: 'fresh', version: '0.1.0', config },
      { file: { data: pluginZip('f'), filename: 'plugin.zip' } },
    );
    const plugin = await h.client.getPlugin('fresh');
    expect(plugin).toMatchObject({
      id: release.plugin,
      name: 'Fresh',
      category: 'upload',
      description: 'new',
    });
  });

  it('lists releases newest first, filtered by plugin code', async () => {
    await h.client.createPlugin({ name: 'Multi', code: 'multi', category: 'export' });
    const published: PluginRelease[] = [];
    for (const version of ['1.0.0', '1.1.0', '2.0.0']) {
      published.push(
        await h.client.createPluginRelease(
          { plugin: 'multi', version },
          { file: { data: pluginZip(version), filename: 'plugin.zip' } },
        ),
      );
    }
    const [releases, count] = await h.client.listPluginReleases({ plugin__code: 'multi' });
    expect(count).toBe(3);
    expect(releases.map((r) => r.version)).toEqual(['2.0.0', '1.1.0', '1.0.0']);
    const [byPk] = await h.client.listPluginReleases({ plugin: published[0].plugin, version: '1.1.0' });
    expect(byPk.map((r) => r.id)).toEqual([published[1].id]);
    // The Python SDK's list_plugin_releases(code) filters `plugin` by the code.
    const [byCode, codeCount] = await h.client.listPluginReleases({ plugin: 'multi', version: '1.1.0' });
    expect(codeCount).toBe(1);
    expect(byCode.map((r) => r.id)).toEqual([published[1].id]);
    expect(await h.client.listPluginReleases({ plugin: 'no-such-plugin' })).toEqual([[], 0]);
  });

  it('looks a release up by code@version or id, with its plugin embedded', async () => {
    await h.client.createPlugin({ name: 'Lookup', code: 'lookup', category: 'export' });
    const release = await h.client.createPluginRelease(
      { plugin: 'lookup', version: '1.2.0' },
      { file: { data: pluginZip('l'), filename: 'plugin.zip' } },
    );
    await h.admin('DELETE', '_emulator/requests');
    const found = await h.client.getPluginReleaseByLookup('lookup@1.2.0');
    expect(found).toMatchObject({
      id: release.id,
      version: '1.2.0',
      plugin: { code: 'lookup', name: 'Lookup' },
    });
    const byId = await h.client.getPluginReleaseByLookup(String(release.id), { expand: null });
    expect(byId).toMatchObject({ id: release.id, plugin: release.plugin });
    const recorded: Array<{ path: string; query: Record<string, string> }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    expect(recorded.map((r) => [r.path, r.query])).toEqual([
      ['/plugin_releases/lookup@1.2.0/', { expand: 'plugin' }],
      [`/plugin_releases/${release.id}/`, {}],
    ]);
    await expect(h.client.getPluginReleaseByLookup('lookup@9.9.9')).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.client.getPluginReleaseByLookup('no-version')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('validates the multipart fields and the file', async () => {
    const noFile = await h.client
      .post('plugin_releases/', { data: { plugin: 'x' }, files: {} })
      .catch((e) => e);
    expect(noFile).toBeInstanceOf(ValidationError);
    const err = await h.client
      .createPluginRelease(
        { plugin: 'x', version: '' },
        { file: { data: pluginZip('x'), filename: 'p.zip' } },
      )
      .catch((e) => e);
    expect(err.detail).toEqual({ version: ['This field is required.'] });
    await expect(
      h.client.createPluginRelease({ plugin: 'x', version: '1' }, { file: '/nope/plugin.zip' }),
    ).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(h.client.getPluginRelease(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('PluginsClientMixin: plugin runs', () => {
  const agent = () => h.server.credentials.agentId;

  it('creates a PENDING job for a job action and calls the executor hook', async () => {
    const { code, pluginId, releaseId } = await fixturePlugin();
    const created: unknown[] = [];
    h.server.ctx.hooks.onJobCreated = (job) => created.push(job.id);
    try {
      const res = await h.client.runPlugin(code, {
        agent: agent(),
        action: 'to_task',
        params: { project: 1 },
      });
      expect(res).toEqual({ job_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'PENDING' });
      expect(created).toEqual([res.job_id]);
      const job = await h.client.getJob(res.job_id);
      expect(job).toMatchObject({
        id: res.job_id,
        status: 'PENDING',
        action: 'to_task',
        plugin_release: releaseId,
        agent: agent(),
        params: { project: 1 },
        is_active: true,
        completed: null,
      });
      const again = await h.client.runPlugin(pluginId, {
        agent: agent(),
        action: 'to_task',
        job_id: res.job_id,
      });
      expect(again.job_id).toBe(res.job_id);
    } finally {
      h.server.ctx.hooks.onJobCreated = undefined;
    }
  });

  it('deploys a serve application for the deployment action', async () => {
    const { code, releaseId } = await fixturePlugin();
    const res = await h.client.runPlugin(code, {
      agent: agent(),
      action: 'deployment',
      version: '1.0.0',
      params: { num_cpus: 2, num_gpus: 0.5 },
    });
    expect(res.job_id).toEqual(expect.any(String));
    const [apps, count] = await h.client.listServeApplications({ plugin_code: code, job__agent: agent() });
    expect(count).toBe(1);
    expect(apps[0]).toMatchObject({
      name: `${code}@1.0.0`,
      status: 'RUNNING',
      plugin_release: releaseId,
      plugin_code: code,
      agent: agent(),
      job: res.job_id,
      route_prefix: `/${md5(`${code}@1.0.0`)}`,
    });
  });

  it('answers inference with the run fixture, {"objects": []} by default', async () => {
    const { code } = await fixturePlugin();
    const body = {
      agent: agent(),
      action: 'inference',
      params: { method: 'post', json: { image_path: 'x' } },
    };
    expect(await h.client.runPlugin(code, body)).toEqual({ objects: [] });
    const fixture = { objects: [{ label: 'car', bbox: [1, 2, 3, 4] }] };
    await h.admin('PUT', `_emulator/run_fixtures/${code}/inference`, fixture);
    expect(await h.client.runPlugin(code, body)).toEqual(fixture);
  });

  it('rejects unknown plugins, agents, actions and versions', async () => {
    const { code } = await fixturePlugin();
    await expect(h.client.runPlugin('missing', { agent: agent(), action: 'to_task' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    const badAgent = await h.client.runPlugin(code, { agent: 9999, action: 'to_task' }).catch((e) => e);
    expect(badAgent).toBeInstanceOf(ValidationError);
    expect(badAgent.detail).toEqual({ agent: ['Invalid pk "9999" - object does not exist.'] });
    const badAction = await h.client.runPlugin(code, { agent: agent(), action: 'train' }).catch((e) => e);
    expect(badAction.detail).toEqual({ action: ['"train" is not a valid choice.'] });
    const noAgent = await h.client.runPlugin(code, { action: 'to_task' }).catch((e) => e);
    expect(noAgent.detail).toEqual({ agent: ['This field is required.'] });
    const badVersion = await h.client
      .runPlugin(code, { agent: agent(), action: 'to_task', version: '9' })
      .catch((e) => e);
    expect(badVersion.detail).toEqual({ version: [`Release ${code}@9 does not exist.`] });
  });
});

describe('JobsClientMixin and LogsClientMixin', () => {
  async function newJob(): Promise<string> {
    const { code } = await fixturePlugin();
    return (await h.client.runPlugin(code, { agent: h.server.credentials.agentId, action: 'to_task' }))
      .job_id;
  }

  it('applies the PATCH rules and round-trips every record', async () => {
    const id = await newJob();
    const progress = { record: 'progress', categories: { annotate: { proportion: 50 } } };
    const running = await h.client.updateJob(id, {
      status: 'running',
      progress_record: progress,
      metrics_record: { record: 'metrics', categories: {} },
      console_logs: ['started'],
    });
    expect(running).toMatchObject({
      status: 'RUNNING',
      progress_record: progress,
      is_active: true,
      completed: null,
    });

    const replaced = await h.client.updateJob(id, { progress_record: { record: 'progress', steps: {} } });
    expect(replaced.progress_record).toEqual({ record: 'progress', steps: {} });
    expect(replaced.console_logs).toEqual(['started']);

    const done = await h.client.updateJob(id, {
      status: 'SUCCEEDED',
      result: { status: 'SUCCEEDED', total: 3 },
    });
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      is_active: false,
      result: { status: 'SUCCEEDED', total: 3 },
    });
    expect(Date.parse(done.completed!)).not.toBeNaN();
    expect(await h.client.getJob(id)).toEqual(done);

    const invalid = await h.client.updateJob(id, { status: 'finished' }).catch((e) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.detail).toEqual({ status: ['"finished" is not a valid choice.'] });
    await expect(h.client.updateJob('00000000-0000-4000-8000-000000000000', {})).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('filters jobs by status in either case', async () => {
    const id = await newJob();
    await h.client.updateJob(id, { status: 'failed' });
    const [lower] = await h.client.listJobs({ status: 'failed' });
    const [upper, count] = await h.client.listJobs({ status: 'FAILED' });
    expect(lower.map((j) => j.id)).toContain(id);
    expect(upper).toEqual(lower);
    expect(count).toBeGreaterThanOrEqual(1);
  });

  it('reads and tails the console log until the job is terminal', async () => {
    const id = await newJob();
    await h.client.updateJob(id, { console_logs: ['line 1'] });
    expect(await h.client.listJobConsoleLogs(id)).toEqual({ results: ['line 1'] });

    const tail = h.client.tailJobConsoleLogs(id)[Symbol.asyncIterator]();
    expect(await tail.next()).toEqual({ done: false, value: 'line 1\n' });
    await h.client.updateJob(id, { status: 'running', console_logs: ['line 1', 'line 2'] });
    expect(await tail.next()).toEqual({ done: false, value: 'line 2\n' });
    await h.client.updateJob(id, { status: 'succeeded', console_logs: ['line 1', 'line 2', 'line 3'] });
    expect(await tail.next()).toEqual({ done: false, value: 'line 3\n' });
    expect(await tail.next()).toEqual({ done: true, value: undefined });

    const lines: string[] = [];
    for await (const line of h.client.tailJobConsoleLogs(id)) lines.push(line);
    expect(lines).toEqual(['line 1\n', 'line 2\n', 'line 3\n']);
    await expect(h.client.listJobConsoleLogs('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('tails a console log that is replaced by a shorter one from its first line', async () => {
    const id = await newJob();
    await h.client.updateJob(id, { status: 'running', console_logs: ['a', 'b', 'c'] });
    const tail = h.client.tailJobConsoleLogs(id)[Symbol.asyncIterator]();
    for (const line of ['a', 'b', 'c'])
      expect(await tail.next()).toEqual({ done: false, value: `${line}\n` });
    await h.client.updateJob(id, { console_logs: ['x'] });
    expect(await tail.next()).toEqual({ done: false, value: 'x\n' });
    await h.client.updateJob(id, { console_logs: ['x', 'y'], status: 'succeeded' });
    expect(await tail.next()).toEqual({ done: false, value: 'y\n' });
    expect(await tail.next()).toEqual({ done: true, value: undefined });
  });

  it('sends logs as a list and turns a local file into a data URI', async () => {
    const id = await newJob();
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const path = await tempFile('shot.png', png);
    const [log] = await h.client.createLogs({
      event: 'message',
      data: { context: 'info', content: 'ToTask action started.' },
      datetime: '2025-01-02 03:04:05.123456',
      job: id,
      file: path,
    });
    expect(log).toMatchObject({ job: id, event: 'message', datetime: '2025-01-02 03:04:05.123456' });
    expect(log.file).toMatch(
      new RegExp(String.raw`^http://127\.0\.0\.1:\d+/media/logs/[0-9a-f]{32}\.png${SIGNED_QUERY}$`),
    );
    expect(Buffer.from(await (await fetch(log.file!)).arrayBuffer())).toEqual(png);
    const recorded = await h.admin('GET', '_emulator/requests');
    const sent = recorded.filter((r: { path: string }) => r.path === '/logs/').at(-1);
    expect(Array.isArray(sent.body)).toBe(true);
    expect(sent.body[0].file).toBe(`data:image/png;base64,${png.toString('base64')}`);

    const many = await h.client.createLogs([
      { event: 'progress', data: { proportion: 10 }, job: id },
      { event: 'metrics', data: {}, job: id, file: null },
    ]);
    expect(many.map((l) => l.event)).toEqual(['progress', 'metrics']);
    const [listed, count] = await h.client
      .get('logs/', { params: { job: id } })
      .then((p) => [p.results, p.count]);
    expect(count).toBe(3);
    expect(listed.map((l: { event: string }) => l.event)).toEqual(['message', 'progress', 'metrics']);
  });

  it('rejects unknown jobs, unknown file types and missing files', async () => {
    const err = await h.client.createLogs({ event: 'message', data: {}, job: 'nope' }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail).toEqual({ job: ['Invalid pk "nope" - object does not exist.'] });
    const weird = await tempFile('data.weird', Buffer.from('x'));
    await expect(h.client.createLogs({ event: 'message', data: {}, file: weird })).rejects.toThrow(
      `Cannot determine MIME type for file: ${weird}`,
    );
    await expect(
      h.client.createLogs({ event: 'message', data: {}, file: '/nope/a.png' }),
    ).rejects.toBeInstanceOf(FileNotFoundError);
  });
});

describe('ServeApplicationsClientMixin', () => {
  it('creates from a release, upserts from a job report, and filters', async () => {
    const { code, releaseId } = await fixturePlugin();
    const agent = h.server.credentials.agentId;
    const declared = await h.client.createServeApplication({
      name: `${code}@1.0.0`,
      plugin_release: releaseId,
      action: 'deployment',
      params: { num_cpus: 1 },
      num_replicas: 2,
      agent,
    });
    expect(declared).toMatchObject({
      name: `${code}@1.0.0`,
      status: 'NOT_STARTED',
      plugin_release: releaseId,
      plugin_code: code,
      agent,
      num_replicas: 2,
      route_prefix: `/${md5(`${code}@1.0.0`)}`,
    });

    const { job_id } = await h.client.runPlugin(code, { agent, action: 'to_task' });
    const data = {
      name: `${code}@1.0.0`,
      status: 'RUNNING',
      route_prefix: `/${md5(`${code}@1.0.0`)}`,
      deployments: [],
    };
    const reported = await h.client.createServeApplication({ job: job_id, status: 'RUNNING', data });
    expect(reported).toMatchObject({ id: declared.id, status: 'RUNNING', job: job_id, data, agent });

    const [running] = await h.client.listServeApplications({ plugin_code: code, status: 'RUNNING' });
    expect(running.map((a) => a.id)).toEqual([declared.id]);
    const all = await h.client.listServeApplications({ name: `${code}@1.0.0` }, { listAll: true });
    expect(all.count).toBe(1);
    expect((await all.toArray()).map((a) => a.id)).toEqual([declared.id]);
    expect(await h.client.get(`serve_applications/${declared.id}/`)).toEqual(reported);

    const badJob = await h.client.createServeApplication({ job: 'nope', data }).catch((e) => e);
    expect(badJob.detail).toEqual({ job: ['Invalid pk "nope" - object does not exist.'] });
    const badStatus = await h.client
      .createServeApplication({ name: 'x', plugin_release: releaseId, status: 'UP' })
      .catch((e) => e);
    expect(badStatus.detail).toEqual({ status: ['"UP" is not a valid choice.'] });
  });
});

describe('deployment delay', () => {
  const slow = useDevServer({ deploymentDelayMs: 300 });

  it('keeps a deployed application DEPLOYING until the delay has passed', async () => {
    const { plugins } = await slow.admin('POST', '_emulator/fixtures', {
      plugins: [{ code: 'slow', name: 'slow', category: 'neural_net' }],
    });
    await slow.admin('POST', '_emulator/fixtures', {
      plugin_releases: [
        { plugin: plugins[0], plugin_code: 'slow', version: '1.0.0', code: 'slow@1.0.0', config: {} },
      ],
    });
    const agent = slow.server.credentials.agentId;
    const res = await slow.client.runPlugin('slow', { agent, action: 'deployment' });
    expect(res.status).toBe('PENDING');
    const [[deploying]] = await slow.client.listServeApplications({ plugin_code: 'slow' });
    expect(deploying.status).toBe('DEPLOYING');
    await new Promise((r) => setTimeout(r, 600));
    const [[running]] = await slow.client.listServeApplications({ plugin_code: 'slow' });
    expect(running.status).toBe('RUNNING');
    expect((await slow.client.getJob(res.job_id)).status).toBe('SUCCEEDED');
  });
});
