/** `LocalExecutor` (plugins.md §10.2): runs an action in this process. */
import { AgentClient } from '../clients/agent/index.ts';
import type { BackendClient } from '../clients/backend/index.ts';
import { createRunClient } from '../clients/credentials.ts';
import { dispatchAction } from '../plugins/action.ts';
import { ExecutionError, isRunStopped } from '../plugins/errors.ts';
import { type EnvVars, type RuntimeOverrides, runtimeContext } from './runtime.ts';

/** The run's overrides (client, logger, stop signal, working dir, serve backend) plus its variables. */
export interface LocalExecutorOptions extends RuntimeOverrides {
  /** Variables over the process environment (the plugin config's `env` comes first). */
  env?: Record<string, string>;
  jobId?: string | null;
}

export class LocalExecutor {
  readonly #vars: EnvVars;
  readonly #options: LocalExecutorOptions;
  readonly #client: BackendClient | null;
  readonly #agentClient: AgentClient | null;

  constructor(options: LocalExecutorOptions = {}) {
    this.#options = options;
    this.#vars = { ...process.env, ...options.env };
    this.#client = options.client !== undefined ? options.client : createRunClient(this.#vars);
    this.#agentClient =
      options.agentClient !== undefined ? options.agentClient : AgentClient.fromEnv(this.#vars);
  }

  /** Runs an action export (class, `defineAction` function or plain function) with raw params. */
  async execute(action: unknown, params: unknown = {}): Promise<unknown> {
    const { jobId = null, logger, signal, workingDir, serveBackend } = this.#options;
    const ctx = runtimeContext(this.#vars, jobId, {
      client: this.#client,
      agentClient: this.#agentClient,
      logger,
      signal,
      workingDir,
      serveBackend,
    });
    try {
      return await dispatchAction(action, params, ctx);
    } catch (err) {
      // A stop is not a failure of the action: the caller sees it as it is.
      if (isRunStopped(err)) throw err;
      throw new ExecutionError(
        `Action execution failed: ${(err as Error)?.message ?? err}`,
        {},
        { cause: err },
      );
    } finally {
      await ctx.logger.finish();
    }
  }

  /** Releases the clients this executor made (not the ones it was given). */
  async close(): Promise<void> {
    const owned = [
      this.#options.client === undefined ? this.#client : null,
      this.#options.agentClient === undefined ? this.#agentClient : null,
    ];
    await Promise.all(owned.map((c) => c?.close()));
  }
}
