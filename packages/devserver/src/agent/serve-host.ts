/**
 * The agent's serve runtime: a `deployment` run of a published release runs the release's own
 * `deployment` action (the SDK's `BaseDeploymentAction.deploy()`, or whatever the plugin made of
 * it) against this server's serve backend: a gateway here with worker-process replicas, so
 * `inference` runs reach it, or Ray Serve when the devserver was started with a Ray address, as
 * the platform's agent does. There is no second deployer here: the capacity gate, the
 * replacement of a running app and the serve run are the action's.
 */
import {
  type BaseLogger,
  createRunClient,
  JobLogger,
  LocalExecutor,
  type LocalServeBackend,
  loadEntrypoint,
  NoOpLogger,
  type RayServeBackend,
} from 'synapse-sdk';
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { consoleLines, statusFields, updateJob } from '../jobs.ts';
import { isObject } from '../validate.ts';
import { ConsoleLog, extractRelease, runEnv } from './job-runner.ts';

/** The entrypoint of the release's `deployment` action, or null when its config has none. */
function deploymentEntrypoint(release: Doc): string | null {
  const actions = isObject(release.config) && isObject(release.config.actions) ? release.config.actions : {};
  const action = actions.deployment;
  return isObject(action) && typeof action.entrypoint === 'string' ? action.entrypoint : null;
}

/** The lines a logger prints, as a job process's stdout would carry them into the console log. */
function consoleStream(log: ConsoleLog): { write(text: string): void } {
  let partial = '';
  return {
    write(text: string) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) log.add(line);
    },
  };
}

export class ServeHost {
  constructor(
    private readonly ctx: DevContext,
    readonly backend: LocalServeBackend | RayServeBackend,
  ) {}

  /** Deploys in the background; the app ends RUNNING or DEPLOY_FAILED, and its job SUCCEEDED or FAILED. */
  start(release: Doc, app: Doc, job: Doc): void {
    const log = new ConsoleLog(this.ctx, job.id as string);
    void this.#deploy(release, app, { job, log }).then(
      (result) => this.#finish(app, job, log, 'RUNNING', 'SUCCEEDED', { result: result ?? null }),
      (err: Error) => this.#finish(app, job, log, 'DEPLOY_FAILED', 'FAILED', { error: err.message }),
    );
  }

  /**
   * Runs the release's own `deployment` action as the platform's agent would, through the SDK's
   * LocalExecutor, hosted in this process so the app lands on this server's serve backend: the
   * plugin's params, capacity gate and steps are what deploy it (inference.md §2.3). With a job
   * the action reports to it (logs, progress, console lines) like a job process; without one (a
   * restore) it reports nowhere.
   */
  async #deploy(release: Doc, app: Doc, run: { job: Doc; log: ConsoleLog } | null): Promise<unknown> {
    const entrypoint = deploymentEntrypoint(release);
    if (!entrypoint) throw new Error(`Release ${release.code} has no deployment action`);
    const workingDir = await extractRelease(this.ctx, release);
    const action = await loadEntrypoint(entrypoint, workingDir);
    const env = await runEnv(this.ctx, (run?.job ?? app).agent, release);
    const client = createRunClient(env);
    const jobId = run ? (run.job.id as string) : null;
    const logger: BaseLogger =
      run && client
        ? new JobLogger(client, run.job.id as string, { stream: consoleStream(run.log) })
        : new NoOpLogger();
    const executor = new LocalExecutor({
      env,
      jobId,
      client,
      logger,
      workingDir,
      serveBackend: this.backend,
    });
    try {
      return await executor.execute(action, (run?.job ?? app).params ?? {});
    } finally {
      await executor.close();
      await client?.close();
    }
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
        await this.#deploy(release, app, null).then(
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

  async #finish(
    app: Doc,
    job: Doc,
    log: ConsoleLog,
    status: string,
    jobStatus: string,
    outcome: { result?: unknown; error?: string },
  ): Promise<void> {
    await this.#setStatus(app, status);
    const { result, error } = outcome;
    // The action's lines land before the terminal status, which ends the console log tails.
    await log.flush().catch(() => {});
    const lines = consoleLines((await this.ctx.collections.jobs.get(job.id).catch(() => null))?.console_logs);
    await updateJob(this.ctx, job.id as string, {
      ...statusFields(jobStatus),
      // The action's result, recorded as a job process's is.
      ...(result !== undefined ? { result } : {}),
      ...(error
        ? { console_logs: [...lines, this.ctx.secrets.text(`ERROR: Deployment failed: ${error}`)] }
        : {}),
    }).catch(() => {});
  }
}
