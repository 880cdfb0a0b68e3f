/**
 * `BaseServeDeployment` (inference.md §3): the class a serve backend instantiates per replica.
 * Routes name instance methods; `getModel()` loads the model the current request selects through
 * its `serve_multiplexed_model_id` header and keeps up to `maxModelsPerReplica` of them (LRU).
 *
 * A replica is not an action run (no job, no params, no platform logger; it outlives every
 * request, and each request brings its caller's identity in the model token), so an instance gets
 * a `ServeReplicaContext`, not a `RuntimeContext`. Only the class's static side is an action: run
 * as the plugin's `inference` action, it calls the deployed app (`dispatch`, §6).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiplexTokenError, modelIdOfClaims } from 'synapse-core';
import {
  DEFAULT_MODEL_LIMITS,
  downloadAndExtractModel,
  ModelArchiveError,
} from '../archive/model-archive.ts';
import { BackendClient } from '../clients/backend/index.ts';
import type { Model } from '../clients/backend/models.ts';
import { ClientError } from '../clients/errors.ts';
import { ENV, envValue, runConnection } from '../environment.ts';
import { ACTION_MARK } from '../plugins/action.ts';
import type { RuntimeContext } from '../plugins/context.ts';
import type { PluginCategory } from '../plugins/enums.ts';
import { PluginEnvironment } from '../plugins/environment.ts';
import { RuntimeError } from '../plugins/errors.ts';
import type { BaseLogger } from '../plugins/logging/base.ts';
import { ConsoleLogger } from '../plugins/logging/console.ts';
import { inferRemote } from './infer-remote.ts';
import { decodeServeMultiplexedModelId } from './multiplex-token.ts';

export type ServeRouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ServeRoute {
  method: ServeRouteMethod;
  path: string;
  handler: string;
}

/** What a route handler receives as its second argument (plain data: it crosses processes). */
export interface ServeRequest {
  method: string;
  /** The path under the app's route prefix, starting with `/`. */
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** The request scope the serve backend opens around each handler call. */
export interface ServeRequestScope {
  multiplexedModelId: string | null;
}

const SCOPE_KEY = Symbol.for('synapse-sdk.serve-request-scope');
const DEPLOYMENT_MARK = Symbol.for('synapse-sdk.serve-deployment');

/**
 * One store per process, shared by every copy of the SDK loaded in it (a plugin may bring its own),
 * so the scope a backend opens is the one the deployment reads.
 */
function requestStorage(): AsyncLocalStorage<ServeRequestScope> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<ServeRequestScope> | undefined>;
  g[SCOPE_KEY] ??= new AsyncLocalStorage<ServeRequestScope>();
  return g[SCOPE_KEY];
}

/** Runs `fn` as the handling of one serve request. */
export function runInServeRequest<T>(scope: ServeRequestScope, fn: () => T): T {
  return requestStorage().run(scope, fn);
}

/** The multiplexed model id of the request being handled, or null. */
export function currentMultiplexedModelId(): string | null {
  return requestStorage().getStore()?.multiplexedModelId ?? null;
}

/**
 * An error a serve gateway answers with `statusCode` and `detail` instead of 500; `fields` are more
 * keys of the answer's body (e.g. `params`: the errors of each invalid field).
 */
export class ServeRequestError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    readonly detail: string = message,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ServeRequestError';
  }
}

/** True for a `BaseServeDeployment` subclass from any copy of the SDK. */
export function isServeDeploymentClass(value: unknown): value is typeof BaseServeDeployment {
  return (
    typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[DEPLOYMENT_MARK] === true
  );
}

interface CachedModel {
  model: unknown;
  dir: string;
}

async function releaseModel(entry: CachedModel): Promise<void> {
  const m = entry.model as { dispose?: () => unknown; release?: () => unknown } | null;
  try {
    if (m && typeof m.dispose === 'function') await m.dispose();
    else if (m && typeof m.release === 'function') await m.release();
  } catch {
    // A failing dispose must not break the request that caused the eviction.
  }
  await rm(entry.dir, { recursive: true, force: true }).catch(() => {});
}

/**
 * What the gateway answers when the backend would not give the token's model: its own words,
 * never the backend's text, which may quote the request (the user's token included).
 */
function modelLookupError(e: unknown, modelId: number): ServeRequestError {
  const status = e instanceof ClientError ? e.statusCode : null;
  if (status === 401)
    return new ServeRequestError('The model token carries a user token the backend does not accept', 401);
  if (status === 403)
    return new ServeRequestError(`The model token's user may not use model ${modelId}`, 403);
  if (status === 404) return new ServeRequestError(`Model ${modelId} not found`, 404);
  const what = status === null ? 'could not be reached' : `answered HTTP ${status}`;
  return new ServeRequestError(`Model ${modelId} could not be loaded: the backend ${what}`, 502);
}

/** What a serve replica has (see the module comment for why it is not a `RuntimeContext`). */
export interface ServeReplicaContext {
  /** The replica's environment: its process's, which the serve backend started it with. */
  readonly env: PluginEnvironment;
  /** The replica's own messages. */
  readonly logger: BaseLogger;
  /**
   * A client of the backend, when the environment names a run's user token (and a host, else the
   * replica's backend URL); null otherwise. The models a request selects are fetched with the
   * model token's own user token instead, so that each caller's access to the model applies.
   */
  readonly client: BackendClient | null;
  /**
   * Where the replica keeps the models it downloads. A replica process started by the local serve
   * backend gets a folder of its own that the backend removes when the process exits: a replica
   * that crashed or was killed cannot clean up after itself.
   */
  readonly scratchDir: string;
}

/**
 * The context of a replica in this process, from `source` (default: the process environment).
 * The logger writes to stderr: a replica hosted in a job's process must not write to the stdout
 * that carries the job's output.
 */
export function serveReplicaContext(
  backendUrl: string,
  source: Readonly<Record<string, string | undefined>> = process.env,
): ServeReplicaContext {
  const { host, userToken, tenant } = runConnection(source);
  const url = host ?? backendUrl;
  const vars = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined));
  return {
    env: new PluginEnvironment(vars),
    logger: new ConsoleLogger({ stream: process.stderr }),
    client: userToken && url ? new BackendClient(url, { authorizationToken: userToken, tenant }) : null,
    scratchDir: envValue(source, ENV.serveScratchDir) ?? tmpdir(),
  };
}

export abstract class BaseServeDeployment {
  static readonly [ACTION_MARK] = true;
  static readonly [DEPLOYMENT_MARK] = true;
  /** The plugin action the class stands for when run as an action (the `inference` action, §6). */
  static actionName = 'inference';
  static category: PluginCategory = 'neural_net';
  static routes: ServeRoute[] = [{ method: 'POST', path: '/', handler: 'infer' }];
  static maxModelsPerReplica = 3;

  readonly backendUrl: string;
  readonly context: ServeReplicaContext;
  /** A context made here is closed with the replica; one given by the host is the host's to close. */
  readonly #ownsContext: boolean;
  #maxModels: number;
  /** Insertion order = recency: the first key is the least recently used. */
  readonly #cache = new Map<string, CachedModel>();
  readonly #loading = new Map<string, Promise<unknown>>();

  /**
   * Serve backends construct a replica with the app's `initArgs` (`[backendUrl]`), so a subclass
   * constructor that forwards only `backendUrl` keeps working; the context then comes from the
   * replica's process environment.
   */
  constructor(backendUrl: string, context?: ServeReplicaContext) {
    this.backendUrl = backendUrl;
    this.#ownsContext = context === undefined;
    this.context = context ?? serveReplicaContext(backendUrl);
    this.#maxModels = (this.constructor as typeof BaseServeDeployment).maxModelsPerReplica;
  }

  get env(): PluginEnvironment {
    return this.context.env;
  }

  get logger(): BaseLogger {
    return this.context.logger;
  }

  /** The context's backend client; throws when the replica's environment names none. */
  get client(): BackendClient {
    if (!this.context.client)
      throw new RuntimeError('No backend client in this replica: its environment names no run user token.');
    return this.context.client;
  }

  /** Overrides the class's `maxModelsPerReplica` for this instance (serve `--max-models-per-replica`). */
  setMaxModelsPerReplica(n: number): void {
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`maxModelsPerReplica must be an integer >= 1, got ${n}`);
    this.#maxModels = n;
  }

  /** Keys of the models loaded in this replica, least recently used first. */
  get loadedModelIds(): string[] {
    return [...this.#cache.keys()];
  }

  /** The model for the current request (§3 `getModel()`). */
  async getModel(): Promise<unknown> {
    const key = currentMultiplexedModelId();
    if (!key) throw new ServeRequestError('No serve_multiplexed_model_id in request', 400);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit.model;
    }
    let pending = this.#loading.get(key);
    if (!pending) {
      pending = this.#load(key).finally(() => this.#loading.delete(key));
      this.#loading.set(key, pending);
    }
    return pending;
  }

  async #load(key: string): Promise<unknown> {
    let claims: ReturnType<typeof decodeServeMultiplexedModelId>;
    try {
      claims = decodeServeMultiplexedModelId(key, this.backendUrl);
    } catch (e) {
      const message =
        e instanceof MultiplexTokenError ? e.message : `Invalid model token: ${(e as Error).message}`;
      throw new ServeRequestError(message, 401, 'Invalid model token');
    }
    let modelId: number;
    try {
      modelId = modelIdOfClaims(claims);
    } catch (e) {
      // Signed by this backend yet naming no model: the detail says which rule it broke.
      throw new ServeRequestError((e as Error).message, 401);
    }
    const client = new BackendClient(this.backendUrl, {
      authorizationToken: claims.token,
      tenant: claims.tenant,
    });
    let model: Model;
    try {
      model = await client.getModel(modelId);
    } catch (e) {
      throw modelLookupError(e, modelId);
    } finally {
      await client.close();
    }
    if (!model.file) throw new Error(`Model ${modelId} has no file URL`);
    const dir = await mkdtemp(join(this.context.scratchDir, 'synapse_model_'));
    let loaded: unknown;
    try {
      let path: string;
      try {
        path = await downloadAndExtractModel(model.file, dir, DEFAULT_MODEL_LIMITS);
      } catch (e) {
        // The archive's own messages name the rule and strip the URL's credentials.
        const reason = e instanceof ModelArchiveError ? e.message : 'the download failed';
        throw new ServeRequestError(`Model ${modelId} could not be loaded: ${reason}`, 502);
      }
      loaded = await this._getModel({ ...model, path });
    } catch (e) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
    this.#cache.set(key, { model: loaded, dir });
    const evicted: CachedModel[] = [];
    while (this.#cache.size > this.#maxModels) {
      const oldest = this.#cache.keys().next().value as string;
      evicted.push(this.#cache.get(oldest) as CachedModel);
      this.#cache.delete(oldest);
    }
    await Promise.all(evicted.map(releaseModel));
    return loaded;
  }

  /** Releases every loaded model (called by the serve backend when the replica stops), and the context it made. */
  async disposeModels(): Promise<void> {
    const entries = [...this.#cache.values()];
    this.#cache.clear();
    await Promise.all(entries.map(releaseModel));
    if (this.#ownsContext) await this.context.client?.close();
  }

  /** Loads the framework model from the extracted artifact at `modelInfo.path`. */
  protected async _getModel(_modelInfo: Model & { path: string }): Promise<unknown> {
    throw new Error('Override _getModel() to load your model format.');
  }

  /** The default route's handler: `(body, request)`. */
  async infer(..._args: unknown[]): Promise<unknown> {
    throw new Error('Override infer() to implement inference logic.');
  }

  /** Calls the deployed app of this plugin (§6). */
  static inferRemote(params: unknown, ctx: RuntimeContext): Promise<unknown> {
    return inferRemote(params, ctx);
  }

  /** Running the action of a serve deployment = calling the deployed app. */
  static dispatch(params: unknown, ctx: RuntimeContext): Promise<unknown> {
    return inferRemote(params, ctx);
  }
}

/** A route handler's outcome as a gateway answers it. */
export interface ServeResponse {
  status: number;
  body: unknown;
}

/** The status and `{detail}` body for an error thrown while handling a request (§3). */
function serveErrorResponse(e: unknown): ServeResponse {
  const err = e as {
    name?: unknown;
    statusCode?: unknown;
    detail?: unknown;
    message?: unknown;
    fields?: unknown;
  } | null;
  if (err && err.name === 'ServeRequestError' && typeof err.statusCode === 'number') {
    const detail = typeof err.detail === 'string' ? err.detail : String(err.message);
    const fields = err.fields !== null && typeof err.fields === 'object' ? err.fields : {};
    return { status: err.statusCode, body: { ...fields, detail } };
  }
  const detail = err && typeof err.message === 'string' ? err.message : String(e);
  return { status: 500, body: { detail } };
}

/**
 * Calls route handler `handler` of `instance` with `(body, request)` inside the request scope;
 * errors become their response (never throws).
 */
export async function invokeServeHandler(
  instance: BaseServeDeployment,
  handler: string,
  body: unknown,
  request: ServeRequest,
  multiplexedModelId: string | null,
): Promise<ServeResponse> {
  const fn = (instance as unknown as Record<string, unknown>)[handler];
  if (typeof fn !== 'function') {
    return { status: 500, body: { detail: `Handler ${handler}() is not a method of the deployment` } };
  }
  try {
    const value = await runInServeRequest({ multiplexedModelId }, () => fn.call(instance, body, request));
    return { status: 200, body: value ?? null };
  } catch (e) {
    return serveErrorResponse(e);
  }
}
