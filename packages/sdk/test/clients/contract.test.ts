/**
 * The contract (synapse-core) against the local platform's real responses: every family's schema
 * accepts what the devserver answers on its list and detail routes, rejects a wrong type with a
 * message naming the field and the rule (never the value), and lets unknown keys through. And the
 * client's response check: on in this suite, it turns a drifted record into ResponseContractError.
 * Own server: the demo project seeded through its context, jobs left PENDING (runJobs: false),
 * and records that break the contract on purpose (other files' lists would fail on them).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentSchema,
  contractMismatch,
  dataCollectionListItemSchema,
  dataCollectionSchema,
  dataUnitSchema,
  groundTruthEventSchema,
  groundTruthSchema,
  groundTruthVersionSchema,
  jobSchema,
  logSchema,
  modelSchema,
  pluginReleaseSchema,
  pluginSchema,
  projectSchema,
  serveApplicationSchema,
  storageSchema,
  taskSchema,
  taskTagSchema,
} from 'synapse-core';
import { seedDemo } from 'synapse-devserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { BackendClient, ResponseContractError } from '../../src/index.ts';
import { fixtureRelease, useDevServer } from '../helpers.ts';

const h = useDevServer({ runJobs: false });
let tmp: string;

/** Paths of one record of each family (detail) and of its list, filled in beforeAll. */
const detail: Record<string, string> = {};

const CONFIG = {
  name: 'Contract',
  category: 'neural_net',
  actions: {
    train: { entrypoint: 'plugin.train.Train', method: 'job' },
    deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
    inference: { entrypoint: 'plugin.inference.Inference', method: 'serve' },
  },
};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sdk-contract-'));
  const { project, dataCollection } = await seedDemo(h.server.ctx);
  const agent = h.server.credentials.agentId;

  const modelFile = join(tmp, 'model.bin');
  await writeFile(modelFile, 'weights');
  const model = await h.client.createModel({ name: 'contract', project, file: modelFile });

  const { code, pluginId, releaseId } = await fixtureRelease(h, CONFIG);
  const run = await h.client.runPlugin(code, { agent, action: 'train', params: { epochs: 1 } });
  await h.client.updateJob(run.job_id, { status: 'running', progress_record: { train: 0.5 } });
  await h.client.createLogs({ event: 'message', data: { content: 'hello' }, job: run.job_id });
  await h.client.runPlugin(code, { agent, action: 'deployment', version: '1.0.0' });

  const fixtures = await h.admin('POST', '_emulator/fixtures', {
    task_tags: [{ project, name: 'checked' }],
    ground_truth_datasets: [{ name: 'GT', project }],
  });
  const { ground_truth_dataset_versions } = await h.admin('POST', '_emulator/fixtures', {
    ground_truth_dataset_versions: [
      { version: 'v1', ground_truth_dataset: fixtures.ground_truth_datasets[0] },
    ],
  });
  const [unit] = await h.client.listDataUnits({ data_collection: dataCollection });
  await h.admin('POST', '_emulator/fixtures', {
    ground_truth_events: [
      {
        ground_truth_dataset_version: ground_truth_dataset_versions[0],
        category: 'train',
        data: { annotations: {} },
        data_unit: unit[0]!.id,
        files: {},
      },
    ],
  });
  const [tasks] = await h.client.listTasks({ project });

  Object.assign(detail, {
    models: `models/${model.id}/`,
    projects: `projects/${project}/`,
    tasks: `tasks/${tasks[0]!.id}/?expand=data_unit`,
    task_tags: `task_tags/${fixtures.task_tags[0]}/`,
    plugins: `plugins/${pluginId}/`,
    plugin_releases: `plugin_releases/${releaseId}/`,
    jobs: `jobs/${run.job_id}/`,
    storages: `storages/1/?with_configuration=true`,
    data_collection_detail: `data_collections/${dataCollection}/?expand=file_specifications`,
    data_units: `data_units/${unit[0]!.id}/`,
    ground_truth_dataset_versions: `ground_truth_dataset_versions/${ground_truth_dataset_versions[0]}/`,
  });
}, 120_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Each family: its schema, a detail route (if it has one) and its list route. */
const FAMILIES: Array<{ family: string; schema: z.ZodType; list: string }> = [
  { family: 'models', schema: modelSchema, list: 'models/' },
  { family: 'projects', schema: projectSchema, list: 'projects/' },
  { family: 'tasks', schema: taskSchema, list: 'sdk/tasks/?expand=data_unit' },
  { family: 'task_tags', schema: taskTagSchema, list: 'task_tags/' },
  { family: 'plugins', schema: pluginSchema, list: 'plugins/' },
  { family: 'plugin_releases', schema: pluginReleaseSchema, list: 'plugin_releases/' },
  { family: 'jobs', schema: jobSchema, list: 'jobs/' },
  { family: 'logs', schema: logSchema, list: 'logs/' },
  { family: 'serve_applications', schema: serveApplicationSchema, list: 'serve_applications/' },
  { family: 'agents', schema: agentSchema, list: 'agents/' },
  { family: 'storages', schema: storageSchema, list: 'storages/' },
  { family: 'data_collections', schema: dataCollectionListItemSchema, list: 'data_collections/' },
  {
    family: 'data_collection_detail',
    schema: dataCollectionSchema,
    list: 'data_collections/?expand=file_specifications',
  },
  { family: 'data_units', schema: dataUnitSchema, list: 'data_units/' },
  { family: 'ground_truth_events', schema: groundTruthEventSchema, list: 'sdk/ground_truth_events/' },
  { family: 'ground_truths', schema: groundTruthSchema, list: 'ground_truths/' },
  {
    family: 'ground_truth_dataset_versions',
    schema: groundTruthVersionSchema,
    list: 'ground_truth_dataset_versions/',
  },
];

describe('the contract accepts the local platform', () => {
  it.each(FAMILIES)(
    '$family: every listed record and the detail record',
    async ({ family, schema, list }) => {
      const page = await h.admin('GET', list);
      expect(page.results.length, `${list} lists nothing to check`).toBeGreaterThan(0);
      for (const record of page.results) expect(contractMismatch(schema, record), list).toBeNull();
      if (detail[family]) {
        const record = await h.admin('GET', detail[family]);
        expect(contractMismatch(schema, record), detail[family]).toBeNull();
      }
    },
  );
});

describe('the contract rejects a wrong type, naming the field and the rule', () => {
  it('names each broken field with its rule, never the value, and lets unknown keys pass', async () => {
    const model = await h.admin('GET', detail.models!);
    expect(contractMismatch(modelSchema, { ...model, added_by_a_newer_platform: { x: 1 } })).toBeNull();

    const broken = { ...model, metrics: 'secret-metrics-value', is_active: 'yes' };
    const message = contractMismatch(modelSchema, broken);
    expect(message).toBe(
      'metrics: Invalid input: expected record, received string; ' +
        'is_active: Invalid input: expected boolean, received string',
    );

    const job = await h.admin('GET', detail.jobs!);
    expect(contractMismatch(jobSchema, { ...job, status: 'running' })).toBe(
      'status: Invalid option: expected one of "PENDING"|"RUNNING"|"STOPPED"|"SUCCEEDED"|"FAILED"',
    );
    const task = await h.admin('GET', detail.tasks!);
    const unit = task.data_unit;
    // A union (the unit's files) reports the option that got furthest, not "Invalid input".
    expect(
      contractMismatch(taskSchema, { ...task, data_unit: { ...unit, files: { image_1: { url: 7 } } } }),
    ).toBe('data_unit.files.image_1.url: Invalid input: expected string, received number');
  });

  it('bounds the message: five issues, then how many more', () => {
    const page = Array.from({ length: 40 }, (_, i) => ({ id: `x${i}` }));
    const message = contractMismatch(modelSchema.array(), page)!;
    expect(message.split('; ')).toHaveLength(6);
    expect(message).toMatch(/; and \d+ more$/);
  });
});

describe('the client checks responses against the contract', () => {
  it('is on in this suite: a drifted record throws ResponseContractError on detail and list', async () => {
    expect(h.client.checksResponses).toBe(true);
    const { models } = await h.admin('POST', '_emulator/fixtures', {
      models: [{ name: 'drifted', metrics: ['not', 'an', 'object'], description: 'd', file: null }],
    });
    const err = await h.client.getModel(models[0]).catch((e) => e);
    expect(err).toBeInstanceOf(ResponseContractError);
    expect(err.message).toBe(
      `Backend response to GET models/${models[0]}/ does not match the contract: ` +
        'metrics: Invalid input: expected record, received array',
    );
    const listErr = await h.client.listModels().catch((e) => e);
    expect(listErr).toBeInstanceOf(ResponseContractError);
    expect(listErr.message).toMatch(
      /^Backend response to GET models\/ does not match the contract: results\.\d+\.metrics: /,
    );
  });

  it('is off for a client that opts out: the same record comes back as the server sent it', async () => {
    const { models } = await h.admin('POST', '_emulator/fixtures', {
      models: [{ name: 'drifted-2', metrics: 'text', description: 'd', file: null }],
    });
    const unchecked = new BackendClient(h.server.url, {
      accessToken: h.server.credentials.accessToken,
      checkResponses: false,
    });
    try {
      expect(unchecked.checksResponses).toBe(false);
      expect(await unchecked.getModel(models[0])).toMatchObject({ name: 'drifted-2', metrics: 'text' });
    } finally {
      await unchecked.close();
    }
  });
});
