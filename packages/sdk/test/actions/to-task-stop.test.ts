/**
 * A ToTask job stopped mid-run through the platform's jobs API (#13 item 9): the stop reaches the
 * action as `ctx.signal`, the worker pool drains between tasks, the partial counts are recorded,
 * the job ends STOPPED and the tasks it did not reach keep their data. On the shared platform: a
 * plugin code and a project of its own.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../../test-support/job-plugin.ts';
import type { Job } from '../../src/index.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();
const CODE = `slow-to-task-${randomUUID().slice(0, 8)}`;
const TASKS = 40;

// Each conversion takes a while, so a stop lands while most tasks are still waiting.
const SLOW_TO_TASK = `
import { writeFileSync } from 'node:fs';
import { ToTaskAction } from 'synapse-sdk';
export class SlowToTask extends ToTaskAction {
  async convertDataFromFile(_primaryUrl, _primaryName, _dataUrl, dataName) {
    writeFileSync(process.env.PID_FILE, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 250));
    return { objects: [{ id: dataName, class_id: 1, type: 'bbox', coordinates: {}, properties: {} }] };
  }
}
`;

let dir: string;
let pidFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-to-task-stop-'));
  pidFile = join(dir, 'job.pid');
  const config = {
    name: 'Slow ToTask',
    code: CODE,
    version: '1.0.0',
    category: 'pre_annotation',
    env: { PID_FILE: pidFile },
    actions: { to_task: { entrypoint: 'plugin.slow.SlowToTask', method: 'job' } },
  };
  const zip = zipSync({
    'config.yaml': strToU8(JSON.stringify(config)),
    'package.json': strToU8('{"type": "module"}\n'),
    'plugin/slow.ts': strToU8(SLOW_TO_TASK),
  });
  await h.client.createPluginRelease(
    { plugin: CODE, version: '1.0.0', config },
    { file: { data: zip, filename: 'plugin.zip' } },
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const fixtures = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
  h.admin('POST', '_emulator/fixtures', body);

/** A project with `count` tasks, each on a data unit with an annotation file the converter "reads". */
async function projectWithTasks(count: number): Promise<{ project: number; tasks: number[] }> {
  const specs = [
    { name: 'image_1', file_type: 'image', is_primary: true, is_required: true },
    { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false },
  ];
  const [collection] = (await fixtures({ data_collections: [{ name: 'C', file_specifications: specs }] }))
    .data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'P', data_collection: collection }] })).projects;
  const units = Array.from({ length: count }, (_, i) => ({
    data_collection: collection,
    meta: {},
    files: {
      image_1: { url: `http://files.invalid/${i}.jpg`, is_primary: true, file_name_original: `${i}.jpg` },
      annotation_data: { url: `http://files.invalid/${i}.json`, file_name_original: `${i}.json` },
    },
  }));
  const { data_units } = await fixtures({ data_units: units });
  const created = await h.client.createTasks({ project, data: data_units!.map((u) => ({ data_unit: u })) });
  return { project: project!, tasks: created.map((t) => t.id as number) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const counts = (job: Job) =>
  (job as Record<string, any>).metrics_record?.record?.categories?.annotate_task_data as
    | { total: number; success: number; failed: number; stand_by: number }
    | undefined;

describe('ToTask stopped through the jobs API', () => {
  it('drains its workers, records the partial counts, ends STOPPED and leaves untouched tasks as they were', async () => {
    const { project } = await projectWithTasks(TASKS);
    const [before] = await h.client.listTasks({ project });
    const params = {
      name: 'Stopped_Run',
      project,
      agent: h.server.credentials.agentId,
      task_filters: {},
      method: 'file',
      target_specification_name: 'annotation_data',
      concurrency: 2,
    };
    const { job_id: jobId } = await h.client.runPlugin(CODE, {
      agent: h.server.credentials.agentId,
      action: 'to_task',
      params,
    });
    // Stopped once a few tasks are done, while most still wait.
    await until(
      () => h.client.getJob(jobId),
      (job) => (counts(job)?.success ?? 0) >= 2,
    );
    const pid = Number(await readFile(pidFile, 'utf8'));
    await h.client.updateJob(jobId, { status: 'stopped' });
    // The process ends by itself once its workers drained (within the executor's grace period).
    await until(
      async () => alive(pid),
      (running) => !running,
    );

    const job = await h.client.getJob(jobId);
    expect(job.status).toBe('STOPPED');
    const metrics = counts(job)!;
    expect(metrics.total).toBe(TASKS);
    expect(metrics.failed).toBe(0);
    expect(metrics.success).toBeGreaterThanOrEqual(2);
    expect(metrics.stand_by).toBeGreaterThan(0);
    expect(metrics.success + metrics.stand_by).toBe(TASKS);

    // Exactly the counted tasks were annotated; every other task keeps the data it had.
    const [after] = await h.client.listTasks({ project });
    const annotated = after.filter((t) => Array.isArray((t.data as { objects?: unknown[] })?.objects));
    expect(annotated).toHaveLength(metrics.success);
    const untouched = after.filter((t) => !annotated.includes(t));
    expect(untouched).toHaveLength(metrics.stand_by);
    for (const task of untouched) expect(task.data).toEqual(before.find((t) => t.id === task.id)!.data);

    // The run says it stopped, not that it failed, and its final logs reached the job.
    const logs = await h.client.get('logs/', { params: { job: jobId, page_size: 1000 } });
    const messages = (logs.results as Array<{ event: string; data: { content?: string } }>)
      .filter((l) => l.event === 'message')
      .map((l) => l.data.content);
    expect(messages).toContain(
      `ToTask action stopped at step task_processing. Success: ${metrics.success}, Failed: 0, Not processed: ${metrics.stand_by}`,
    );
    expect(messages.at(-1)).toBe('Plugin run is complete.');
    expect(messages.some((m) => m?.startsWith('ToTask action failed'))).toBe(false);
    const lines = ((await h.client.listJobConsoleLogs(jobId)) as { results: string[] }).results;
    expect(lines).toContain('STOPPED: The run was stopped after ' + `${metrics.success} of ${TASKS} tasks`);
  });
});
