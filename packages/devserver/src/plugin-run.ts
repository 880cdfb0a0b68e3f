/**
 * Running a plugin action (backend-api.md §10.3), shared by the backend's `plugins/<x>/run/` and
 * the agent's release runs. The emulator runs nothing itself: `job` actions become PENDING job
 * records for an executor hook, `deployment` runs the release's deployment action when this
 * server hosts serving (else plays it), `inference` goes through the SDK's one serve call to a
 * running app, `task` and `restapi` actions of a published release run in the agent's warm worker
 * (`TaskRunner`), anything else answers its canned result.
 */

import { defaultMethodFor, releaseChecksum, releaseRoutePrefix } from 'synapse-core';
import { ClientConnectionError, ClientError, callServeApp, SERVE_HTTP_METHODS } from 'synapse-sdk';
import { actionEntrypoint } from './agent/task-runner.ts';
import { issueToken, runUserId } from './auth.ts';
import type { DevContext } from './context.ts';
import type { Doc } from './db/collection.ts';
import { addCondition, emptyWhere } from './db/filters.ts';
import { ApiError, invalidChoice } from './errors.ts';
import { type JobSpec, startJob, statusFields, updateJob } from './jobs.ts';
import { findServeApp, upsertServeApp } from './serve-apps.ts';
import { isObject } from './validate.ts';

/** Results of actions without a fixture (`PUT _emulator/run_fixtures/<code>/<action>`). */
const DEFAULT_RESULTS: Record<string, unknown> = { inference: { objects: [] } };

/**
 * The run method of `action`. A config that lists actions must list this one (else 400); a
 * config without `actions` (e.g. a bare fixture) runs any action with its default method.
 */
export function actionMethod(config: Record<string, unknown>, action: string): string {
  const defaultMethod = defaultMethodFor(action);
  if (!isObject(config.actions)) return defaultMethod;
  const spec = config.actions[action];
  if (!isObject(spec)) throw invalidChoice('action', action);
  return typeof spec.method === 'string' ? spec.method : defaultMethod;
}

/** The release `version` of a plugin, or its newest release when no version is given. */
export async function findRelease(
  ctx: DevContext,
  pluginCode: string,
  version?: string,
): Promise<Doc | null> {
  const where = emptyWhere();
  addCondition(where, `doc->>'plugin_code' = $?`, pluginCode);
  if (version !== undefined) addCondition(where, `doc->>'version' = $?`, version);
  return ctx.collections.plugin_releases.findOne(where);
}

export interface Run {
  pluginCode: string;
  /** `<plugin code>@<version>`: names the serve application of a deployment. */
  releaseCode: string;
  plugin: number | null;
  release: Doc | null;
  config: Record<string, unknown>;
  action: string;
  params: Record<string, unknown>;
  agent: number;
  jobId?: string;
  debug?: boolean;
  storage?: number | null;
}

export type RunOutcome = { job: Doc } | { result: unknown };

export async function runAction(ctx: DevContext, run: Run): Promise<RunOutcome> {
  const method = actionMethod(run.config, run.action);
  if (run.action === 'deployment') return { job: await deploy(ctx, run) };
  if (method === 'job') {
    const job = await startJob(ctx, jobSpec(run));
    ctx.hooks.onJobCreated?.(job);
    return { job };
  }
  return { result: await actionResult(ctx, run, method) };
}

function jobSpec(run: Run): JobSpec {
  return {
    id: run.jobId,
    action: run.action,
    plugin: run.plugin,
    plugin_release: (run.release?.id ?? null) as number | null,
    agent: run.agent,
    params: run.params,
    debug: run.debug ?? false,
    storage: run.storage ?? null,
  };
}

/**
 * A deployment job and its serve application. When this server hosts serving, the release's own
 * `deployment` action runs against its serve backend (`ServeHost`); otherwise the emulator plays it: DEPLOYING until the configured
 * delay has passed, then RUNNING with the job SUCCEEDED. No executor hook runs either way.
 */
async function deploy(ctx: DevContext, run: Run): Promise<Doc> {
  const job = await startJob(ctx, jobSpec(run));
  const replicas = run.params.num_replicas;
  const numReplicas = Number.isInteger(replicas) ? (replicas as number) : 1;
  const app = await upsertServeApp(ctx, {
    name: run.releaseCode,
    agent: run.agent,
    job: job.id,
    plugin_release: run.release?.id ?? null,
    plugin_code: run.pluginCode,
    route_prefix: releaseRoutePrefix(releaseChecksum(run.releaseCode)),
    params: run.params,
    num_replicas: numReplicas,
    status: 'DEPLOYING',
  });
  if (ctx.serveHost && run.release?.file) {
    // This server hosts serving: the release's serve deployment really runs.
    ctx.serveHost.start(run.release, app, job);
    return (await updateJob(ctx, job.id as string, statusFields('RUNNING')))!;
  }
  const finish = async () => {
    await ctx.collections.serve_applications.update(app.id, {
      status: 'RUNNING',
      modified: new Date().toISOString(),
    });
    return updateJob(ctx, job.id as string, statusFields('SUCCEEDED'));
  };
  const delay = ctx.deploymentDelayMs ?? 0;
  if (delay <= 0) return (await finish())!;
  // The server may close before the delay ends; the deployment then simply never finishes.
  setTimeout(() => finish().catch(() => {}), delay).unref();
  return job;
}

/**
 * The result of a non-job action: `inference` of a release whose serve application is RUNNING
 * goes to the serve gateway when one is configured; a fixture set for the action answers next;
 * then a published release's `task` or `restapi` action really runs (when this server runs
 * plugin code); anything else answers its canned result.
 */
async function actionResult(ctx: DevContext, run: Run, method: string): Promise<unknown> {
  if (run.action === 'inference' && ctx.serveGatewayUrl) {
    const app = await findServeApp(ctx, run.releaseCode, run.agent);
    if (app?.status === 'RUNNING') return forwardInference(ctx, run, ctx.serveGatewayUrl);
  }
  const [fixture] = await ctx.db.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [
    `run_fixture:${run.pluginCode}:${run.action}`,
  ]);
  if (fixture) return fixture.value;
  const entrypoint = run.release?.file ? actionEntrypoint(run.release, run.action) : null;
  if (ctx.taskRunner && entrypoint && (method === 'task' || method === 'restapi')) {
    return ctx.taskRunner.run(run.release as Doc, entrypoint, run.params, run.agent);
  }
  return DEFAULT_RESULTS[run.action] ?? {};
}

/**
 * A call of a RUNNING serve application (the dashboard's form): `json` to `path` of the app, the
 * model selected as `inference` runs select it, through the same forwarding.
 */
export async function callServeApplication(
  ctx: DevContext,
  app: Doc,
  call: { json: unknown; path?: string; model?: string },
): Promise<unknown> {
  const gateway = ctx.serveGatewayUrl;
  if (!gateway) throw new ApiError(400, { detail: 'This platform has no serve gateway to call.' });
  if (app.status !== 'RUNNING') {
    throw new ApiError(400, { detail: `The application is ${app.status}: only a RUNNING one answers.` });
  }
  const release =
    app.plugin_release == null ? null : await ctx.collections.plugin_releases.get(app.plugin_release);
  const run: Run = {
    pluginCode: String(app.plugin_code),
    releaseCode: String(app.name),
    plugin: null,
    release,
    config: {},
    action: 'inference',
    params: { json: call.json, path: call.path, model: call.model },
    agent: app.agent as number,
  };
  return forwardInference(ctx, run, gateway);
}

/**
 * `params.method` as the HTTP method of the call when it names one; any other value (a smart
 * tool's `auto_label` sends its own `method`, `inference` by default, plugins.md §14) leaves the
 * default, POST.
 */
function httpMethod(method: unknown): string | undefined {
  if (typeof method !== 'string') return undefined;
  return SERVE_HTTP_METHODS.includes(method.toUpperCase() as never) ? method : undefined;
}

/** A user token per run caller (by user id), issued once per server. */
async function runToken(ctx: DevContext): Promise<string> {
  const userId = await runUserId(ctx);
  const tokens = ctx.state.runTokens;
  let token = tokens.get(userId);
  if (!token) {
    token = issueToken(ctx, 'user', userId);
    token.catch(() => tokens.delete(userId));
    tokens.set(userId, token);
  }
  return token;
}

/**
 * `<method> <gateway>/<checksum><params.path or "/">` with `params.json` as body (backend-api.md
 * §10.3) through the SDK's one serve call, selecting `params.model` with the multiplexing token
 * (inference.md §5) signed with this server's URL. A gateway error answers 400 (4xx) or 500 with
 * its detail.
 */
async function forwardInference(ctx: DevContext, run: Run, gateway: string): Promise<unknown> {
  const { model, json, path, method } = run.params;
  const checksum =
    typeof run.release?.checksum === 'string' ? run.release.checksum : releaseChecksum(run.releaseCode);
  const selected = typeof model === 'number' || typeof model === 'string';
  try {
    return await callServeApp({
      gateway,
      routePrefix: releaseRoutePrefix(checksum),
      method: httpMethod(method),
      path: typeof path === 'string' && path !== '' ? path : undefined,
      json: json ?? {},
      model: selected ? { model, token: await runToken(ctx), backendUrl: ctx.publicUrl } : undefined,
    });
  } catch (err) {
    if (err instanceof ClientConnectionError) throw new ApiError(500, { detail: err.message });
    if (err instanceof ClientError && err.statusCode !== null) {
      const { detail } = err;
      const shown = isObject(detail) && 'detail' in detail ? detail.detail : detail;
      throw new ApiError(err.statusCode >= 500 ? 500 : 400, { detail: shown });
    }
    throw new ApiError(400, { detail: (err as Error).message });
  }
}
