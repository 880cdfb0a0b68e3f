/**
 * The inference strategy (to-task.md §5): before the task search (D7) the pre-processor release is
 * looked up and its serve application made RUNNING (deployed and awaited if needed); then each
 * task's primary image goes through the pre-processor's `inference` action.
 */
import { isObject } from 'synapse-core';
import { ClientError, ClientTimeoutError } from '../../../clients/errors.ts';
import { RunStoppedError } from '../../../plugins/errors.ts';
import type { ToTaskContext } from './context.ts';
import type { ToTaskConverter } from './converter.ts';
import { CriticalError, errorMessage, PreAnnotationToTaskFailed } from './errors.ts';
import { resolveUnitFiles, type TaskOutcome } from './files.ts';
import { logTaskEvent } from './records.ts';

export interface InferenceOptions {
  preProcessorPollIntervalSeconds?: number;
  preProcessorTimeoutSeconds?: number;
  inferenceTimeoutSeconds?: number;
  /** Given the run's stop signal: a stop may end the wait early. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_POLL_INTERVAL_SECONDS = 10;
export const DEFAULT_PREPROCESSOR_TIMEOUT_SECONDS = 180;
export const DEFAULT_INFERENCE_TIMEOUT_SECONDS = 120;

const notFound = (detail: string, cause?: unknown) =>
  new PreAnnotationToTaskFailed(`Pre-processor not found: ${detail}`, {}, cause ? { cause } : undefined);
const notActive = (detail: string, cause?: unknown) =>
  new PreAnnotationToTaskFailed(`Pre-processor not active: ${detail}`, {}, cause ? { cause } : undefined);

/** Waits `ms`, or less when the run is stopped meanwhile. */
function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    // An aborted signal fires no more events.
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `required_cpu_count ?? num_cpus ?? 1`, `required_gpu_count ?? num_gpus ?? 0.1` (explicit 0 kept). */
export function preProcessorResources(config: Record<string, any>): { num_cpus: number; num_gpus: number } {
  const resources = config.actions?.inference?.required_resources;
  const r = isObject(resources) ? resources : {};
  return {
    num_cpus: r.required_cpu_count ?? r.num_cpus ?? 1,
    num_gpus: r.required_gpu_count ?? r.num_gpus ?? 0.1,
  };
}

async function isRunning(ctx: ToTaskContext, code: string): Promise<boolean> {
  const [apps] = (await ctx.client.listServeApplications({
    plugin_code: code,
    job__agent: ctx.params.agent,
  })) as [unknown[], number];
  return apps.some((app) => isObject(app) && app.status === 'RUNNING');
}

/** §5.1: the pre-processor release, and its serve application RUNNING. */
export async function ensurePreProcessorReady(
  ctx: ToTaskContext,
  options: InferenceOptions = {},
): Promise<void> {
  const releaseId = ctx.params.pre_processor;
  if (releaseId === null || releaseId === undefined) {
    ctx.logCode('NO_PREPROCESSOR_ID');
    throw new PreAnnotationToTaskFailed('Pre-processor ID is required for inference annotation method');
  }
  let release: unknown;
  try {
    release = await ctx.client.getPluginRelease(releaseId);
  } catch (err) {
    if (err instanceof ClientError) throw notFound(`Failed to get pre-processor config: ${err.message}`, err);
    throw err;
  }
  if (!isObject(release)) throw notFound('Invalid pre-processor response received');
  const config = release.config;
  const version = release.version ?? (isObject(config) ? config.version : undefined);
  if (!isObject(config) || !config.code || !version) throw notFound('Invalid pre-processor configuration');
  const code = String(config.code);
  ctx.pluginConfig = config;
  ctx.preProcessor = { code, version: String(version) };

  if (await isRunning(ctx, code)) return;

  let job: unknown;
  try {
    job = await ctx.client.runPlugin(code, {
      agent: ctx.params.agent,
      action: 'deployment',
      version: String(version),
      params: preProcessorResources(config),
    });
  } catch (err) {
    throw notActive(`Failed to start pre-processor deployment: ${errorMessage(err)}`, err);
  }
  if (!isObject(job) || !job.job_id) throw notActive('No deployment job ID returned');
  ctx.logCode('PREPROCESSOR_DEPLOYING');

  const interval = options.preProcessorPollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS;
  const timeout = options.preProcessorTimeoutSeconds ?? DEFAULT_PREPROCESSOR_TIMEOUT_SECONDS;
  const sleep = options.sleep ?? defaultSleep;
  let elapsed = 0;
  while (elapsed < timeout) {
    await sleep(interval * 1000, ctx.signal);
    // A stop ends the wait; the deployment started stays, as after a failure (§9).
    if (ctx.signal.aborted) {
      throw new RunStoppedError(
        'The run was stopped while waiting for the pre-processor',
        {},
        {
          cause: ctx.signal.reason,
        },
      );
    }
    // To the millisecond, so fractional intervals add up without float noise (0.30000000000000004).
    elapsed = Math.round((elapsed + interval) * 1000) / 1000;
    const ready = await isRunning(ctx, code).catch(() => false);
    if (ready) {
      ctx.logCode('PREPROCESSOR_STARTED');
      return;
    }
    ctx.logCode('PREPROCESSOR_WAITING', [elapsed, timeout]);
  }
  throw notActive(`Pre-processor failed to start within ${timeout} seconds`);
}

/** §5.2: one task through the pre-processor, converted and submitted. */
export async function annotateFromInference(
  ctx: ToTaskContext,
  task: Record<string, any>,
  converter: ToTaskConverter,
  options: InferenceOptions = {},
): Promise<TaskOutcome> {
  const taskId = task.id as number;
  const resolved = await resolveUnitFiles(ctx, task);
  if (!resolved.ok) return resolved;
  const preProcessor = ctx.preProcessor;
  if (!preProcessor) throw new CriticalError('Pre-processor not validated');

  const params: Record<string, unknown> = {};
  if (ctx.params.model !== null && ctx.params.model !== undefined) params.model = ctx.params.model;
  params.method = 'post';
  params.json = { ...ctx.params.pre_processor_params, image_path: resolved.primaryUrl };
  let result: unknown;
  try {
    result = await ctx.client.runPlugin(
      preProcessor.code,
      { agent: ctx.params.agent, action: 'inference', version: preProcessor.version, params },
      { timeout: options.inferenceTimeoutSeconds ?? DEFAULT_INFERENCE_TIMEOUT_SECONDS },
    );
  } catch (err) {
    if (err instanceof CriticalError) throw err;
    logTaskEvent(ctx, 'INFERENCE_PREPROCESSOR_FAILED', [taskId, errorMessage(err)]);
    if (err instanceof ClientTimeoutError) {
      return { ok: false, error: `Pre-processor inference timed out: ${errorMessage(err)}`, cause: err };
    }
    return { ok: false, error: `Pre-processor inference failed: ${errorMessage(err)}`, cause: err };
  }
  if (result === null || result === undefined || result === '') {
    return { ok: false, error: 'Inference returned no data' };
  }

  let data: object;
  try {
    data = await converter.convertDataFromInference(result, task);
  } catch (err) {
    if (err instanceof CriticalError) throw err;
    logTaskEvent(ctx, 'CONVERT_DATA_FAILED', [errorMessage(err), taskId]);
    return { ok: false, error: `Failed to convert inference data: ${errorMessage(err)}` };
  }

  try {
    await ctx.client.annotateTaskData(taskId, { action: 'submit', data: data as Record<string, unknown> });
  } catch (err) {
    if (err instanceof CriticalError) throw err;
    logTaskEvent(ctx, 'ANNOTATION_SUBMISSION_FAILED', [taskId, errorMessage(err)]);
    return { ok: false, error: `Failed to submit inference data: ${errorMessage(err)}`, cause: err };
  }
  return { ok: true };
}
