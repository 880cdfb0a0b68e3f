/**
 * The wire scenario: a fixed run of the SDK's public API (every backend resource family, the
 * agent client, a job process, ToTask with methods `file` and `inference` run as jobs, the
 * latter deploying its pre-processor on the platform) against a local platform started in
 * this process, and the requests the platform recorded (`GET /_emulator/requests`), normalised so
 * that two runs of the same SDK give the same JSON and two SDKs that send the same requests do too.
 *
 * It uses only public exports of `synapse-sdk` and `synapse-devserver` that exist both before
 * the #13 work (f95ea40) and after it, so the same file records both sides of that change.
 * `scripts/wire-scenario.ts` writes a recording; `test/clients/wire.test.ts` compares one with
 * `test/fixtures/wire-requests.json`.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { type DevServer, seedDemo, startDevServer } from 'synapse-devserver';
import {
  AgentClient,
  BackendClient,
  JobExecutor,
  JobLogger,
  LocalExecutor,
  type RuntimeContext,
  ToTaskAction,
  type ToTaskOptions,
} from 'synapse-sdk';
import { Agent, type Dispatcher } from 'undici';

/** One recorded request, normalised. */
export interface WireRequest {
  method: string;
  path: string;
  query: unknown;
  headers: Record<string, unknown>;
  body: unknown;
}

/**
 * One phase of the scenario: its requests in the order they were sent, except `unordered`, those
 * whose order and number depend on timing: a job logger's (it coalesces what arrives while a
 * request is in flight), and whatever the platform's own deployment sent while ToTask waited for
 * it. Those are canonicalised (see `Normaliser.unordered`) and sorted.
 */
export interface WirePhase {
  phase: string;
  requests: WireRequest[];
  unordered?: WireRequest[];
}

/**
 * A serve deployment proposing one box over each task's image (its width and height), named
 * after the model the request selects (loaded from the platform by the replica).
 */
const BOX_PROPOSER = `import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseServeDeployment } from 'synapse-sdk';

export class BoxProposer extends BaseServeDeployment {
  protected override async _getModel(info: { path: string }) {
    return JSON.parse(await readFile(join(info.path, 'weights.json'), 'utf8'));
  }
  override async infer(body: { image_path: string; label?: string }) {
    const model = (await this.getModel()) as { name: string };
    const png = Buffer.from(await (await fetch(body.image_path)).arrayBuffer());
    return {
      objects: [{
        id: 'box_1',
        class_id: 1,
        type: 'bbox',
        coordinates: { x: 0, y: 0, width: png.readUInt32BE(16), height: png.readUInt32BE(20) },
        properties: { label: body.label ?? 'object', model: model.name },
      }],
    };
  }
}
`;

/** The plugin's deployment action: the SDK's default steps (the local platform runs it since #13). */
const DEPLOY = `import { BaseDeploymentAction } from 'synapse-sdk';
import { BoxProposer } from './serve.ts';

export class Deploy extends BaseDeploymentAction {
  static override entrypoint = BoxProposer;
}
`;

const PRE_PROCESSOR_CONFIG = {
  name: 'box-proposer',
  code: 'box-proposer',
  version: '1.0.0',
  category: 'neural_net',
  description: '',
  actions: {
    deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
    inference: {
      entrypoint: 'plugin.serve.BoxProposer',
      method: 'serve',
      required_resources: { required_cpu_count: 1, required_gpu_count: 0 },
    },
  },
};

/** A plugin with a job action (left PENDING: this platform runs no jobs) and a canned action. */
const TOOL_CONFIG = {
  name: 'Wire Tool',
  code: 'wire-tool',
  version: '1.0.0',
  category: 'export',
  description: 'a plugin the wire scenario publishes',
  actions: {
    export: { entrypoint: 'plugin.export.Export', method: 'job' },
    preview: { entrypoint: 'plugin.preview.Preview', method: 'task' },
  },
};

/**
 * A job action as a plain function (no import: it runs from a folder outside the workspace):
 * it reports to its job, reads through the run's clients, and answers a result.
 */
const JOB_ACTION = `export async function run(params: { project: number }, ctx: any) {
  ctx.logger.logMessage('exporting');
  ctx.logger.setProgress(1, 2, 'export');
  const project = await ctx.client.getProject(params.project);
  await ctx.agentClient.healthCheck();
  ctx.logger.setMetrics({ exported: 1 }, 'export');
  ctx.logger.setProgress(2, 2, 'export');
  return { title: project.title };
}
`;

/** Archives with a fixed time stamp: the same bytes (and checksums) on every run. */
const MTIME = new Date('2024-01-01T00:00:00Z');
const zip = (files: Record<string, string>) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])), {
    mtime: MTIME,
  });

const SPECS = [
  { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
  { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
];

const annotation = (label: string) => ({
  objects: [
    {
      id: `obj_${label}`,
      class_id: 1,
      type: 'bbox',
      coordinates: { x: 10, y: 20, width: 30, height: 40 },
      properties: { label },
    },
  ],
});

/** A 1×1 PNG header is all the box proposer reads (width and height of IHDR). */
function png(width: number, height: number): Buffer {
  const bytes = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes, 0);
  bytes.writeUInt32BE(13, 8);
  bytes.write('IHDR', 12, 'latin1');
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}

class Platform {
  constructor(
    readonly server: DevServer,
    readonly dir: string,
    readonly capture: MultipartCapture,
  ) {}

  async admin(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(`${this.server.url}/${path}`, {
      method,
      headers: {
        'Synapse-Access-Token': `Token ${this.server.credentials.accessToken}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  fixtures(body: Record<string, unknown[]>): Promise<Record<string, number[]>> {
    return this.admin('POST', '_emulator/fixtures', body);
  }

  /**
   * The requests recorded so far (raw), then a clean record for the next phase. Multipart bodies
   * (recorded as `<multipart>`) become their parts, as the scenario's client sent them: it is the
   * only one that sends multipart, so the n-th such record is its n-th multipart body.
   */
  async take(): Promise<Record<string, unknown>[]> {
    const recorded = (await this.admin('GET', '_emulator/requests')) as Record<string, unknown>[];
    await this.admin('DELETE', '_emulator/requests');
    const bodies = await this.capture.take();
    const multipart = recorded.filter((r) => r.body === '<multipart>');
    if (multipart.length !== bodies.length)
      throw new Error(
        `${multipart.length} multipart requests recorded, ${bodies.length} sent by the scenario`,
      );
    multipart.forEach((r, i) => {
      r.body = { multipart: multipartParts(bodies[i]!) };
    });
    return recorded;
  }

  async count(): Promise<number> {
    return ((await this.admin('GET', '_emulator/requests')) as unknown[]).length;
  }

  async file(name: string, bytes: string | Buffer): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, bytes);
    return path;
  }
}

/**
 * The scenario client's transport: an undici Agent that also keeps the bytes of each multipart
 * body it sends, which the platform records only as `<multipart>`. The wire is untouched: the
 * body goes out chunk by chunk as the client yields it.
 */
class MultipartCapture extends Agent {
  readonly #bodies: Array<Promise<Buffer>> = [];

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const headers = (options.headers ?? {}) as Record<string, string | string[] | undefined>;
    const type = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1];
    const source = options.body as AsyncIterable<Uint8Array> | undefined;
    if (!String(type ?? '').startsWith('multipart/form-data') || !source?.[Symbol.asyncIterator])
      return super.dispatch(options, handler);
    const chunks: Buffer[] = [];
    let done!: (body: Buffer) => void;
    this.#bodies.push(new Promise<Buffer>((resolve) => (done = resolve)));
    const body = (async function* () {
      for await (const chunk of source) {
        chunks.push(Buffer.from(chunk));
        yield chunk;
      }
      done(Buffer.concat(chunks));
    })();
    // undici takes an async iterable body, as the client gives it, though its type does not say so.
    return super.dispatch(
      { ...options, body: body as unknown as Dispatcher.DispatchOptions['body'] },
      handler,
    );
  }

  /** The multipart bodies sent since the last call, in the order they were sent. */
  async take(): Promise<Buffer[]> {
    return Promise.all(this.#bodies.splice(0));
  }
}

/**
 * A multipart body as its parts, in order: each field's name and text, and of each file its
 * field name, file name, part headers, size and MD5 (the bytes are the scenario's, the same on
 * every run).
 */
function multipartParts(body: Buffer): Array<Record<string, unknown>> {
  const text = body.toString('latin1');
  const boundary = text.slice(0, text.indexOf('\r\n'));
  return text
    .split(boundary)
    .slice(1, -1)
    .map((part) => {
      const end = part.indexOf('\r\n\r\n');
      const head = part.slice(2, end);
      const content = Buffer.from(part.slice(end + 4, -2), 'latin1');
      const name = /name="([^"]*)"/.exec(head)?.[1] ?? '?';
      const filename = /filename="([^"]*)"/.exec(head)?.[1];
      if (filename === undefined) return { name, value: content.toString('utf8') };
      return {
        name,
        filename,
        headers: head.split('\r\n').filter((line) => !line.startsWith('Content-Disposition')),
        size: content.length,
        md5: createHash('md5').update(content).digest('hex'),
      };
    });
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

/** Waits (without a request the recorder sees) until the deployment of `app` ended. */
async function deploymentEnded(server: DevServer, appName: string): Promise<string> {
  for (let i = 0; i < 6000; i++) {
    const apps = await server.ctx.collections.serve_applications.find();
    const app = apps.find((a) => a.name === appName);
    const job = app?.job ? await server.ctx.collections.jobs.get(app.job as string) : null;
    if (app && app.status !== 'DEPLOYING' && job && TERMINAL.has(String(job.status))) return String(job.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`The deployment of ${appName} did not end`);
}

type Raw = Record<string, unknown>[];

async function backendPhase(
  p: Platform,
  client: BackendClient,
  project: number,
  norm: Normaliser,
): Promise<{ raw: Raw; model: number }> {
  const { server } = p;

  // Projects and tasks.
  await client.getProject(project);
  const [tasks] = await client.listTasks({ project, expand: 'data_unit', fields: 'id,data,data_unit' });
  const taskIds = (tasks as Array<{ id: number }>).map((t) => t.id);
  const all: number[] = [];
  for await (const task of await client.listTasks({ project }, { listAll: true, pageSize: 5 }))
    all.push(task.id);
  await client.getTask(taskIds[0]!, { params: { expand: 'data_unit' } });
  await client.getTask(taskIds[1]!, { params: { fields: 'id,data' } });
  await client.annotateTaskData(taskIds[0]!, { action: 'submit', data: annotation('wire') });

  // Task tags and assignments (HITL), from fixtures.
  const { task_tags: [tag] = [] } = await p.fixtures({ task_tags: [{ project, name: 'checked' }] });
  await client.getTaskTag(tag!);
  await client.listTaskTags({ project });
  await client.setTagsTasks({ ids: [taskIds[0]!, taskIds[1]!], tags: [tag!] });
  const { assignments: [assignment] = [] } = await p.fixtures({
    assignments: [{ task: taskIds[0], project }],
  });
  await client.getAssignment(assignment!);
  await client.listAssignments({ project });
  await client.setTagsAssignments({ ids: [assignment!], tags: [tag!], action: 'remove' });

  // Data collections, files and units.
  const [collections] = await client.listDataCollections();
  const collection = (collections as Array<{ id: number }>)[0]!.id;
  await client.getDataCollection(collection);
  const image = await client.createDataFile(await p.file('unit.png', png(3, 2)));
  const unit = await client.createDataUnits({
    data_collection: collection,
    meta: { source: 'wire' },
    files: { image_1: { checksum: image.checksum, path: image.file } },
  });
  await client.getDataUnit(unit.id as number, { params: { expand: 'files' } });
  await client.listDataUnits({ data_collection: collection, page_size: 3 });
  await client.verifyDataFilesChecksums([image.checksum as string, '0'.repeat(40)]);
  await client.createTasks({ project, data: [{ data_unit: unit.id as number }] });
  // A bulk upload, one unit at a time (so its requests come in order), with a task per unit.
  const { projects: [uploads] = [] } = await p.fixtures({
    projects: [{ title: 'Uploads', data_collection: collection }],
  });
  await client.uploadDataCollection(
    collection,
    [
      { files: { image_1: await p.file('bulk-1.png', png(5, 5)) } },
      { files: { image_1: await p.file('bulk-2.png', png(6, 6)) } },
    ],
    { projectId: uploads, batchSize: 1, maxWorkers: 1 },
  );

  // Models: the archive goes up in chunks, then the model names the upload.
  const modelZip = await p.file('model.zip', Buffer.from(zip({ 'weights.json': '{"name":"wire"}' })));
  await client.createChunkedUpload(modelZip, { chunkSize: 64 });
  const model = await client.createModel({ name: 'wire-model', project }, { file: modelZip, chunkSize: 64 });
  await client.getModel(model.id as number);
  await client.listModels({ project });

  // Ground truth, from fixtures (fixtures are not recorded).
  const { ground_truth_datasets: [dataset] = [] } = await p.fixtures({
    ground_truth_datasets: [{ name: 'GT', project }],
  });
  const { ground_truth_dataset_versions: [version] = [] } = await p.fixtures({
    ground_truth_dataset_versions: [{ ground_truth_dataset: dataset, version: 'v1' }],
  });
  await p.fixtures({
    ground_truth_events: [
      { ground_truth_dataset_version: version, project, category: 'train', data: { n: 1 } },
      { ground_truth_dataset_version: version, project, category: 'test', data: { n: 2 } },
    ],
  });
  await client.listGroundTruthVersions({ ground_truth_dataset: dataset });
  await client.getGroundTruthVersion(version!);
  await client.listGroundTruthEvents({ ground_truth_dataset_version: version });
  const events: unknown[] = [];
  for await (const e of await client.listGroundTruthEvents(
    { ground_truth_dataset_version: version },
    { listAll: true, pageSize: 1 },
  ))
    events.push(e);
  await client.listGroundTruths({ ground_truth_dataset_version: version });

  // Plugins: publish a release, list, look up, update, run.
  const toolZip = await p.file(
    'wire-tool.zip',
    Buffer.from(zip({ 'config.yaml': JSON.stringify(TOOL_CONFIG, null, 2), 'plugin/export.ts': '' })),
  );
  const release = await client.createPluginRelease(
    { plugin: 'wire-tool', version: '1.0.0', config: TOOL_CONFIG },
    { file: toolZip },
  );
  await client.listPlugins({ category: 'export' });
  await client.getPlugin('wire-tool');
  await client.updatePlugin('wire-tool', { description: 'updated by the wire scenario' });
  await client.listPluginReleases({ plugin: release.plugin });
  await client.getPluginRelease(release.id as number, { params: { expand: 'plugin' } });
  const agent = server.credentials.agentId;
  const run = (await client.runPlugin('wire-tool', {
    agent,
    action: 'export',
    version: '1.0.0',
    params: { project, format: 'coco' },
  })) as { job_id: string };
  await client.runPlugin('wire-tool', { agent, action: 'preview', params: { limit: 1 } });

  // Jobs and logs.
  const job = run.job_id;
  norm.name(job, '<job:export>');
  await client.getJob(job, { params: { expand: 'plugin_release' } });
  await client.listJobs({ plugin_release: release.id });
  await client.updateJob(job, {
    status: 'running',
    progress_record: { record: { export: { current: 1, total: 2 } } },
    metrics_record: { record: { export: { exported: 1 } } },
    console_logs: ['line one', 'line two'],
  });
  await client.listJobConsoleLogs(job);
  await client.createLogs([
    {
      event: 'message',
      data: { content: 'hello', level: 'info' },
      datetime: '2024-01-01 00:00:00.000000',
      job,
    },
  ]);
  await client.createLogs({
    event: 'metric',
    data: { exported: 1 },
    datetime: '2024-01-01 00:00:01.000000',
    job,
  });
  await client.updateJob(job, { status: 'succeeded', result: { exported: 1 } });

  // Serve applications, agents, storages.
  await client.createServeApplication({
    job,
    status: 'RUNNING',
    data: { name: 'wire-tool@1.0.0', deployments: {} },
  } as never);
  await client.listServeApplications({ plugin_code: 'wire-tool', job__agent: agent });
  await client.listAgents();
  await client.healthCheckAgent(server.credentials.agentToken);
  await client.getStorage(1);
  return { raw: await p.take(), model: model.id as number };
}

async function agentPhase(p: Platform, agent: AgentClient): Promise<Raw> {
  await agent.healthCheck();
  await agent.createPluginRelease('wire-tool', '1.0.0');
  await agent.listPluginReleases();
  await agent.getPluginRelease('wire-tool@1.0.0');
  const run = await agent.runPluginRelease('wire-tool@1.0.0', {
    action: 'export',
    params: { format: 'yolo' },
    jobId: '00000000-0000-4000-8000-000000000001',
  });
  await agent.runPluginRelease('wire-tool@1.0.0', { action: 'preview', params: { limit: 2 } });
  await agent.runDebugPluginRelease(
    'preview',
    { limit: 3 },
    { config: TOOL_CONFIG, pluginPath: '/plugins/wire-tool' },
  );
  const jobId = (run as { job_id: string }).job_id;
  await agent.listJobs();
  await agent.getJob(jobId);
  await agent.getJobLogs(jobId);
  await agent.stopJob(jobId);
  const nodes = await agent.listNodes();
  await agent.getNode(String(nodes[0]?.node_id));
  await agent.listTasks();
  await agent.listServeApplications();
  await agent.getServeApplication('wire-tool@1.0.0');
  await agent.checkFeasibility({
    kind: 'serve',
    num_cpus: 1,
    num_gpus: 0,
    replicas: 1,
    metadata: { plugin_code: 'wire-tool@1.0.0' },
  });
  await agent.getGatekeepingPolicy();
  await agent.deletePluginRelease('wire-tool@1.0.0');
  return p.take();
}

/**
 * A job process, as the agent starts one for a `job` action: the SDK's JobExecutor runs the
 * entrypoint in a child process with the run's environment; the child reports to the job (its
 * JobLogger) and reads through the clients the environment gives it; the executor keeps the
 * job's status. All of it is timing-dependent, so the whole phase is unordered.
 */
async function jobProcessPhase(
  p: Platform,
  client: BackendClient,
  norm: Normaliser,
  project: number,
): Promise<Raw> {
  const { server } = p;
  const run = (await client.runPlugin('wire-tool', {
    agent: server.credentials.agentId,
    action: 'export',
    params: { for: 'job-process' },
  })) as { job_id: string };
  norm.name(run.job_id, '<job:process>');
  const pluginDir = join(p.dir, 'job-plugin');
  await mkdir(join(pluginDir, 'plugin'), { recursive: true });
  await writeFile(join(pluginDir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(pluginDir, 'plugin', 'job.ts'), JOB_ACTION);
  const executor = new JobExecutor({
    workingDir: pluginDir,
    client,
    validateParams: false,
    // What the platform's agent gives a job of a release (plugins.md §13).
    env: {
      SYNAPSE_PLUGIN_RUN_HOST: server.url,
      SYNAPSE_PLUGIN_RUN_USER_TOKEN: server.credentials.accessToken,
      SYNAPSE_PLUGIN_RUN_TENANT: 'default',
      SYNAPSE_PLUGIN_RELEASE_CODE: 'wire-tool@1.0.0',
      SYNAPSE_PLUGIN_RELEASE_CHECKSUM: 'c0ffee00c0ffee00c0ffee00c0ffee00',
      SYNAPSE_AGENT_ID: String(server.credentials.agentId),
      SYNAPSE_AGENT_URL: server.agentUrl,
      SYNAPSE_AGENT_TOKEN: server.credentials.agentToken,
    },
  });
  const id = await executor.submit('plugin.job.run', { project }, { jobId: run.job_id });
  const result = (await executor.wait(id, { timeoutSeconds: 600 })) as { title?: string };
  if (!result?.title) throw new Error(`Job process: unexpected result ${JSON.stringify(result)}`);
  // The executor's last status update is sent once the process ended: wait for it to land.
  for (let i = 0; ; i++) {
    const job = await server.ctx.collections.jobs.get(run.job_id);
    if (job?.status === 'SUCCEEDED') break;
    if (i > 6000) throw new Error('Job process: the job never became SUCCEEDED');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return p.take();
}

/** What a ToTask phase recorded, with the window in which the platform worked in the background. */
interface ToTaskRecording {
  raw: Raw;
  /** Indexes [from, to) of `raw` that the platform's deployment sent (with whatever ran meanwhile). */
  background: [number, number] | null;
}

/**
 * Runs ToTask as a job process does: through an executor, reporting to a job with a JobLogger
 * (its own client, so its requests are told apart: they carry `Authorization`).
 */
async function runToTask(
  p: Platform,
  client: BackendClient,
  norm: Normaliser,
  name: string,
  params: Record<string, unknown>,
  options: ToTaskOptions = {},
): Promise<Record<string, unknown>> {
  const run = (await client.runPlugin('wire-tool', {
    agent: p.server.credentials.agentId,
    action: 'export',
    params: { for: name },
  })) as { job_id: string };
  norm.name(run.job_id, `<job:${name}>`);
  const jobClient = new BackendClient(p.server.url, { authorizationToken: p.server.credentials.accessToken });
  class WireToTask extends ToTaskAction {
    constructor(raw: unknown, ctx: RuntimeContext) {
      super(raw, ctx, options);
    }
  }
  const executor = new LocalExecutor({
    env: {},
    jobId: run.job_id,
    client,
    agentClient: null,
    logger: new JobLogger(jobClient, run.job_id, { echo: false }),
  });
  try {
    return (await executor.execute(WireToTask, params)) as Record<string, unknown>;
  } finally {
    await executor.close();
    await jobClient.close();
  }
}

async function toTaskFilePhase(
  p: Platform,
  client: BackendClient,
  norm: Normaliser,
): Promise<ToTaskRecording> {
  const { data_collections: [collection] = [] } = await p.fixtures({
    data_collections: [{ name: 'Annotated', file_specifications: SPECS }],
  });
  const { projects: [project] = [] } = await p.fixtures({
    projects: [{ title: 'File annotations', data_collection: collection }],
  });
  const units: number[] = [];
  for (const [i, label] of ['person', 'car', 'broken'].entries()) {
    const image = await client.createDataFile(await p.file(`file-${i}.png`, png(4, 4)));
    const json = label === 'broken' ? '{"objects": [' : JSON.stringify(annotation(label));
    const data = await client.createDataFile(await p.file(`file-${i}.json`, json));
    const unit = await client.createDataUnits({
      data_collection: collection!,
      meta: {},
      files: {
        image_1: { checksum: image.checksum, path: image.file },
        annotation_data: { checksum: data.checksum, path: data.file },
      },
    });
    units.push(unit.id as number);
  }
  await client.createTasks({ project: project!, data: units.map((u) => ({ data_unit: u })) });
  const result = await runToTask(p, client, norm, 'to-task-file', {
    name: 'File_Based_Annotation',
    project: project!,
    agent: p.server.credentials.agentId,
    task_filters: {},
    method: 'file',
    target_specification_name: 'annotation_data',
    concurrency: 1,
  });
  if (result.success_count !== 2 || result.failed_count !== 1)
    throw new Error(`ToTask file: unexpected result ${JSON.stringify(result)}`);
  return { raw: await p.take(), background: null };
}

async function toTaskInferencePhase(
  p: Platform,
  client: BackendClient,
  norm: Normaliser,
  target: number,
  model: number,
): Promise<ToTaskRecording> {
  const { server } = p;
  const archive = await p.file(
    'box-proposer.zip',
    Buffer.from(
      zip({
        'config.yaml': JSON.stringify(PRE_PROCESSOR_CONFIG, null, 2),
        'plugin/serve.ts': BOX_PROPOSER,
        'plugin/deploy.ts': DEPLOY,
      }),
    ),
  );
  const release = await client.createPluginRelease(
    { plugin: 'box-proposer', version: '1.0.0', config: PRE_PROCESSOR_CONFIG },
    { file: archive },
  );
  // ToTask starts the pre-processor's deployment, which the platform runs in the background;
  // ToTask's one wait lasts until the deployment ended, so it polls exactly once. The window
  // from the deployment's start to that poll is marked.
  let end = -1;
  const result = await runToTask(
    p,
    client,
    norm,
    'to-task-inference',
    {
      name: 'boxes',
      project: target,
      agent: server.credentials.agentId,
      method: 'inference',
      pre_processor: release.id,
      pre_processor_params: { label: 'street' },
      model,
      task_filters: { project: target },
      concurrency: 1,
    },
    {
      preProcessorPollIntervalSeconds: 1,
      sleep: async () => {
        const job = await deploymentEnded(server, 'box-proposer@1.0.0');
        norm.name(job, '<job:deployment>');
        end = await p.count();
      },
    },
  );
  if (result.failed_count !== 0 || result.success_count !== 13)
    throw new Error(`ToTask inference: unexpected result ${JSON.stringify(result)}`);
  const raw = await p.take();
  const start = raw.findIndex(
    (r) =>
      r.path === '/plugins/box-proposer/run/' && (r.body as { action?: string })?.action === 'deployment',
  );
  if (start < 0 || end < start) throw new Error('ToTask inference: no deployment window');
  return { raw, background: [start + 1, end] };
}

/** Splits a ToTask phase: the job logger's requests and the background window are unordered. */
function toTaskPhase(phase: string, norm: Normaliser, { raw, background }: ToTaskRecording): WirePhase {
  const [from, to] = background ?? [raw.length, raw.length];
  // A job logger's requests: progress and metrics to the job, log batches (with the run's token).
  const fromLogger = (r: Record<string, unknown>) => {
    const headers = (r.headers ?? {}) as Record<string, unknown>;
    const path = String(r.path);
    if (!('authorization' in headers)) return false;
    return (r.method === 'PATCH' && path.startsWith('/jobs/')) || (r.method === 'POST' && path === '/logs/');
  };
  const ordered = raw.filter((r, i) => (i < from || i >= to) && !fromLogger(r));
  const unordered = raw.filter((r, i) => (i >= from && i < to) || fromLogger(r));
  return { phase, requests: norm.all(ordered), unordered: norm.unordered(unordered) };
}

export interface WireScenarioOptions {
  /** Called once the platform runs (a test reads its credentials, to check none is recorded). */
  onStart?: (server: DevServer) => void;
}

/** Runs the scenario against a new local platform and answers its normalised recording. */
export async function runWireScenario(options: WireScenarioOptions = {}): Promise<WirePhase[]> {
  const dir = await mkdtemp(join(tmpdir(), 'synapse-wire-'));
  await mkdir(dir, { recursive: true });
  const server = await startDevServer({
    serve: { port: 0 },
    runJobs: false,
    capacity: { cpus: 8, gpus: 0, memoryBytes: 16 * 1024 ** 3 },
  });
  const capture = new MultipartCapture();
  const client = new BackendClient(server.url, {
    accessToken: server.credentials.accessToken,
    dispatcher: capture,
  });
  const agent = new AgentClient(server.agentUrl, server.credentials.agentToken);
  const p = new Platform(server, dir, capture);
  const norm = new Normaliser(server, dir);
  try {
    options.onStart?.(server);
    const { project } = await seedDemo(server.ctx);
    await p.take(); // whatever the start recorded
    const phases: WirePhase[] = [];
    const backend = await backendPhase(p, client, project, norm);
    phases.push({ phase: 'backend', requests: norm.all(backend.raw) });
    phases.push({ phase: 'agent', requests: norm.all(await agentPhase(p, agent)) });
    phases.push({
      phase: 'job process',
      requests: [],
      unordered: norm.unordered(await jobProcessPhase(p, client, norm, project)),
    });
    phases.push(toTaskPhase('to-task file', norm, await toTaskFilePhase(p, client, norm)));
    phases.push(
      toTaskPhase(
        'to-task inference',
        norm,
        await toTaskInferencePhase(p, client, norm, project, backend.model),
      ),
    );
    return phases;
  } finally {
    await client.close();
    await agent.close();
    await capture.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Normalisation

/**
 * Headers that say nothing about what the SDK asked for, or change with every run: the transport's
 * (`host` has the port), and those `fetch` adds by itself, which change with Node and undici.
 */
const DROPPED_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'transfer-encoding',
  'accept-encoding',
  'accept-language',
  'sec-fetch-mode',
]);
/**
 * Keys of a serve application's state as the agent reported it when the deployment action
 * registered the app (its replicas may or may not have started by then).
 */
const SERVE_STATE_KEYS = new Set(['status', 'replica_states', 'message']);
/** Keys whose values are times (or follow from how long something took). */
const TIME_KEYS = new Set([
  'datetime',
  'time',
  'created',
  'modified',
  'created_at',
  'updated_at',
  'expires',
  'last_deployed_time_s',
  'time_remaining',
]);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const ISO_TIME = /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g;

export class Normaliser {
  readonly #replacements: Array<[RegExp, string]>;
  /** Ids the scenario knows, replaced by their names before anything else. */
  readonly #names = new Map<string, string>();

  /** Shows `id` (a job's, say) as `label` wherever it appears. */
  name(id: string, label: string): void {
    this.#names.set(id, label);
  }

  constructor(server: DevServer, dir: string) {
    const literal = (s: string) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
    const { port } = new URL(server.url);
    this.#replacements = [
      [literal(dir), '<workdir>'],
      [literal(server.ctx.dataDir), '<datadir>'],
      [new RegExp(`(127\\.0\\.0\\.1|localhost|\\[::1\\]):${port}`, 'g'), '<platform>'],
      [/(127\.0\.0\.1|localhost):\d{2,5}/g, '<host:port>'],
      [UUID, '<uuid>'],
      // A stored file's key is random (`data_files/<2 hex>/<16 hex>/<name>`).
      [/(data_files\/)[0-9a-f]{2}\/[0-9a-f]{16}\//g, '$1<key>/'],
      // The local node's id comes from the machine.
      [/(\/(?:ray\/)?nodes\/)[0-9a-f]{32}/g, '$1<node-id>'],
      [ISO_TIME, '<time>'],
      [/([?&]expires=)\d+/g, '$1<expires>'],
      [/([?&]signature=)[0-9a-f]+/g, '$1<signature>'],
      [/(boundary=)[-\w]+/g, '$1<boundary>'],
      [/(synapse-sdk|undici|node)\/[\w.-]+/gi, '$1/<version>'],
    ];
  }

  text(s: string): string {
    let out = s;
    for (const [id, label] of this.#names) out = out.split(id).join(label);
    for (const [re, to] of this.#replacements) out = out.replace(re, to);
    return out;
  }

  value(v: unknown, key = ''): unknown {
    if (TIME_KEYS.has(key) && (typeof v === 'string' || typeof v === 'number')) return '<time>';
    if (typeof v === 'string') return this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = this.value((v as Record<string, unknown>)[k], k);
      return out;
    }
    return v;
  }

  one(raw: Record<string, unknown>): WireRequest {
    const headers: Record<string, unknown> = {};
    const rawHeaders = (raw.headers ?? {}) as Record<string, unknown>;
    for (const name of Object.keys(rawHeaders).sort()) {
      if (!DROPPED_HEADERS.has(name.toLowerCase()))
        headers[name.toLowerCase()] = this.value(rawHeaders[name]);
    }
    return {
      method: String(raw.method),
      path: this.text(String(raw.path)),
      query: this.value(raw.query ?? {}),
      headers,
      body: this.value(raw.body ?? null),
    };
  }

  all(raw: Record<string, unknown>[]): WireRequest[] {
    return raw.map((r) => this.one(r));
  }

  /**
   * Requests whose order and number depend on timing, in a form that does not. A job logger
   * sends every log item once, in order, but batches what arrives while a request is in flight,
   * and of its progress and metrics updates only the last state is sure to be sent: so its log
   * batches become one request per job with all the items in the order sent, and of its
   * progress and metrics updates to a job the last one of each stays. Any other request stays
   * once however often it was sent. All sorted.
   */
  unordered(raw: Record<string, unknown>[]): WireRequest[] {
    const kept = new Map<string, WireRequest>();
    for (const request of this.all(raw)) {
      const { method, path, body } = request;
      if (method === 'POST' && /\/logs\/?$/.test(path) && Array.isArray(body)) {
        for (const item of body) {
          const key = `${method} ${path} ${JSON.stringify((item as { job?: unknown })?.job ?? null)}`;
          const batch = kept.get(key) ?? { ...request, body: [] };
          (batch.body as unknown[]).push(item);
          kept.set(key, batch);
        }
        continue;
      }
      const keys = body !== null && typeof body === 'object' ? Object.keys(body) : [];
      const isRecord =
        keys.length > 0 && keys.every((k) => k === 'progress_record' || k === 'metrics_record');
      if (method === 'PATCH' && path.startsWith('/jobs/') && isRecord) {
        kept.set(`${method} ${path} ${keys.join(',')}`, request);
        continue;
      }
      const state = method === 'POST' && path === '/serve_applications/';
      const one = state ? { ...request, body: withoutServeState(body) } : request;
      kept.set(JSON.stringify(one), one);
    }
    const sorted = [...kept.values()].map((r) => [JSON.stringify(r), r] as const);
    return sorted.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  }
}

/** `value` with the serve state's keys (at any depth) as `<serve-state>`. */
function withoutServeState(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutServeState);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SERVE_STATE_KEYS.has(k) ? '<serve-state>' : withoutServeState(v),
    ]),
  );
}

/** The recording as the fixture stores it: two-space JSON, keys sorted, a final newline. */
export function formatRecording(phases: WirePhase[]): string {
  return `${JSON.stringify(phases, null, 2)}\n`;
}

const describeRequest = (r: WireRequest) => `${r.method} ${r.path}`;
const show = (r: WireRequest) => JSON.stringify(r, null, 2);

/** The edit script between two lists of requests (by their JSON): kept, missing (-) and new (+). */
function align(expected: string[], actual: string[]): Array<['=' | '-' | '+', number]> {
  const [n, m] = [expected.length, actual.length];
  // lcs[i][j]: the longest common subsequence of expected[i..] and actual[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        expected[i] === actual[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: Array<['=' | '-' | '+', number]> = [];
  let [i, j] = [0, 0];
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(['=', i]);
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(['-', i++]);
    else out.push(['+', j++]);
  }
  return out;
}

/**
 * What differs between two recordings, request by request (at most `limit` entries): each
 * request the SDK no longer sends (-), sends newly (+), or sends changed (both versions).
 * Empty when they are the same.
 */
export function diffRecordings(expected: WirePhase[], actual: WirePhase[], limit = 10): string[] {
  const out: string[] = [];
  const phases = Math.max(expected.length, actual.length);
  for (let p = 0; p < phases && out.length < limit; p++) {
    const [e, a] = [expected[p], actual[p]];
    if (e?.phase !== a?.phase) {
      out.push(`phase ${p}: expected "${e?.phase}", got "${a?.phase}"`);
      continue;
    }
    for (const list of ['requests', 'unordered'] as const) {
      const [el, al] = [e?.[list] ?? [], a?.[list] ?? []];
      const steps = align(el.map(show), al.map(show));
      const where = `${e?.phase} (${list})`;
      for (let k = 0; k < steps.length && out.length < limit; k++) {
        const [op, index] = steps[k]!;
        const next = steps[k + 1];
        if (op === '=') continue;
        if (op === '-' && next?.[0] === '+') {
          // One request changed: both versions.
          const [before, after] = [el[index]!, al[next[1]]!];
          out.push(
            `${where} #${next[1]} changed: ${describeRequest(after)}\n--- expected\n${show(before)}\n+++ sent\n${show(after)}`,
          );
          k++;
        } else if (op === '-') {
          out.push(
            `${where}: no longer sent: ${describeRequest(el[index]!)}\n--- expected\n${show(el[index]!)}`,
          );
        } else {
          out.push(
            `${where} #${index}: newly sent: ${describeRequest(al[index]!)}\n+++ sent\n${show(al[index]!)}`,
          );
        }
      }
    }
  }
  return out;
}
