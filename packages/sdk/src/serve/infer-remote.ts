/**
 * `inferRemote` (inference.md §6): the `inference` action of a plugin whose entrypoint is a serve
 * deployment does not run the model itself; it forwards the request to the deployed app through
 * the serve gateway, selecting the model with the multiplexing token (§5).
 *
 * It lives in serve/, beside `callServeApp`, because a `BaseServeDeployment` class run as an
 * action dispatches here; `actions/inference` re-exports it (serve/ must not import actions/).
 */
import { releaseChecksum, releaseCode, releaseRoutePrefix } from 'synapse-core';
import { backendUrlOf, ENV, envValue, serveAddress } from '../environment.ts';
import { deriveCode } from '../plugins/config.ts';
import type { RuntimeContext } from '../plugins/context.ts';
import type { PluginEnvironment } from '../plugins/environment.ts';
import { PluginValidationError, RuntimeError } from '../plugins/errors.ts';
import { readWorkingConfig } from '../plugins/working-config.ts';
import { callServeApp, SERVE_HTTP_METHODS, type ServeModelSelection } from './call.ts';

export interface InferRemoteParams {
  /** Model id for multiplexing. */
  model?: number | string;
  /** HTTP method, any case; default `post`. */
  method?: string;
  /** Request body sent to the serve endpoint. */
  json: Record<string, unknown>;
  /** Path under the app's route prefix; default `/`. */
  path?: string;
}

export { SERVE_TIMEOUT } from './call.ts';

export const NO_APP_NAME_MESSAGE =
  'Cannot determine serve app name. Set SYNAPSE_PLUGIN_RELEASE_CODE env var or ensure config.yaml exists in working directory.';

/** `<code>@<version>` of `./config.yaml` (code derived from the name when absent), or null. */
export function releaseCodeFromConfig(dir: string = process.cwd()): string | null {
  const config = readWorkingConfig(dir);
  const { code, name, version } = config;
  const pluginCode =
    typeof code === 'string' && code.trim() !== ''
      ? code.trim()
      : typeof name === 'string'
        ? deriveCode(name)
        : '';
  const pluginVersion = typeof version === 'string' || typeof version === 'number' ? String(version) : '';
  if (!pluginCode || !pluginVersion.trim()) return null;
  return releaseCode(pluginCode, pluginVersion.trim());
}

/** The serve app name: env `SYNAPSE_PLUGIN_RELEASE_CODE`, else `<code>@<version>` of `./config.yaml`. */
export function defaultServeAppName(env: PluginEnvironment, dir?: string): string {
  const name = envValue(env, ENV.releaseCode) ?? releaseCodeFromConfig(dir);
  if (!name) throw new RuntimeError(NO_APP_NAME_MESSAGE);
  return name;
}

/** `/<SYNAPSE_PLUGIN_RELEASE_CHECKSUM>`, else `/<checksum of the serve app name>`. */
export function serveRoutePrefix(env: PluginEnvironment, appName: () => string): string {
  return releaseRoutePrefix(envValue(env, ENV.releaseChecksum) ?? releaseChecksum(appName()));
}

function invalid(field: string, message: string): PluginValidationError {
  return new PluginValidationError(`Parameter validation failed: ${field}: ${message}`, {
    params: { [field]: [message] },
  });
}

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the params (§6 table); `json` is required and must be an object. */
export function validateInferRemoteParams(raw: unknown): InferRemoteParams {
  const params = isDict(raw) ? raw : {};
  if (!isDict(params.json)) throw invalid('json', 'Input should be a valid dictionary');
  const { model, method, path } = params;
  if (model !== undefined && model !== null && typeof model !== 'number' && typeof model !== 'string') {
    throw invalid('model', 'Input should be a valid integer');
  }
  if (method !== undefined && method !== null) {
    if (typeof method !== 'string') throw invalid('method', 'Input should be a valid string');
    if (!SERVE_HTTP_METHODS.some((m) => m === method.toUpperCase())) {
      throw invalid('method', `Input should be one of ${SERVE_HTTP_METHODS.join(', ')}`);
    }
  }
  if (path !== undefined && path !== null && typeof path !== 'string') {
    throw invalid('path', 'Input should be a valid string');
  }
  const result: InferRemoteParams = { json: params.json };
  if (model !== undefined && model !== null) result.model = model as number | string;
  if (typeof method === 'string') result.method = method;
  if (typeof path === 'string') result.path = path;
  return result;
}

/** The model selection for the multiplexing token: the run's user token, tenant and backend URL. */
function modelSelection(model: number | string, env: PluginEnvironment): ServeModelSelection {
  const token = envValue(env, ENV.runUserToken) ?? envValue(env, ENV.accessToken);
  if (!token) {
    throw new RuntimeError(
      'No user token available for model multiplexing. Set SYNAPSE_PLUGIN_RUN_USER_TOKEN or SYNAPSE_ACCESS_TOKEN.',
    );
  }
  const backendUrl = backendUrlOf(env) ?? '';
  const tenant = envValue(env, ENV.runTenant);
  return { model, token, backendUrl, ...(tenant ? { tenant } : {}) };
}

/** Sends the inference request to the deployed serve app and returns its answer (§6). */
export async function inferRemote(rawParams: unknown, ctx: RuntimeContext): Promise<unknown> {
  const params = validateInferRemoteParams(rawParams);
  const env = ctx.env;
  return callServeApp({
    gateway: serveAddress(env),
    routePrefix: serveRoutePrefix(env, () => defaultServeAppName(env)),
    method: params.method,
    path: params.path,
    json: params.json,
    model: params.model === undefined ? undefined : modelSelection(params.model, env),
  });
}
