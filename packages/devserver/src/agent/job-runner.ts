/**
 * The agent's job runs (emulator's choice, backend-api.md §10.3): a `job` action of a published
 * release runs as a real process through the SDK's JobExecutor, as the platform's agent runs it
 * on Ray. The job record follows the process: PENDING → RUNNING → SUCCEEDED | FAILED, with its
 * output appended to `console_logs` in batches. A job that turns terminal through the API (agent
 * stop, or a PATCH of its status) has its process stopped.
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { ResultBlockFilter } from 'synapse-core';
import { extractArchive, JobExecutor, RayJobExecutor, runEnvironment } from 'synapse-sdk';
import { issueToken, runUserId } from '../auth.ts';
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { consoleLines, isTerminal, statusFields, updateJob, watchJob } from '../jobs.ts';
import { isObject } from '../validate.ts';

/** How often new output lines are written to the job's console log. */
const CONSOLE_FLUSH_MS = 200;

/** The job's console log: lines collected as the process prints them, written in batches. */
export class ConsoleLog {
  readonly #lines: string[] = [];
  /** The result block is the run protocol's, not the job's output: never stored. */
  readonly #shown = new ResultBlockFilter();
  #written = 0;
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    readonly ctx: DevContext,
    readonly jobId: string,
  ) {}

  /** Stored masked: the API, the tails and the dashboard never hold a secret the job printed. */
  add(line: string): void {
    const shown = this.#shown.push(line);
    if (shown.length === 0) return;
    for (const text of shown) this.#lines.push(this.ctx.secrets.text(text));
    // A failed write is retried by the next flush.
    this.#timer ??= setTimeout(() => this.flush().catch(() => {}), CONSOLE_FLUSH_MS);
  }

  /** Writes the lines not yet written; the tail stream sends each line once, in order. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#writing = this.#writing
      .catch(() => {})
      .then(async () => {
        const count = this.#lines.length;
        if (count === this.#written) return;
        await updateJob(this.ctx, this.jobId, { console_logs: this.#lines.slice(0, count) });
        this.#written = count;
      });
    return this.#writing;
  }
}

/**
 * The release's files in `<dataDir>/plugins/<checksum>/`, extracted from its archive once (again
 * when a debug publish replaced the archive) by the SDK's safe extraction. `synapse-sdk`
 * resolves from there as it does on a platform image with the SDK installed.
 */
export async function extractRelease(ctx: DevContext, release: Doc): Promise<string> {
  const root = join(ctx.dataDir, 'plugins');
  const dir = join(root, release.checksum);
  const stampFile = join(dir, '.archive_checksum');
  const stamp = String(release.archive_checksum);
  if ((await readFile(stampFile, 'utf8').catch(() => null)) === stamp) return dir;

  await mkdir(root, { recursive: true });
  const archive = ctx.media.pathOf(release.file);
  if (!archive) throw new Error(`Plugin release ${release.code} has no archive`);
  const staging = await mkdtemp(join(root, `.${release.checksum}-`));
  try {
    // Streaming and bounded (#11): a hostile archive is refused without stalling the server or
    // leaving files behind; the limits can be raised with `extractionLimits` / `synapse dev` flags.
    await extractArchive(archive, staging, { ...ctx.extractionLimits, label: 'Plugin release archive' });
    await linkDependencies(root, staging);
    await writeFile(join(staging, '.archive_checksum'), stamp);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** An npm package name, optionally scoped (lowercase, no path segments). */
const PACKAGE_NAME = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

/** The directory of package `name` as this server would import it, or null when it is not installed. */
function installedPackage(name: string): string | null {
  const paths = createRequire(import.meta.url).resolve.paths(name) ?? [];
  const dir = paths.map((p) => join(p, name)).find((d) => existsSync(join(d, 'package.json')));
  return dir ? realpathSync(dir) : null;
}

/**
 * `<root>/node_modules/<name>` → the installed package, for the SDK and each dependency of the
 * plugin's package.json (optional ones too: npm installs them where they can be) that this
 * server's environment has (the agent's "image"): the plugin's imports resolve as on the platform
 * with its requirements installed. A dependency missing here fails the run with Node's own message
 * naming the package; a missing optional one is the plugin's to handle.
 */
async function linkDependencies(root: string, pluginDir: string): Promise<void> {
  const manifest = await readFile(join(pluginDir, 'package.json'), 'utf8').then(JSON.parse, () => ({}));
  const names = (field: string) =>
    isObject(manifest) && isObject(manifest[field]) ? Object.keys(manifest[field]) : [];
  const modules = join(root, 'node_modules');
  for (const name of new Set(['synapse-sdk', ...names('dependencies'), ...names('optionalDependencies')])) {
    // The names come from an uploaded archive: only npm package names, never a path out of `modules`.
    if (!PACKAGE_NAME.test(name)) continue;
    const target = installedPackage(name);
    if (!target) continue;
    const link = join(modules, name);
    if (!link.startsWith(modules + sep)) continue;
    if ((await readlink(link).catch(() => null)) === target) continue;
    await rm(link, { recursive: true, force: true });
    await mkdir(dirname(link), { recursive: true });
    await symlink(target, link, 'junction').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err; // another release's extraction linked it meanwhile
    });
  }
}

/**
 * What a run of the release needs to reach this server as the run's user and as the agent
 * (plugins.md §13): a job process's environment, and a hosted deployment's.
 */
export async function runEnv(
  ctx: DevContext,
  agentId: number,
  release: Doc,
): Promise<Record<string, string>> {
  const agent = await ctx.collections.agents.get(agentId);
  const configEnv = isObject(release.config) && isObject(release.config.env) ? release.config.env : {};
  ctx.secrets.addEnv(configEnv);
  return {
    ...(configEnv as Record<string, string>),
    ...runEnvironment({
      host: ctx.publicUrl,
      userToken: await issueToken(ctx, 'user', await runUserId(ctx)),
      releaseCode: release.code,
      releaseChecksum: release.checksum,
      agentId: String(agentId),
      agentUrl: `${ctx.publicUrl}/agent`,
      agentToken: agent?.token ?? '',
    }),
  };
}

export class JobRunner {
  readonly #ctx: DevContext;
  /** Runs in progress by job id, done once their record is final. */
  readonly #runs = new Map<string, Promise<void>>();
  /** The executors of the runs whose process has started. */
  readonly #executors = new Map<string, JobExecutor>();
  /** One extraction per release archive at a time. */
  readonly #extracting = new Map<string, Promise<string>>();
  #closing = false;
  /** The Ray dashboard that runs the jobs instead of local processes. */
  readonly #rayAddress: string | undefined;

  constructor(ctx: DevContext, { rayAddress }: { rayAddress?: string } = {}) {
    this.#ctx = ctx;
    this.#rayAddress = rayAddress;
  }

  /** Runs the job in the background; a job that cannot start ends FAILED with the reason in its console log. */
  start(job: Doc): void {
    const id = job.id as string;
    const done = this.#run(job)
      .catch((err: Error) => this.#fail(id, err.message))
      // Recording the failure can fail too (database closed): the server must not crash for it.
      .catch((err: Error) => console.error(`job ${id}: could not record its failure: ${err.message}`))
      .finally(() => {
        // A rerun of the same job id may have replaced this run meanwhile.
        if (this.#runs.get(id) !== done) return;
        this.#runs.delete(id);
        this.#executors.delete(id);
      });
    this.#runs.set(id, done);
  }

  /** Stops every running job and waits until their records are final. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#executors].map(([id, executor]) => executor.stop(id)));
    await Promise.all(this.#runs.values());
  }

  async #run(job: Doc): Promise<void> {
    const ctx = this.#ctx;
    const id = job.id as string;
    const release =
      job.plugin_release == null ? null : await ctx.collections.plugin_releases.get(job.plugin_release);
    if (!release?.file) throw new Error('The job has no plugin release archive to run');
    const action =
      isObject(release.config) && isObject(release.config.actions)
        ? release.config.actions[job.action]
        : null;
    const entrypoint = isObject(action) ? action.entrypoint : undefined;
    if (typeof entrypoint !== 'string') throw new Error(`Action '${job.action}' has no entrypoint`);

    const workingDir = await this.#extract(release);
    const options = { env: await runEnv(ctx, job.agent, release), workingDir, validateParams: false };
    const executor = this.#rayAddress
      ? new RayJobExecutor({
          ...options,
          dashboardAddress: this.#rayAddress,
          runtimeEnv:
            isObject(release.config) && isObject(release.config.runtime_env)
              ? release.config.runtime_env
              : {},
          metadata: { plugin_code: String(release.code), action: String(job.action) },
        })
      : new JobExecutor(options);
    // Stopped while it waited: nothing to run.
    if (this.#closing || isTerminal((await ctx.collections.jobs.get(id))?.status)) return;
    await updateJob(ctx, id, statusFields('RUNNING'));

    const log = new ConsoleLog(ctx, id);
    await executor.submit(entrypoint, job.params ?? {}, { jobId: id, onOutput: (line) => log.add(line) });
    this.#executors.set(id, executor);
    const stopIfEnded = (record: Doc | null) => {
      // A failure to stop (the Ray dashboard unreachable) must not crash the server.
      if (this.#closing || isTerminal(record?.status))
        executor.stop(id).catch((err: Error) => console.warn(`job ${id}: could not stop it: ${err.message}`));
    };
    const unwatch = watchJob(this.#ctx, id, stopIfEnded);
    stopIfEnded(await ctx.collections.jobs.get(id));
    const status = await executor.wait(id, { timeoutSeconds: Number.POSITIVE_INFINITY }).then(
      () => 'SUCCEEDED',
      () => executor.getStatus(id),
    );
    unwatch();
    // The last lines land before the terminal status, which ends the console log tails.
    await log.flush();
    if (!isTerminal((await ctx.collections.jobs.get(id))?.status))
      await updateJob(ctx, id, statusFields(status));
  }

  #extract(release: Doc): Promise<string> {
    const key = `${release.checksum}:${release.archive_checksum}`;
    let extraction = this.#extracting.get(key);
    if (!extraction) {
      extraction = extractRelease(this.#ctx, release).finally(() => this.#extracting.delete(key));
      this.#extracting.set(key, extraction);
    }
    return extraction;
  }

  async #fail(id: string, reason: string): Promise<void> {
    const job = await this.#ctx.collections.jobs.get(id);
    if (!job || isTerminal(job.status)) return;
    await updateJob(this.#ctx, id, {
      ...statusFields('FAILED'),
      console_logs: [...consoleLines(job.console_logs), this.#ctx.secrets.text(`ERROR: ${reason}`)],
    });
  }
}
