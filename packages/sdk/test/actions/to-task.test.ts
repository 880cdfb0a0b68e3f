import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AddTaskDataAction,
  BaseLogger,
  CriticalError,
  loadEntrypoint,
  PluginValidationError,
  PreAnnotationToTaskFailed,
  RuntimeContext,
  runPlugin,
  ToTaskAction,
  type ToTaskConverter,
} from '../../src/index.ts';
import type { LoggerRecord } from '../../src/plugins/logging/index.ts';
import { closedPort, fixtureRelease, useSharedPlatform } from '../helpers.ts';

// On the shared platform: projects and releases of its own; recorded requests filtered by them.
const h = useSharedPlatform();

class Recorder extends BaseLogger {
  records: LoggerRecord[] = [];
  protected write(record: LoggerRecord): void {
    this.records.push(record);
  }
  events(event: string) {
    return this.records.flatMap((r) => (r.kind === 'log' && r.event === event ? [r.data] : []));
  }
  messages() {
    return this.events('message').map((d) => d.content as string);
  }
  metrics() {
    return this.records.flatMap((r) => (r.kind === 'metrics' ? [r.value] : []));
  }
}

const SPECS = [
  { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
  { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
];

const fixtures = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
  h.admin('POST', '_emulator/fixtures', body);

let tempRoot: string | undefined;
afterAll(async () => {
  if (tempRoot) await rm(tempRoot, { recursive: true, force: true });
});
async function tempFile(name: string, bytes: string): Promise<string> {
  tempRoot ??= await mkdtemp(join(tmpdir(), 'sdk-to-task-'));
  const path = join(await mkdtemp(join(tempRoot, 'f-')), name);
  await writeFile(path, bytes);
  return path;
}

const annotation = (label: string) => ({
  objects: [
    {
      id: `obj_${label}`,
      class_id: 1,
      type: 'bbox',
      coordinates: { x: 100, y: 150, width: 200, height: 180 },
      properties: { confidence: 0.95, label },
    },
  ],
});

async function collectionAndProject(specs = SPECS) {
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: specs }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  return { collection: collection!, project: project! };
}

/** A real data unit: a primary image plus (optionally) an annotation file with these bytes. */
async function unitWith(collection: number, json: string | null, label: string) {
  const image = await h.client.createDataFile(await tempFile(`${label}.jpg`, `image ${label}`));
  const files: Record<string, { checksum: string; path: string }> = {
    image_1: { checksum: image.checksum, path: image.file },
  };
  if (json !== null) {
    const data = await h.client.createDataFile(await tempFile(`${label}.json`, json));
    files.annotation_data = { checksum: data.checksum, path: data.file };
  }
  const unit = await h.client.createDataUnits({ data_collection: collection, meta: {}, files });
  return { unit: unit.id as number, image: image.file as string };
}

/** A fixture data unit whose files are given as is (any URL, list or mapping form). */
async function rawUnit(collection: number, files: unknown): Promise<number> {
  const [unit] = (await fixtures({ data_units: [{ data_collection: collection, meta: {}, files }] }))
    .data_units;
  return unit!;
}

async function tasksFor(project: number, units: number[]): Promise<number[]> {
  const created = await h.client.createTasks({ project, data: units.map((u) => ({ data_unit: u })) });
  const byUnit = new Map(created.map((t) => [t.data_unit, t.id]));
  return units.map((u) => byUnit.get(u)!);
}

function params(project: number, extra: Record<string, unknown> = {}) {
  return {
    name: 'File_Based_Annotation',
    project,
    agent: 1,
    task_filters: {},
    method: 'file',
    target_specification_name: 'annotation_data',
    ...extra,
  };
}

function makeRun() {
  const logger = new Recorder();
  return { logger, run: new RuntimeContext({ client: h.client, logger }) };
}

describe('ToTaskAction: file method', () => {
  it('annotates good tasks, fails each bad one alone with its reason, and a re-run replaces data', async () => {
    const { collection, project } = await collectionAndProject();
    const good = annotation('person');
    const good2 = annotation('car');
    const big = { ...annotation('big'), padding: 'x'.repeat(600) };
    const deadPort = await closedPort();

    const a = await unitWith(collection, JSON.stringify(good), 'good');
    const b = await unitWith(collection, '{"objects": [', 'malformed');
    const c = await unitWith(collection, null, 'missing');
    const d = await unitWith(collection, JSON.stringify(big), 'big');
    const e = await rawUnit(collection, {
      image_1: { url: a.image, is_primary: true, file_name_original: 'dead.jpg' },
      annotation_data: {
        url: `http://user:pw@127.0.0.1:${deadPort}/dead.json?signature=TOPSECRET`,
        is_primary: false,
        file_name_original: 'dead.json',
      },
    });
    const f = await unitWith(
      collection,
      JSON.stringify({ objects: [{ id: 'o', type: 'bbox', coordinates: {}, properties: {} }] }),
      'format',
    );
    // List form of `data_unit.files` (backend-api.md §3).
    const goodFile = await h.client.createDataFile(await tempFile('list.json', JSON.stringify(good2)));
    const g = await rawUnit(collection, [
      { specification: 'image_1', url: a.image, is_primary: true, file_name_original: 'l.jpg' },
      {
        specification: 'annotation_data',
        url: goodFile.file,
        is_primary: false,
        file_name_original: 'l.json',
      },
    ]);
    const [ta, tb, tc, td, te, tf, tg] = await tasksFor(project, [
      a.unit,
      b.unit,
      c.unit,
      d.unit,
      e,
      f.unit,
      g,
    ]);

    const { logger, run } = makeRun();
    const action = new ToTaskAction({
      run,
      // The dead port is allowed explicitly (host:port), so its failure is the connection's.
      params: params(project, { concurrency: 3, allowed_hosts: [`127.0.0.1:${deadPort}`] }),
      options: { maxDownloadBytes: 500, downloadTimeoutSeconds: 5 },
    });
    const result = await action.start();

    expect(result).toEqual({
      status: 'SUCCEEDED',
      message: 'Pre-annotation to task completed successfully',
      total_tasks: 7,
      success_count: 2,
      failed_count: 5,
      failures: [
        { task_id: tb, error: expect.stringMatching(/^Invalid JSON format in annotation file: .+/) },
        { task_id: tc, error: 'File specification not found' },
        {
          task_id: td,
          error: expect.stringMatching(
            /^Failed to download JSON from URL: file exceeds the size limit of 500 bytes \(http:\/\/127\.0\.0\.1:\d+\/media\/.+\/big\.json\)$/,
          ),
        },
        { task_id: te, error: expect.stringMatching(/^Failed to download JSON from URL: .*ECONNREFUSED/) },
        { task_id: tf, error: "Invalid JSON format in annotation file: objects[0] is missing 'class_id'" },
      ],
    });
    expect((await h.client.getTask(ta!)).data).toEqual(good);
    expect((await h.client.getTask(tg!)).data).toEqual(good2);
    for (const id of [tb, tc, td, te, tf]) expect((await h.client.getTask(id!)).data).toEqual({});

    // Metrics: seed key order, exact at the end; progress reached 100%.
    const metrics = logger.metrics();
    expect(metrics[0]).toEqual({ total: 7, success: 0, failed: 0, stand_by: 7 });
    expect(Object.keys(metrics.at(-1)!)).toEqual(['total', 'success', 'failed', 'stand_by']);
    expect(metrics.at(-1)).toEqual({ total: 7, success: 2, failed: 5, stand_by: 0 });
    const progress = logger.records.filter((r) => r.kind === 'progress');
    expect(progress.map((p) => p.current)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 7]);
    expect(progress.every((p) => p.key === 'annotate_task_data')).toBe(true);

    // Events: one `annotate_task_data` per task; failed-task messages (D9); no secrets anywhere.
    const perTask = logger.events('annotate_task_data');
    expect(perTask).toHaveLength(7);
    expect(perTask.filter((d) => d.status === 'success').map((d) => d.task_info)).toEqual(
      expect.arrayContaining([`{"task_id": ${ta}}`, `{"task_id": ${tg}}`]),
    );
    expect(perTask.find((d) => d.status === 'failed' && (d.task_info as string).includes(`${tc},`))).toEqual({
      task_info: `{"task_id": ${tc}, "error": "File specification not found"}`,
      status: 'failed',
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
    });
    const messages = logger.messages();
    expect(messages).toContain(`[Task ${tc}] Failed: File specification not found`);
    expect(messages).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\[Task ${td}\\] Failed: Failed to download JSON from URL: file exceeds the size limit of 500 bytes`,
        ),
      ),
    );
    expect(messages.filter((m) => m.startsWith('[Task '))).toHaveLength(5);
    expect(logger.events('annotate_task_event').map((d) => d.info)).toContain(
      `File specification not found for task ${tc}`,
    );
    const everything = JSON.stringify(logger.records);
    expect(everything).not.toContain('TOPSECRET');
    expect(everything).not.toContain('user:pw');
    expect(messages.slice(0, 3)).toEqual([
      'ToTask action started.',
      'Starting workflow step: project_validation',
      'Completed workflow step: project_validation',
    ]);
    expect(messages).toContain('Annotation completed. Success: 2, Failed: 5');
    expect(messages.slice(-2)).toEqual(['ToTask action completed successfully.', 'Plugin run is complete.']);

    // Re-run: the same outcome, data replaced, nothing duplicated.
    const again = await new ToTaskAction({
      run: makeRun().run,
      params: params(project, { allowed_hosts: [`127.0.0.1:${deadPort}`] }),
      options: { maxDownloadBytes: 500, downloadTimeoutSeconds: 5 },
    }).start();
    expect(again).toEqual(result);
    expect((await h.client.getTask(ta!)).data).toEqual(good);
    const [, count] = await h.client.listTasks({ project });
    expect(count).toBe(7);
  });

  it('runs through dispatch with a client-side limit and null filters (D12, D13)', async () => {
    const { collection, project } = await collectionAndProject();
    const units = [];
    for (const label of ['l1', 'l2', 'l3'])
      units.push((await unitWith(collection, JSON.stringify(annotation(label)), label)).unit);
    const ids = await tasksFor(project, units);
    const { logger, run } = makeRun();
    const result = (await ToTaskAction.dispatch(
      params(project, { task_filters: { assignee: null, status__in: ['pending', 'in_progress'], limit: 2 } }),
      run,
    )) as Record<string, unknown>;
    expect(result).toMatchObject({ status: 'SUCCEEDED', total_tasks: 2, success_count: 2, failed_count: 0 });
    expect(logger.metrics().at(-1)).toEqual({ total: 2, success: 2, failed: 0, stand_by: 0 });
    const annotated = await Promise.all(ids.map(async (id) => (await h.client.getTask(id)).data));
    expect(annotated.filter((d) => Object.keys(d as object).length > 0)).toHaveLength(2);
  });

  it('uses a custom converter and emits add_task_data_task_failed for the alias', async () => {
    const { collection, project } = await collectionAndProject();
    const { unit } = await unitWith(collection, JSON.stringify(annotation('x')), 'conv');
    const [task] = await tasksFor(project, [unit]);
    const converter: ToTaskConverter = {
      convertDataFromFile: (_p, primaryName, _u, dataName) => {
        throw new Error(`cannot convert ${primaryName} + ${dataName}`);
      },
      convertDataFromInference: (d) => d as object,
    };
    const { logger, run } = makeRun();
    const result = await new AddTaskDataAction({ run, params: params(project), converter }).start();
    expect(result.failures).toEqual([
      { task_id: task, error: 'Failed to convert data to task object: cannot convert conv.jpg + conv.json' },
    ]);
    expect(logger.events('add_task_data_task_failed')).toEqual([
      { task_id: task, error: 'Failed to convert data to task object: cannot convert conv.jpg + conv.json' },
    ]);
    // Success count 0: the category is marked failed at the end.
    expect(logger.records.at(-1)?.kind === 'log').toBe(true);
    expect(logger.records.some((r) => r.kind === 'progress_failed')).toBe(true);
  });

  it('lets a subclass override convertDataFromFile', async () => {
    const { collection, project } = await collectionAndProject();
    const { unit } = await unitWith(collection, '{"not": "used"}', 'sub');
    const [task] = await tasksFor(project, [unit]);
    class Mine extends ToTaskAction {
      override convertDataFromFile(_p: string, _pn: string, _u: string, dataName: string) {
        return { objects: [], source: dataName };
      }
    }
    await new Mine({ run: makeRun().run, params: params(project) }).start();
    expect((await h.client.getTask(task!)).data).toEqual({ objects: [], source: 'sub.json' });
  });
});

const PRE_PROCESSOR_CONFIG = {
  name: 'Detector',
  version: '1.0.0',
  category: 'neural_net',
  actions: {
    deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
    inference: {
      entrypoint: 'plugin.inference.Inference',
      method: 'serve',
      required_resources: { required_cpu_count: 2, required_gpu_count: 0 },
    },
  },
};

describe('ToTaskAction: steps on the Orchestrator (#13 item 5)', () => {
  it('declares a weight per step; the overall progress rises with each completed step and reaches 100', async () => {
    const { collection, project } = await collectionAndProject();
    const { unit } = await unitWith(collection, JSON.stringify(annotation('w')), 'weights');
    await tasksFor(project, [unit]);
    const { logger, run } = makeRun();
    const seen: Array<[number, string]> = [];
    // A subclass that reports the step-weighted progress (ToTask itself keeps the per-task one).
    class Watched extends ToTaskAction {
      protected override onStepProgress(current: number, total: number): void {
        seen.push([(current / total) * 100, logger.messages().at(-1)!]);
      }
    }
    const result = await new Watched({ run, params: params(project) }).start();
    expect(result).toMatchObject({ status: 'SUCCEEDED', total_tasks: 1, success_count: 1 });
    const steps = [
      'project_validation',
      'method_determination',
      'method_validation',
      'task_validation',
      'processing_initialization',
      'task_processing',
      'finalization',
    ];
    // After each step, in order: 5, +1, +10, +5, +1, +75 (the task loop), +3.
    expect(seen).toEqual(
      [5, 6, 16, 21, 22, 97, 100].map((p, i) => [p, `Completed workflow step: ${steps[i]}`]),
    );
  });
});

describe('ToTaskAction: inference method', () => {
  it('deploys the pre-processor when not RUNNING, then annotates each task from its inference', async () => {
    const { collection, project } = await collectionAndProject();
    const units = [];
    for (const label of ['i1', 'i2']) units.push(await unitWith(collection, null, label));
    const ids = await tasksFor(
      project,
      units.map((u) => u.unit),
    );
    const { code, releaseId } = await fixtureRelease(h, PRE_PROCESSOR_CONFIG);
    const prediction = annotation('predicted');
    await h.admin('PUT', `_emulator/run_fixtures/${code}/inference`, prediction);
    const sleeps: number[] = [];
    const { logger, run } = makeRun();
    const agent = h.server.credentials.agentId;
    const result = await new ToTaskAction({
      run,
      params: params(project, {
        method: 'inference',
        agent,
        target_specification_name: null,
        pre_processor: releaseId,
        model: 5,
        pre_processor_params: { confidence_threshold: 0.8, image_path: 'ignored' },
      }),
      options: { sleep: async (ms) => void sleeps.push(ms) },
    }).start();
    expect(result).toMatchObject({ total_tasks: 2, success_count: 2, failed_count: 0, failures: [] });
    for (const id of ids) expect((await h.client.getTask(id)).data).toEqual(prediction);
    expect(sleeps).toEqual([10_000]);
    const messages = logger.messages();
    expect(messages).toContain('Pre-processor deployment started, waiting for it to be ready...');
    expect(messages).toContain('Pre-processor started successfully');

    // The runs of this release (its code is this test's own), in the order the platform got them.
    const runsOf = async () =>
      ((await h.admin('GET', '_emulator/requests')) as Array<{ path: string; body: any }>)
        .filter((r) => r.path.includes(`plugins/${code}/run/`))
        .map((r) => r.body);
    const runs = await runsOf();
    expect(runs.map((b) => b.action)).toEqual(['deployment', 'inference', 'inference']);
    expect(runs[0]).toEqual({
      agent,
      action: 'deployment',
      version: '1.0.0',
      params: { num_cpus: 2, num_gpus: 0 },
    });
    const inference = runs.filter((b) => b.action === 'inference');
    expect(inference).toHaveLength(2);
    // The image URLs are signed media URLs: the request log keeps them with the signature masked.
    const unsigned = (url: string) => url.replace(/signature=[0-9a-f]+/, 'signature=***');
    expect(inference.map((b) => b.params.json.image_path).sort()).toEqual(
      units.map((u) => unsigned(u.image)).sort(),
    );
    expect(inference[0]).toMatchObject({
      agent,
      version: '1.0.0',
      params: { model: 5, method: 'post', json: { confidence_threshold: 0.8 } },
    });

    // Already RUNNING: no second deployment, only the two inference runs.
    await new ToTaskAction({
      run: makeRun().run,
      params: params(project, { method: 'inference', agent, pre_processor: releaseId }),
      options: { sleep: async () => {} },
    }).start();
    expect((await runsOf()).map((b) => b.action)).toEqual([
      'deployment',
      'inference',
      'inference',
      'inference',
      'inference',
    ]);
  });

  it('Pre-processor not found for an unknown release', async () => {
    const { project } = await collectionAndProject();
    const err = await new ToTaskAction({
      run: makeRun().run,
      params: params(project, { method: 'inference', pre_processor: 999_999 }),
    })
      .start()
      .catch((e) => e);
    expect(err.message).toMatch(/^Pre-processor not found: Failed to get pre-processor config: 404/);
  });
});

describe('ToTaskAction: critical errors stop the run and roll back', () => {
  it('Project has no data collection', async () => {
    const [project] = (await fixtures({ projects: [{ title: 'Empty' }] })).projects;
    const { logger, run } = makeRun();
    const action = new ToTaskAction({ run, params: params(project!) });
    const err = await action.start().catch((e) => e);
    expect(err).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect(err.message).toBe('Project has no data collection');
    expect(action.context?.project).toBeNull();
    const messages = logger.messages();
    expect(messages).toContain('Project does not have a data collection.');
    expect(messages).toContain('Failed workflow step project_validation: Project has no data collection');
    expect(messages.slice(-2)).toEqual([
      'ToTask action failed: Project has no data collection',
      'Plugin run is complete.',
    ]);
    expect(logger.records.some((r) => r.kind === 'progress_failed' && r.key === 'annotate_task_data')).toBe(
      true,
    );
  });

  it('Target specification not found, without any submission', async () => {
    const { collection, project } = await collectionAndProject();
    const { unit } = await unitWith(collection, JSON.stringify(annotation('t')), 'spec');
    const [task] = await tasksFor(project, [unit]);
    const { logger, run } = makeRun();
    const action = new ToTaskAction({ run, params: params(project, { target_specification_name: 'nope' }) });
    const err = await action.start().catch((e) => e);
    expect(err.message).toBe(
      "Target specification not found: 'nope' is not in the data collection's file specifications",
    );
    expect(logger.messages()).toContain('Target specification name "nope" not found in file specifications');
    // Rolled back: project_validation (completed) cleared its context.
    expect(action.context?.project).toBeNull();
    expect(action.context?.dataCollection).toBeNull();
    expect((await h.client.getTask(task!)).data).toEqual({});
  });

  it('No tasks found matching filters; the failing step is rolled back too', async () => {
    const { project } = await collectionAndProject();
    const { logger, run } = makeRun();
    const action = new ToTaskAction({
      run,
      params: params(project, { task_filters: { status: 'pending' } }),
    });
    const err = await action.start().catch((e) => e);
    expect(err.message).toBe('No tasks found matching filters');
    expect(logger.messages()).toContain('Tasks to annotate not found.');
    expect(action.context?.stepsCompleted).toEqual([
      'project_validation',
      'method_determination',
      'method_validation',
    ]);
    expect(action.context?.taskIds).toEqual([]);
    expect(action.context?.project).toBeNull();
  });

  it('Unsupported annotation method', async () => {
    const { project } = await collectionAndProject();
    const err = await new ToTaskAction({ run: makeRun().run, params: params(project, { method: 'magic' }) })
      .start()
      .catch((e) => e);
    expect(err.message).toBe('Unsupported annotation method: magic');
  });

  it('Pre-processor ID is required for inference', async () => {
    const { project } = await collectionAndProject();
    const err = await new ToTaskAction({
      run: makeRun().run,
      params: params(project, { method: 'inference' }),
    })
      .start()
      .catch((e) => e);
    expect(err.message).toBe('Pre-processor ID is required for inference annotation method');
  });

  it('a CriticalError from the converter stops the run, cleans temp files and runs rollback actions', async () => {
    const { collection, project } = await collectionAndProject();
    const units = [];
    for (const label of ['c1', 'c2'])
      units.push((await unitWith(collection, JSON.stringify(annotation(label)), label)).unit);
    await tasksFor(project, units);
    const temp = await tempFile('scratch.json', '{}');
    const undone: string[] = [];
    const converter: ToTaskConverter = {
      convertDataFromFile() {
        converter.context!.tempFiles.push(temp);
        converter.context!.rollbackActions.push(() => undone.push('first'));
        converter.context!.rollbackActions.push(() => undone.push('second'));
        throw new CriticalError('storage is gone');
      },
      convertDataFromInference: (d) => d as object,
    };
    const { logger, run } = makeRun();
    const err = await new ToTaskAction({ run, params: params(project, { concurrency: 1 }), converter })
      .start()
      .catch((e) => e);
    expect(err).toBeInstanceOf(PreAnnotationToTaskFailed);
    expect(err.message).toBe('Critical error occurred during task processing');
    expect(err.cause).toBeInstanceOf(CriticalError);
    expect(logger.messages()).toContain('Critical error occured while processing task. Stopping the job.');
    await expect(access(temp)).rejects.toThrow();
    expect(undone).toEqual(['second', 'first']);
  });
});

describe('ToTaskAction: params', () => {
  it('rejects names with whitespace, blank names, missing fields and wrong types', async () => {
    const { project } = await collectionAndProject();
    const run = makeRun();
    const bad = async (p: Record<string, unknown>) =>
      new ToTaskAction({ run: run.run, params: p }).start().catch((e) => e);
    let err = await bad(params(project, { name: 'bad name' }));
    expect(err).toBeInstanceOf(PluginValidationError);
    expect(err.details.params).toEqual({ name: ['name must not contain whitespace'] });
    err = await bad(params(project, { name: '  ' }));
    expect(err.details.params).toEqual({ name: ['필수 값을 확인해주세요.'] });
    const { method: _m, ...noMethod } = params(project);
    err = await bad({ ...noMethod, agent: 'x', task_filters: [] });
    expect(err.details.params).toEqual({
      agent: ['Input should be a valid integer'],
      task_filters: ['Input should be a valid dictionary'],
      method: ['Field required'],
    });
    err = await bad(params(999_999));
    expect(err.details.params.project[0]).toMatch(
      /^Invalid project: Project with ID 999999 does not exist or is not accessible: /,
    );
    expect(run.logger.records).toEqual([]);
  });

  it('throws when run or params are missing', async () => {
    const err = await new ToTaskAction({ run: makeRun().run, params: null }).start().catch((e) => e);
    expect(err.message).toBe('Run instance or parameters not properly initialized');
  });
});

describe('ToTaskAction: logger failures never stop the run', () => {
  /** A logger whose progress and metrics store is down: every such call throws. */
  class StoreDown extends Recorder {
    override setProgress(): void {
      throw new Error('progress store is down');
    }
    override setProgressFailed(): void {
      throw new Error('progress store is down');
    }
    override setMetrics(): void {
      throw new Error('metrics store is down');
    }
    warnings() {
      return this.events('message').flatMap((d) => (d.context === 'warning' ? [d.content] : []));
    }
  }

  it('logs each failed progress or metrics update as a warning and completes the run', async () => {
    const { collection, project } = await collectionAndProject();
    const good = await unitWith(collection, JSON.stringify(annotation('ok')), 'store-ok');
    const bad = await unitWith(collection, '{"objects": [', 'store-bad');
    const [ta, tb] = await tasksFor(project, [good.unit, bad.unit]);
    const logger = new StoreDown();
    const result = await new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger }),
      params: params(project),
    }).start();

    expect(result).toMatchObject({
      total_tasks: 2,
      success_count: 1,
      failed_count: 1,
      failures: [{ task_id: tb, error: expect.stringMatching(/^Invalid JSON format/) }],
    });
    expect((await h.client.getTask(ta!)).data).toEqual(annotation('ok'));
    const progress = 'Progress update failed: progress store is down';
    const metrics = 'Metrics update failed: metrics store is down';
    expect(logger.warnings()).toEqual([
      ...['Metrics recording failed: metrics store is down', progress], // processing_initialization
      ...[progress, metrics, progress, metrics], // after each task
      ...[progress, 'Metrics finalization failed: metrics store is down'], // finalization
    ]);
    expect(logger.records.filter((r) => r.kind !== 'log')).toEqual([]);
    expect(logger.messages().slice(-2)).toEqual([
      'ToTask action completed successfully.',
      'Plugin run is complete.',
    ]);
  });

  it('a failing run still fails with its own error when marking progress failed throws', async () => {
    const { project } = await collectionAndProject();
    const logger = new StoreDown();
    const err = await new ToTaskAction({
      run: new RuntimeContext({ client: h.client, logger }),
      params: params(project, { target_specification_name: 'nope' }),
    })
      .start()
      .catch((e) => e);
    expect(err.message).toBe(
      "Target specification not found: 'nope' is not in the data collection's file specifications",
    );
    expect(logger.warnings()).toEqual(['Progress update failed: progress store is down']);
  });
});

describe('ToTaskAction: older plugins whose to_task entrypoint is a plain converter class', () => {
  const LEGACY_CONFIG = `name: Legacy boxes
code: legacy-boxes
version: "1.0.0"
category: pre_annotation
description: Converts the older box format
actions:
  to_task:
    entrypoint: plugin.to_task.AnnotationToTask
    method: job
`;

  /** No SDK import: constructed with the runtime context; the action sets its context. */
  const LEGACY_CONVERTER = `
export class AnnotationToTask {
  context?: { params: { name: string } };
  run: { logMessage(content: string): void };

  constructor(run: { logMessage(content: string): void }) {
    this.run = run;
  }

  /** The older annotation format: {"boxes": [[x, y, width, height], ...]}. */
  async convertDataFromFile(_primaryUrl: string, _primaryName: string, dataUrl: string, dataName: string) {
    const { boxes } = (await (await fetch(dataUrl)).json()) as { boxes: number[][] };
    this.run.logMessage(\`Converted \${boxes.length} boxes of \${dataName}\`);
    return {
      objects: boxes.map(([x, y, width, height], i) => ({
        id: \`box_\${i}\`,
        class_id: 1,
        type: 'bbox',
        coordinates: { x, y, width, height },
        properties: { job: this.context?.params.name },
      })),
    };
  }

  convertDataFromInference(data: unknown) {
    return data;
  }
}
`;

  it('runs it through runPlugin as the converter of a stock ToTaskAction', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdk-legacy-to-task-'));
    try {
      await mkdir(join(dir, 'plugin'));
      await writeFile(join(dir, 'config.yaml'), LEGACY_CONFIG);
      await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
      await writeFile(join(dir, 'plugin/to_task.ts'), LEGACY_CONVERTER);
      const { collection, project } = await collectionAndProject();
      const boxes = { boxes: [[1, 2, 30, 40]] };
      const { unit } = await unitWith(collection, JSON.stringify(boxes), 'legacy');
      const [task] = await tasksFor(project, [unit]);

      const { logger } = makeRun();
      const result = await runPlugin(dir, 'to_task', params(project), { client: h.client, logger });

      expect(result).toEqual({
        status: 'SUCCEEDED',
        message: 'Pre-annotation to task completed successfully',
        total_tasks: 1,
        success_count: 1,
        failed_count: 0,
        failures: [],
      });
      expect((await h.client.getTask(task!)).data).toEqual({
        objects: [
          {
            id: 'box_0',
            class_id: 1,
            type: 'bbox',
            coordinates: { x: 1, y: 2, width: 30, height: 40 },
            properties: { job: 'File_Based_Annotation' },
          },
        ],
      });
      const messages = logger.messages();
      expect(messages).toContain('Converted 1 boxes of legacy.json');
      expect(messages[0]).toBe('ToTask action started.');
      expect(logger.metrics().at(-1)).toEqual({ total: 1, success: 1, failed: 0, stand_by: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('still lets a converter given at construction come first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdk-legacy-to-task-'));
    try {
      await mkdir(join(dir, 'plugin'));
      await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
      await writeFile(join(dir, 'plugin/to_task.ts'), LEGACY_CONVERTER);
      const Wrapped = (await loadEntrypoint('plugin.to_task.AnnotationToTask', dir)) as typeof ToTaskAction;
      const { collection, project } = await collectionAndProject();
      const { unit } = await unitWith(collection, JSON.stringify({ boxes: [[1, 2, 3, 4]] }), 'legacy');
      const [task] = await tasksFor(project, [unit]);
      const given = { objects: [] };
      const converter = {
        convertDataFromFile: () => given,
        convertDataFromInference: (d: unknown) => d as object,
      };

      const result = await new Wrapped({ run: makeRun().run, params: params(project), converter }).start();

      expect(result.success_count).toBe(1);
      expect((await h.client.getTask(task!)).data).toEqual(given);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
