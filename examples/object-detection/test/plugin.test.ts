/**
 * The plugin on the local platform, as users run it: published, its model registered with the
 * chunked upload, the detector deployed on demand behind the capacity gate by ToTask (method
 * "inference"), then `test` and `batch_inference` as jobs. Real devserver, real model, real photos.
 * Own server: a serve gateway (the shared platform has none, and answers deployments with fixtures).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendClient, Job } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedMediaUrl, useDevServer } from '../../../test-support/harness.ts';
import { MODEL_NAME, registerModel } from '../model.ts';
import {
  ANNOTATIONS_FROM_FILES_DIR,
  ensurePublished,
  OBJECT_DETECTION_DIR,
  type PhotoProject,
  seedPhotoProject,
} from '../setup.ts';

const h = useDevServer({ serve: { port: 0 } });
let work: string;
let photos: PhotoProject;
let detector: number;
let model: number;

async function finished(client: BackendClient, jobId: string): Promise<Job> {
  for (;;) {
    const job = await client.getJob(jobId);
    if (['SUCCEEDED', 'FAILED', 'STOPPED'].includes(String(job.status))) return job;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const run = async (code: string, action: string, params: Record<string, unknown>) => {
  const agent = h.server.credentials.agentId;
  const { job_id } = await h.client.runPlugin(code, { agent, action, params });
  return finished(h.client, job_id);
};
const logs = (job: Job) => (Array.isArray(job.console_logs) ? job.console_logs.join('\n') : '');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'object-detection-'));
  photos = await seedPhotoProject(h.client, work);
  detector = await ensurePublished(h.client, OBJECT_DETECTION_DIR);
  model = (await registerModel(h.client, work)).id;
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('object-detection plugin on the local platform', () => {
  it('reuses the project, the release and the model on a second setup', async () => {
    expect(photos.tasks).toBe(11);
    expect(await seedPhotoProject(h.client, work)).toEqual(photos);
    expect(await ensurePublished(h.client, OBJECT_DETECTION_DIR)).toBe(detector);
    const again = await registerModel(h.client, work);
    expect(again).toMatchObject({ id: model, name: MODEL_NAME });
    expect(again.file).toMatch(/^https?:\/\//);
  });

  it('refuses a deployment the machine cannot take, at the capacity gate', async () => {
    const job = await run('object-detection', 'deployment', { num_cpus: 512, num_gpus: 0 });
    expect(job.status).toBe('FAILED');
    expect(logs(job)).toContain('Serve deploy denied: insufficient cluster capacity (');
    const [[app]] = await h.client.listServeApplications({ plugin_code: 'object-detection' });
    expect(app.status).toBe('DEPLOY_FAILED');
  });

  it('pre-annotates every photo through ToTask, deploying the detector on demand', async () => {
    const preAnnotation = await ensurePublished(h.client, ANNOTATIONS_FROM_FILES_DIR);
    expect(preAnnotation).toBeGreaterThan(0);
    const job = await run('annotations-from-files', 'to_task', {
      name: 'detect',
      project: photos.project,
      agent: h.server.credentials.agentId,
      method: 'inference',
      pre_processor: detector,
      model,
      pre_processor_params: { confidence_threshold: 0.3, model_config: { device: 'cuda', batch_size: 4 } },
      task_filters: { project: photos.project },
    });
    expect(job.result).toMatchObject({
      status: 'SUCCEEDED',
      total_tasks: 11,
      success_count: 11,
      failed_count: 0,
    });
    expect(job.metrics_record).toMatchObject({
      record: { categories: { annotate_task_data: { total: 11, success: 11, failed: 0, stand_by: 0 } } },
    });
    const [[app]] = await h.client.listServeApplications({ plugin_code: 'object-detection' });
    expect(app.status).toBe('RUNNING');

    const [tasks] = await h.client.listTasks({ project: photos.project, page_size: 50 });
    const objects = tasks.flatMap((t) => ((t.data as any)?.objects ?? []) as any[]);
    expect(objects.length).toBeGreaterThan(8);
    for (const o of objects) {
      expect(Object.keys(o).sort()).toEqual(['class_id', 'coordinates', 'id', 'properties', 'type']);
      expect(o.type).toBe('bbox');
      expect(o.properties.confidence).toBeGreaterThanOrEqual(0.3);
      expect(typeof o.properties.label).toBe('string');
    }
    expect(objects.filter((o) => o.properties.label === 'person').length).toBeGreaterThan(6);
  });

  it('evaluates the model on the hand-labelled set: precision, recall and mAP@0.5 as metrics', async () => {
    const job = await run('object-detection', 'test', {
      model,
      ground_truth_dataset_version: photos.groundTruthVersion,
      confidence_threshold: 0.3,
    });
    expect(job.status).toBe('SUCCEEDED');
    const result = job.result as Record<string, number | string>;
    expect(result.images).toBe(6);
    expect(result.runtime).toBe('onnx'); // the default: installed, and the model carries its file
    // Five of the six labelled people are found at 0.3 (see detector.test.ts), with no false alarm.
    expect(result.recall).toBeGreaterThanOrEqual(0.8);
    expect(result.precision).toBeGreaterThan(0.5);
    expect(result.map_50).toBeGreaterThan(0.5);
    expect(job.metrics_record).toMatchObject({
      record: {
        categories: { test: { precision: result.precision, recall: result.recall, map_50: result.map_50 } },
      },
    });

    // The same evaluation on TensorFlow.js scores exactly the same.
    const onTfjs = await run('object-detection', 'test', {
      model,
      ground_truth_dataset_version: photos.groundTruthVersion,
      confidence_threshold: 0.3,
      model_config: { runtime: 'tfjs' },
    });
    expect(onTfjs.status).toBe('SUCCEEDED');
    expect(onTfjs.result).toEqual({ ...result, runtime: 'tfjs' });
  });

  it('runs batch inference over many images; an unreadable one fails alone', async () => {
    const [tasks] = await h.client.listTasks({ project: photos.project, expand: 'data_unit', page_size: 50 });
    const urls = tasks.map(
      (t: any) => Object.values(t.data_unit.files as Record<string, any>)[0].url as string,
    );
    // A validly signed URL of a file that is not there: the download itself fails (404).
    const missing = signedMediaUrl(h, 'media/missing.jpg');
    const inputs = [...urls, missing].map((image_path) => ({ image_path }));
    const job = await run('object-detection', 'batch_inference', {
      model,
      inputs,
      confidence_threshold: 0.3,
      model_config: { batch_size: 4, device: 'cuda' },
    });
    expect(job.status).toBe('SUCCEEDED');
    const result = job.result as { processed_count: number; failed_count: number; results: any[] };
    expect(result).toMatchObject({ processed_count: 11, failed_count: 1 });
    expect(result.results.map((r) => r.image_path)).toEqual(inputs.map((i) => i.image_path));
    expect(result.results.at(-1).error).toBe('Cannot read the image: Image download failed: HTTP 404');
    expect(logs(job)).toContain("Device 'cuda' is not available here (no GPU backend): running on the CPU");
  });
});
