/**
 * Serve deployments (inference.md §2): `BaseDeploymentAction` deploys its `entrypoint`, a
 * `BaseServeDeployment` subclass, through the serve backend, behind the capacity gate (§7), and
 * registers the running app with the backend. `DeploymentContext` is its step-mode state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../../clients/backend/models.ts';
import type { ServeApplicationStatus } from '../../clients/backend/serve-applications.ts';
import { backendUrlOf, ENV, envValue } from '../../environment.ts';
import { BaseAction } from '../../plugins/action.ts';
import { mergePackageManagerOptions } from '../../plugins/config.ts';
import { resolveEntrypoint, splitEntrypoint } from '../../plugins/entrypoint.ts';
import type { PluginCategory } from '../../plugins/enums.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import { BaseStepContext, type StepRuntimeContext } from '../../plugins/steps/index.ts';
import { readWorkingConfig } from '../../plugins/working-config.ts';
import { type ServeBackend, serveBackendOf } from '../../serve/backend.ts';
import type { BaseServeDeployment } from '../../serve/deployment.ts';
import { defaultServeAppName, serveRoutePrefix } from '../../serve/infer-remote.ts';
import { checkServeCapacity } from './capacity-gate.ts';

export const DEPLOYMENT_PROGRESS = {
  INITIALIZE: 'initialize',
  DEPLOY: 'deploy',
  REGISTER: 'register',
} as const;

export const NO_ENTRYPOINT_MESSAGE =
  'entrypoint must be set to a serve deployment class. Example: static entrypoint = MyServeDeployment';

/** The state shared by the steps of a step-mode deployment. */
export class DeploymentContext extends BaseStepContext {
  params: Record<string, unknown>;
  modelId: number | null = null;
  model: Model | null = null;
  modelPath: string | null = null;
  serveAppName: string | null = null;
  serveAppId: number | null = null;
  routePrefix: string | null = null;
  rayActorOptions: Record<string, unknown> = {};
  deployed = false;

  constructor(runtimeCtx: StepRuntimeContext, params: Record<string, unknown> = {}) {
    super(runtimeCtx);
    this.params = params;
  }
}

/** A number param that is present and > 0, else undefined. */
function positive(value: unknown): number | undefined {
  if (value === undefined || value === null || typeof value === 'boolean') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Splits an installer option line like a POSIX shell: whitespace, quotes and backslashes. */
function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string))
        word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`No closing quotation in requirements line: ${line}`);
  if (inWord) words.push(word);
  return words;
}

/** Packages and installer options of a `requirements.txt` (plugins.md §10.6). */
export function parseRequirements(text: string): { packages: string[]; options: string[] } {
  const packages: string[] = [];
  const options: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('-')) options.push(...shellSplit(line));
    else packages.push(line);
  }
  return { packages, options };
}

export abstract class BaseDeploymentAction<
  P = Record<string, unknown>,
  R = unknown,
  C extends DeploymentContext = DeploymentContext,
> extends BaseAction<P, R, C> {
  static override category: PluginCategory = 'neural_net';
  /** The serve deployment class this action deploys. */
  static entrypoint: typeof BaseServeDeployment | null = null;
  readonly progress = DEPLOYMENT_PROGRESS;

  #serveInitialized = false;

  /**
   * Where `./config.yaml` and `./requirements.txt` are read: the plugin's directory the run was
   * given (a deployment the local platform hosts in its own process), else the working directory.
   */
  protected get workingDir(): string {
    return this.ctx.workingDir ?? process.cwd();
  }

  /** The backend the app runs on: the one the run was given (the local platform's), else the process's. */
  protected get serveBackend(): ServeBackend {
    return serveBackendOf(this.ctx.serveBackend);
  }

  protected get paramsRecord(): Record<string, unknown> {
    const params = this.params as unknown;
    return typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
  }

  getServeAppName(): string {
    return defaultServeAppName(this.ctx.env, this.workingDir);
  }

  getRoutePrefix(): string {
    return serveRoutePrefix(this.ctx.env, () => this.getServeAppName());
  }

  /** The packages of `./requirements.txt` for the serve runtime (§2.1); `{}` without any. */
  getRuntimeEnv(): Record<string, unknown> {
    const file = join(this.workingDir, 'requirements.txt');
    if (!existsSync(file)) return {};
    const { packages, options } = parseRequirements(readFileSync(file, 'utf8'));
    if (packages.length === 0) return {};
    const config = readWorkingConfig(this.workingDir);
    const packageManager = config.package_manager === 'uv' ? 'uv' : 'pip';
    const configOptions = Array.isArray(config.package_manager_options)
      ? config.package_manager_options.map(String)
      : [];
    const installerOptions = mergePackageManagerOptions(
      packageManager,
      [...configOptions, ...options],
      (message) => this.ctx.logger.warning(message),
    );
    if (packageManager === 'uv') return { uv: { packages, uv_pip_install_options: installerOptions } };
    return { pip: { packages } };
  }

  getRayActorOptions(): Record<string, unknown> {
    const options: Record<string, unknown> = { runtime_env: this.getRuntimeEnv() };
    for (const key of ['num_cpus', 'num_gpus', 'memory']) {
      const value = this.paramsRecord[key];
      if (positive(value) !== undefined) options[key] = value;
    }
    return options;
  }

  getServeOptions(): Record<string, unknown> {
    const replicas = this.paramsRecord.num_replicas;
    return positive(replicas) === undefined ? {} : { num_replicas: replicas };
  }

  /** Initialises the serve backend once. */
  async rayInit(options?: Record<string, unknown>): Promise<void> {
    if (this.#serveInitialized) return;
    await this.serveBackend.init(options);
    this.#serveInitialized = true;
  }

  /** The capacity gate (§7) for this deployment. */
  protected checkServeCapacity(
    rayActorOptions: Record<string, unknown>,
    serveOptions: Record<string, unknown>,
  ): Promise<void> {
    return checkServeCapacity(rayActorOptions, serveOptions, {
      agentClient: this.ctx.agentClient,
      pluginCode: this.getServeAppName(),
      agentId: envValue(this.ctx.env, ENV.agentId) ?? '',
      logger: this.ctx.logger,
    });
  }

  /**
   * The deployment of spec §2.3's simple mode, so a plugin that only names its `entrypoint` has a
   * working `deployment` action: initialise, deploy behind the capacity gate, register the app.
   * Override it (or register steps) to do more.
   */
  override async execute(): Promise<R> {
    await this.rayInit();
    this.setProgress(1, 3, this.progress.INITIALIZE);
    await this.deploy();
    this.setProgress(2, 3, this.progress.DEPLOY);
    const id = await this.registerServeApplication();
    this.setProgress(3, 3, this.progress.REGISTER);
    return { serve_application: id } as R;
  }

  /** Deploys `entrypoint` (§2.3): the capacity gate first, nothing torn down when it fails. */
  async deploy(): Promise<void> {
    const entrypoint = (this.constructor as typeof BaseDeploymentAction).entrypoint;
    if (!entrypoint) throw new RuntimeError(NO_ENTRYPOINT_MESSAGE);
    await this.rayInit();
    const appName = this.getServeAppName();
    const routePrefix = this.getRoutePrefix();
    const actorOptions = this.getRayActorOptions();
    const serveOptions = this.getServeOptions();
    const env = this.ctx.env;
    const backendUrl = backendUrlOf(env) ?? '';

    await this.checkServeCapacity(actorOptions, serveOptions);

    const backend = this.serveBackend;
    await backend.delete(appName).catch(() => {});
    await backend.run({
      name: appName,
      routePrefix,
      deployment: entrypoint,
      initArgs: [backendUrl],
      actorOptions,
      serveOptions,
      ...this.locateDeployment(entrypoint),
    });
  }

  /**
   * The module file of the deployment class, found through the config action whose entrypoint
   * names it, so the backend can start replicas as worker processes. Without one, replicas run
   * in this process.
   */
  protected locateDeployment(entrypoint: typeof BaseServeDeployment): {
    modulePath?: string;
    exportName?: string;
  } {
    const actions = readWorkingConfig(this.workingDir).actions;
    if (!actions || typeof actions !== 'object') return {};
    for (const action of Object.values(actions as Record<string, { entrypoint?: unknown }>)) {
      if (typeof action?.entrypoint !== 'string') continue;
      const { exportName } = splitEntrypoint(action.entrypoint);
      if (exportName !== entrypoint.name) continue;
      try {
        return { modulePath: resolveEntrypoint(action.entrypoint, this.workingDir).file, exportName };
      } catch {
        return {};
      }
    }
    return {};
  }

  /** Reports the running app to the backend; its id, or null without a job or agent (§2.3). */
  async registerServeApplication(): Promise<number | null> {
    const { jobId, agentClient } = this.ctx;
    if (!jobId || !agentClient) return null;
    const appName = this.getServeAppName();
    let app: Awaited<ReturnType<typeof agentClient.getServeApplication>>;
    try {
      app = await agentClient.getServeApplication(appName);
    } catch {
      return null;
    }
    const res = await this.client.createServeApplication({
      job: jobId,
      status: app.status as ServeApplicationStatus,
      data: app,
    });
    return res.id;
  }

  override createContext(): C {
    return new DeploymentContext(this.ctx, this.paramsRecord) as C;
  }

  protected override getStepResultExtras(context: C): Record<string, unknown> {
    const extras: Record<string, unknown> = {};
    if (context.serveAppId !== null && context.serveAppId !== undefined) {
      extras.serve_application = context.serveAppId;
    }
    extras.deployed = context.deployed;
    return extras;
  }
}
