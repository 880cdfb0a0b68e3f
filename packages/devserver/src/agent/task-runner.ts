/**
 * The agent's runs of actions that answer at once (backend-api.md §10.3: `task` and `restapi`):
 * a published release's action runs in a warm worker process (the SDK's TaskExecutor, one per
 * release and agent, kept while the server runs), as the platform's agent runs it on a Ray actor,
 * and its result is the answer. Params are validated by the action's own schema in the worker:
 * a request the schema refuses answers 400 naming each field, as the platform does.
 */
import { TaskExecutor } from 'synapse-sdk';
import type { DevContext } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { ApiError } from '../errors.ts';
import { isObject } from '../validate.ts';
import { extractRelease, runEnv } from './job-runner.ts';

/** The entrypoint of `action` in a release's config, or null. */
export function actionEntrypoint(release: Doc, action: string): string | null {
  const actions = isObject(release.config) && isObject(release.config.actions) ? release.config.actions : {};
  const spec = actions[action];
  return isObject(spec) && typeof spec.entrypoint === 'string' ? spec.entrypoint : null;
}

export class TaskRunner {
  readonly #ctx: DevContext;
  /** Warm workers by release archive and agent (the run environment names the agent). */
  readonly #executors = new Map<string, Promise<TaskExecutor>>();

  constructor(ctx: DevContext) {
    this.#ctx = ctx;
  }

  /** Runs the action at `entrypoint` of `release` with `params`; its result, or an `ApiError` (400 invalid params, 500 a failure). */
  async run(release: Doc, entrypoint: string, params: unknown, agent: number): Promise<unknown> {
    const executor = await this.#executor(release, agent);
    try {
      return await executor.execute(entrypoint, params);
    } catch (err) {
      throw failure(this.#ctx, err as Error);
    }
  }

  async close(): Promise<void> {
    const executors = [...this.#executors.values()];
    this.#executors.clear();
    await Promise.allSettled(executors.map(async (e) => (await e).close()));
  }

  #executor(release: Doc, agent: number): Promise<TaskExecutor> {
    const key = `${release.checksum}:${release.archive_checksum}:${agent}`;
    let executor = this.#executors.get(key);
    if (!executor) {
      executor = (async () => {
        const workingDir = await extractRelease(this.#ctx, release);
        const env = await runEnv(this.#ctx, agent, release);
        // The worker's log lines are the server's diagnostics, never its stdout's output.
        return new TaskExecutor({ env, workingDir, workerOutput: 'stderr' });
      })();
      // A failed start (a bad archive) is tried again on the next run.
      executor.catch(() => this.#executors.delete(key));
      this.#executors.set(key, executor);
    }
    return executor;
  }
}

/**
 * The answer of a failed run: params the action's schema refused → 400 with `params` naming each
 * field (`{"data": ["Field required"]}`); anything else → 500; `detail` is the message, masked.
 */
function failure(ctx: DevContext, err: Error): ApiError {
  const cause = (err.cause ?? err) as Error & { details?: Record<string, unknown> };
  const detail = ctx.secrets.text(cause.message ?? String(cause));
  if (cause.name === 'PluginValidationError') {
    const fields = isObject(cause.details?.params) ? cause.details.params : {};
    return new ApiError(400, { detail, params: fields });
  }
  return new ApiError(500, { detail });
}
