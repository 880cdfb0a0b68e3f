/**
 * The agent's serve runtime: a `deployment` run of a published release serves the release's serve
 * deployment on a gateway in this server, with worker-process replicas, so `inference` runs reach it.
 * (On the platform the agent hands the deployment to Ray Serve; here one machine plays the cluster.)
 */
import {
  isServeDeploymentClass,
  type LocalServeBackend,
  loadEntrypoint,
  resolveEntrypoint,
} from 'synapse-sdk';
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
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
    readonly backend: LocalServeBackend,
  ) {}

  /** Deploys in the background; the app ends RUNNING or DEPLOY_FAILED, and its job SUCCEEDED or FAILED. */
  start(release: Doc, app: Doc, job: Doc, replicas: number): void {
    void this.#deploy(release, app, replicas).then(
      () => this.#finish(app, job, 'RUNNING', 'SUCCEEDED', null),
      (err: Error) => this.#finish(app, job, 'DEPLOY_FAILED', 'FAILED', err.message),
    );
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

  async #finish(app: Doc, job: Doc, status: string, jobStatus: string, error: string | null): Promise<void> {
    const data = (await this.backend.status(app.name).catch(() => null)) ?? {};
    await this.ctx.collections.serve_applications
      .update(app.id, { status, data, modified: new Date().toISOString() })
      .catch(() => {}); // the server may be closing
    await updateJob(this.ctx, job.id as string, {
      ...statusFields(jobStatus),
      ...(error ? { console_logs: [`ERROR: Deployment failed: ${error}`] } : {}),
    }).catch(() => {});
  }
}
