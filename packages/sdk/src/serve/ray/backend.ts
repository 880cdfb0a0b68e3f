/**
 * `RayServeBackend` (inference.md §2.2): serve apps on Ray Serve, deployed through the dashboard's
 * Serve REST API. The plugin's files and a small Python ingress (`ingress.py`) are the app's
 * working directory; each Ray Serve replica runs the deployment class in a Node process with the
 * SDK's serve worker. Ray places the replicas, applies `num_replicas` and the actor options, and
 * routes multiplexed models.
 *
 * Same assumption as Ray jobs (executors/ray/job.ts): Node and the SDK sit at the same paths on
 * the cluster's nodes as here.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentServeApplication } from '../../clients/agent/index.ts';
import { serveAddress } from '../../environment.ts';
import { defaultDashboardUrl, RayClient, type RayServeDetails } from '../../ray/client.ts';
import { assertFits, packageWorkingDir, sdkNodeModules, uploadWorkingDir } from '../../ray/package.ts';
import { sdkModuleFile, TYPESCRIPT_NODE_OPTIONS } from '../../runtime.ts';
import type { ServeApp, ServeBackend } from '../backend.ts';

const INGRESS_FILE = fileURLToPath(new URL('./ingress.py', import.meta.url));
const WORKER_FILE = sdkModuleFile('../worker', import.meta.url);
/** The ingress's module name in the working directory; unlikely to meet a plugin's own file. */
const INGRESS_MODULE = 'synapse_serve_ingress';
const POLL_MS = 500;

export interface RayServeBackendOptions {
  /** The Ray dashboard; default `RAY_DASHBOARD_URL`, else `http://localhost:8265`. */
  dashboardAddress?: string;
  /** Where Ray Serve's HTTP proxy listens; default `RAY_SERVE_ADDRESS`, else `http://localhost:8100`. */
  address?: string;
  /** How long an app may take to turn RUNNING (default 5 min): replicas Ray cannot place wait forever. */
  deployTimeoutMs?: number;
}

/** The plugin directory: the nearest folder above the module with a config file. */
function pluginDirOf(modulePath: string): string {
  for (let d = dirname(modulePath); ; d = dirname(d)) {
    if (existsSync(join(d, 'config.yaml')) || existsSync(join(d, 'synapse.yaml'))) return d;
    if (dirname(d) === d) return dirname(modulePath);
  }
}

/** Per replica: the resources of the actor options Ray knows (`num_cpus` defaults to 1 in Serve). */
function rayActorOptions(options: Record<string, unknown>): Record<string, number> {
  const picked: Record<string, number> = {};
  for (const key of ['num_cpus', 'num_gpus', 'memory']) {
    const value = Number(options[key]);
    if (options[key] !== undefined && Number.isFinite(value) && value >= 0) picked[key] = value;
  }
  return picked;
}

export class RayServeBackend implements ServeBackend {
  readonly #client: RayClient;
  readonly #address: URL;
  readonly #deployTimeoutMs: number;
  /** The apps this backend deployed, deleted by `close()`. */
  readonly #apps = new Set<string>();
  /**
   * Serve's config names the whole set of apps: each change reads the set, then PUTs it back.
   * Changes take turns on this chain, or concurrent deploys would drop each other's apps.
   */
  #changes: Promise<unknown> = Promise.resolve();

  constructor(options: RayServeBackendOptions = {}) {
    this.#client = new RayClient(options.dashboardAddress ?? defaultDashboardUrl());
    this.#address = new URL(options.address ?? serveAddress(process.env));
    this.#deployTimeoutMs = options.deployTimeoutMs ?? 300_000;
  }

  /** Ray Serve's HTTP address, where the apps answer under their route prefix. */
  get url(): string {
    return this.#address.origin;
  }

  /** Checks that the dashboard answers; Serve itself starts with the first app. */
  async init(_options?: Record<string, unknown>): Promise<void> {
    await this.#client.version();
  }

  async run(app: ServeApp): Promise<void> {
    if (!app.modulePath)
      throw new Error(
        'Ray Serve runs deployments from files: the deployment class needs a plugin config entry',
      );
    const actorOptions = rayActorOptions(app.actorOptions);
    const replicas = Math.max(1, Math.trunc(Number(app.serveOptions.num_replicas ?? 1)) || 1);
    assertFits(await this.#client.nodeResources(), {
      CPU: actorOptions.num_cpus ?? 1,
      GPU: actorOptions.num_gpus ?? 0,
      memory: actorOptions.memory ?? 0,
    });
    const pluginDir = pluginDirOf(app.modulePath);
    const ingress = await readFile(INGRESS_FILE, 'utf8');
    const pkg = await packageWorkingDir(pluginDir, { [`${INGRESS_MODULE}.py`]: ingress });
    const config = {
      name: app.name,
      route_prefix: app.routePrefix,
      import_path: `${INGRESS_MODULE}:app`,
      runtime_env: { working_dir: await uploadWorkingDir(this.#client, pkg) },
      args: {
        command: [process.execPath, ...TYPESCRIPT_NODE_OPTIONS, WORKER_FILE],
        module_path: relative(pluginDir, app.modulePath),
        export_name: app.exportName ?? app.deployment.name,
        init_args: app.initArgs,
        routes: app.deployment.routes,
        max_models: maxModelsPerReplica(app),
        node_modules: sdkNodeModules(pluginDir),
      },
      deployments: [{ name: 'TypeScriptReplica', num_replicas: replicas, ray_actor_options: actorOptions }],
    };
    this.#apps.add(app.name);
    await this.#change(async () => this.#deploy([...(await this.#otherConfigs(app.name)), config]));
    await this.#waitFor(app.name, (status) => status !== 'DEPLOYING' && status !== 'NOT_STARTED');
    const deployed = await this.status(app.name);
    if (deployed?.status !== 'RUNNING')
      throw new Error(
        `Serve app ${app.name} failed to deploy: ${
          deployed ? deployed.message || deployed.status : 'it is no longer deployed'
        }`,
      );
  }

  async delete(name: string): Promise<void> {
    this.#apps.delete(name);
    const deleting = await this.#change(async () => {
      const details = await this.#client.getServeApplications();
      if (!details.applications[name]) return false;
      await this.#deploy(await this.#otherConfigs(name));
      return true;
    });
    if (deleting) await this.#waitFor(name, (status) => status === null);
  }

  async status(name: string): Promise<AgentServeApplication | null> {
    const app = (await this.#client.getServeApplications()).applications[name];
    if (!app) return null;
    return {
      name,
      status: app.status,
      route_prefix: app.route_prefix,
      message: app.message,
      last_deployed_time_s: app.last_deployed_time_s,
      docs_path: null,
      deployments: Object.entries(app.deployments).map(([deployment, d]) => ({
        name: deployment,
        status: d.status,
        message: d.message,
        replica_states: countStates(d.replicas),
      })),
    };
  }

  /** Deletes the apps this backend deployed; the cluster and Serve keep running. */
  async close(): Promise<void> {
    for (const name of [...this.#apps]) await this.delete(name);
  }

  /** Runs `change` (a read of the app set, then its PUT) once the changes before it are done. */
  #change<T>(change: () => Promise<T>): Promise<T> {
    const next = this.#changes.then(change, change);
    this.#changes = next.catch(() => {});
    return next;
  }

  /** Every other app as deployed: Serve's config names the whole set of apps. */
  async #otherConfigs(name: string): Promise<Record<string, unknown>[]> {
    const details: RayServeDetails = await this.#client.getServeApplications();
    return Object.values(details.applications)
      .filter((a) => a.name !== name && a.deployed_app_config)
      .map((a) => a.deployed_app_config as Record<string, unknown>);
  }

  #deploy(applications: Record<string, unknown>[]): Promise<void> {
    const http_options = { host: this.#address.hostname, port: Number(this.#address.port || 80) };
    return this.#client.putServeApplications({ http_options, applications });
  }

  async #waitFor(name: string, done: (status: string | null) => boolean): Promise<void> {
    const deadline = Date.now() + this.#deployTimeoutMs;
    for (;;) {
      const app = (await this.#client.getServeApplications()).applications[name];
      if (done(app?.status ?? null)) return;
      if (Date.now() > deadline)
        throw new Error(
          `Serve app ${name} is still ${app?.status}: the cluster may lack the resources it asks for`,
        );
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}

/** The models a replica keeps: `max_models_per_replica`, else the class's `maxModelsPerReplica`. */
function maxModelsPerReplica(app: ServeApp): number {
  const max = Math.trunc(
    Number(app.serveOptions.max_models_per_replica) || app.deployment.maxModelsPerReplica,
  );
  return Number.isFinite(max) && max >= 1 ? max : 3;
}

function countStates(replicas: unknown[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const replica of replicas as Array<{ state?: string }>) {
    const state = replica.state ?? 'UNKNOWN';
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
