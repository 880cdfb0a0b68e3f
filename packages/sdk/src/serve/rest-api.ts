/**
 * `restapi` actions served over HTTP (plugins.md §2.2): each action of a plugin whose method is
 * `restapi` answers `POST <route prefix>/<action>` on a serve gateway. The request body is the
 * action's params: its params schema validates each request (400 `{detail, params: {<field>:
 * [<message>]}}` when it refuses one) and the action's result is the answer. The actions run in
 * the serve runtime's replicas (worker processes), as a deployment's handlers do, so `synapse
 * serve` and a platform host them the same way.
 */
import { dispatchAction } from '../plugins/action.ts';
import { RuntimeContext } from '../plugins/context.ts';
import { loadEntrypoint } from '../plugins/entrypoint.ts';
import { ConsoleLogger } from '../plugins/logging/console.ts';
import { sdkModuleFile } from '../runtime.ts';
import { BaseServeDeployment, type ServeRequest, ServeRequestError, type ServeRoute } from './deployment.ts';

/** The file a replica process imports `RestApiDeployment` from. */
export const REST_API_MODULE = sdkModuleFile('./rest-api', import.meta.url);

/** What a replica serves: the plugin's folder and its `restapi` actions' entrypoints by name. */
export interface RestApiPlugin {
  dir: string;
  actions: Record<string, string>;
}

/** The names of the actions a plugin config runs with `method: restapi`. */
export function restApiActions(config: {
  actions: Record<string, { method?: unknown; entrypoint?: unknown }>;
}): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [name, action] of Object.entries(config.actions)) {
    if (action.method === 'restapi' && typeof action.entrypoint === 'string') found[name] = action.entrypoint;
  }
  return found;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export class RestApiDeployment extends BaseServeDeployment {
  static override routes: ServeRoute[] = [];
  readonly plugin: RestApiPlugin;
  readonly #loaded = new Map<string, Promise<unknown>>();

  /** Serve backends construct a replica with the app's `initArgs`: `[backendUrl, plugin]`. */
  constructor(backendUrl: string, plugin: RestApiPlugin) {
    super(backendUrl);
    this.plugin = plugin;
  }

  /** Every route's handler: the action the path names, run with the body as its params. */
  async callAction(body: unknown, request: ServeRequest): Promise<unknown> {
    const name = request.path.replace(/^\/+|\/+$/g, '');
    const entrypoint = this.plugin.actions[name];
    if (!entrypoint) throw new ServeRequestError(`No restapi action '${name}'`, 404);
    const params = body ?? {};
    if (!isPlainObject(params)) {
      throw new ServeRequestError(
        `The request body must be a JSON object of the action's params, got ${Array.isArray(params) ? 'a list' : typeof params}`,
        400,
      );
    }
    const action = await this.#load(entrypoint);
    // A request is one run: its own logger (stderr, as the replica's), no job.
    const ctx = new RuntimeContext({
      env: this.env,
      client: this.context.client,
      logger: new ConsoleLogger({ stream: process.stderr }),
      actionName: name,
    });
    try {
      return await dispatchAction(action, params, ctx);
    } catch (err) {
      const e = err as Error & { details?: Record<string, unknown> };
      if (e?.name === 'PluginValidationError') {
        const fields = isPlainObject(e.details?.params) ? e.details.params : {};
        throw new ServeRequestError(e.message, 400, e.message, { params: fields });
      }
      throw err;
    } finally {
      await ctx.logger.finish();
    }
  }

  #load(entrypoint: string): Promise<unknown> {
    let loaded = this.#loaded.get(entrypoint);
    if (!loaded) {
      loaded = loadEntrypoint(entrypoint, this.plugin.dir);
      // A failed import is tried again on the next request.
      loaded.catch(() => this.#loaded.delete(entrypoint));
      this.#loaded.set(entrypoint, loaded);
    }
    return loaded;
  }
}

/** The deployment class of a plugin's `restapi` actions: one `POST /<action>` route each. */
export function restApiDeployment(actions: Record<string, string>): typeof RestApiDeployment {
  return class extends RestApiDeployment {
    static override routes: ServeRoute[] = Object.keys(actions).map((name) => ({
      method: 'POST',
      path: `/${name}`,
      handler: 'callAction',
    }));
  };
}
