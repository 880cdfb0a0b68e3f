/**
 * The agent's serve runtime: a `deployment` run of a published release serves the release's serve
 * deployment on a gateway in this server, with worker-process replicas, so `inference` runs reach it.
 * Started with a Ray address, the devserver hands deployments to Ray Serve, as the platform's agent does.
 */
import {
  AgentClient,
  checkServeCapacity,
  isServeDeploymentClass,
  type LocalServeBackend,
  loadEntrypoint,
  NoOpLogger,
  type RayServeBackend,
  resolveEntrypoint,
} from 'synapse-sdk';
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { statusFields, updateJob } from '../jobs.ts';
import { isObject } from '../validate.ts';
import { extractRelease } from './job-runner.ts';

/** The entrypoint of the release's serve action: `inference` first, else any `serve` action. */
function serveEntrypoint(release: Doc): string | null {
  const actions = isObject(release.config) && isObject(release.config.actions) ? release.config.actions : {};
  const entries = Object.entries(actions).filter(([, a]) => isObject(a) && a.method === 'serve');
  const chosen = entries.find(([name]) => name === 'inference') ?? entries[0];
  const entrypoint = chosen && isObject(chosen[1]) ? chosen[1].entrypoint : null;
  return typeof entrypoint === 'string' ? entrypoint : null;
}

export class ServeHost {
  constructor(
    private readonly ctx: DevContext,
    readonly backend: LocalServeBackend | RayServeBackend,
  ) {}

  /** Deploys in the background; the app ends RUNNING or DEPLOY_FAILED, and its job SUCCEEDED or FAILED. */
  start(release: Doc, app: Doc, job: Doc, replicas: number): void {
    void this.#checkCapacity(app, job, replicas)
      .then(() => this.#deploy(release, app, replicas))
      .then(
        () => this.#finish(app, job, 'RUNNING', 'SUCCEEDED', null),
        (err: Error) => this.#finish(app, job, 'DEPLOY_FAILED', 'FAILED', err.message),
      );
  }

  /**
   * The SDK's serve capacity gate against this server's agent, with the resources the run asked for
   * (inference.md §7): a deployment the machine cannot take fails before anything is replaced.
   */
  async #checkCapacity(app: Doc, job: Doc, replicas: number): Promise<void> {
    const agent = await this.ctx.collections.agents.get(job.agent);
    const params = isObject(job.params) ? job.params : {};
    const client = new AgentClient(`${this.ctx.publicUrl}/agent`, agent?.token ?? '');
    try {
      await checkServeCapacity(
        { num_cpus: params.num_cpus, num_gpus: params.num_gpus, memory: params.memory },
        { num_replicas: replicas },
        { agentClient: client, pluginCode: app.name, agentId: String(job.agent), logger: new NoOpLogger() },
      );
    } finally {
      await client.close();
    }
  }

  async #deploy(release: Doc, app: Doc, replicas: number): Promise<void> {
    const entrypoint = serveEntrypoint(release);
    if (!entrypoint) throw new Error(`Release ${release.code} has no serve action to deploy`);
    const dir = await extractRelease(this.ctx, release);
    const deployment = await loadEntrypoint(entrypoint, dir);
    if (!isServeDeploymentClass(deployment)) {
      throw new Error(`Entrypoint '${entrypoint}' is not a BaseServeDeployment subclass`);
    }
    const { file, exportName } = resolveEntrypoint(entrypoint, dir);
    await this.backend.delete(app.name).catch(() => {});
    await this.backend.run({
      name: app.name,
      routePrefix: app.route_prefix,
      deployment,
      initArgs: [this.ctx.publicUrl],
      actorOptions: {},
      serveOptions: { num_replicas: replicas },
      modulePath: file,
      exportName,
    });
  }

  /**
   * The apps this runtime served before the server stopped, deployed again (as a cluster restores
   * its apps): a record saying RUNNING must mean the gateway answers.
   */
  async restore(): Promise<void> {
    const live = emptyWhere();
    addCondition(live, `doc->>'status' = ANY($?)`, ['RUNNING', 'DEPLOYING']);
    const apps = await this.ctx.collections.serve_applications.find(live);
    await Promise.all(
      apps.map(async (app) => {
        const release = app.plugin_release
          ? await this.ctx.collections.plugin_releases.get(app.plugin_release)
          : null;
        if (!release?.file) return this.#setStatus(app, 'UNHEALTHY');
        await this.#setStatus(app, 'DEPLOYING');
        const replicas = Number.isInteger(app.num_replicas) ? app.num_replicas : 1;
        await this.#deploy(release, app, replicas).then(
          () => this.#setStatus(app, 'RUNNING'),
          () => this.#setStatus(app, 'DEPLOY_FAILED'),
        );
      }),
    );
  }

  async #setStatus(app: Doc, status: string): Promise<void> {
    const data = (await this.backend.status(app.name).catch(() => null)) ?? {};
    await this.ctx.collections.serve_applications
      .update(app.id, { status, data, modified: new Date().toISOString() })
      .catch(() => {}); // the server may be closing
  }

  async #finish(app: Doc, job: Doc, status: string, jobStatus: string, error: string | null): Promise<void> {
    await this.#setStatus(app, status);
    await updateJob(this.ctx, job.id as string, {
      ...statusFields(jobStatus),
      ...(error ? { console_logs: [this.ctx.secrets.text(`ERROR: Deployment failed: ${error}`)] } : {}),
    }).catch(() => {});
  }
}
