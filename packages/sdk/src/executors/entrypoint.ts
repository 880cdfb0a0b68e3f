/**
 * The job entrypoint protocol (plugins.md §10.5): what `synapse-entrypoint` does inside a job
 * process, and how executors read the result back from the job's output.
 *
 * The entrypoint reports only the `result` of the job record; the job's status belongs to
 * whoever supervises the process (the platform's agent, `JobExecutor`, the devserver), since
 * only the supervisor sees a crash the process itself cannot report.
 */
import { readFile } from 'node:fs/promises';
import {
  JobResultError,
  ResultScanner as ProtocolResultScanner,
  parseResult as parseProtocolResult,
  resultBlock,
  resultPayload,
} from 'synapse-core';
import { loadEntrypoint } from '../actions/entrypoint.ts';
import { ENV, readJobEnvironment } from '../environment.ts';
import { dispatchAction, isStoppable } from '../plugins/action.ts';
import { ExecutionError, isRunStopped, RunStoppedError } from '../plugins/errors.ts';
import { runtimeContext } from './runtime.ts';

/** The exit code of a stopped run: what a process ended by SIGTERM reports (128 + 15). */
export const STOPPED_EXIT_CODE = 143;

type Env = Record<string, string | undefined>;

/**
 * A protocol reading (synapse-core) that fails as the SDK's executors fail: an `ExecutionError`,
 * which the job record and the CLI report like every other failure of a run.
 */
function asExecutionResult(read: () => unknown): unknown {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof JobResultError)) throw err;
    throw new ExecutionError(err.message, {}, { cause: err.cause });
  }
}

/** The protocol's scanner of job output (§10.5). */
export class ResultScanner extends ProtocolResultScanner {
  override result(): unknown {
    return asExecutionResult(() => super.result());
  }
}

/** The result printed in a job's output (§10.5), or null when there is none. */
export function parseResult(output: string): unknown {
  return asExecutionResult(() => parseProtocolResult(output));
}

async function readParams(params: ReturnType<typeof readJobEnvironment>['params']): Promise<unknown> {
  if (!params) {
    throw new ExecutionError(
      `No params provided via ${ENV.actionParams.name} or ${ENV.actionParamsFile.name}`,
    );
  }
  return JSON.parse('json' in params ? params.json : await readFile(params.file, 'utf8'));
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/**
 * Runs the action named by the environment in the current directory and returns the exit code.
 * The caller exits with it: a plugin's open handles (timers, sockets) must not keep a job alive.
 */
export async function runEntrypoint(env: Env = process.env): Promise<number> {
  try {
    const job = readJobEnvironment(env);
    const entrypoint = job.entrypoint;
    if (!entrypoint) throw new ExecutionError(`${ENV.actionEntrypoint.name} not set`);
    const params = await readParams(job.params);
    const action = await loadEntrypoint(entrypoint, process.cwd());
    // A stop (the supervisor's SIGTERM, Ctrl-C's SIGINT) reaches the action as `ctx.signal`. A
    // `stoppable` action ends by itself between units of work (the supervisor kills it if that
    // takes longer than its grace period); any other ends at once. Either way, and on a second
    // signal, the logs the job has queued still go out.
    const stop = new AbortController();
    const ctx = runtimeContext(env, job.jobId, { signal: stop.signal });
    const waitForAction = isStoppable(action);
    const onStop = (signal: NodeJS.Signals) => {
      const first = !stop.signal.aborted;
      if (first) stop.abort(new RunStoppedError(`The run was stopped by ${signal}`));
      if (!first || !waitForAction) void ctx.logger.finish().finally(() => process.exit(STOPPED_EXIT_CODE));
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    try {
      const result = await dispatchAction(action, params, ctx);
      await write(process.stdout, resultBlock(result));
      if (ctx.client && ctx.jobId) {
        await ctx.client
          // The job keeps the result as it is; only a scalar needs the object wrapper.
          .updateJob(ctx.jobId, { result: Array.isArray(result) ? result : resultPayload(result) })
          .catch((err: Error) =>
            write(process.stderr, `WARNING: failed to save the job result: ${err.message}\n`),
          );
      }
    } finally {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      await ctx.logger.finish();
    }
    return 0;
  } catch (err) {
    // Stopped: no result and no failure; the supervisor records the job as STOPPED.
    if (isRunStopped(err)) {
      await write(process.stderr, `STOPPED: ${(err as Error).message}\n`);
      return STOPPED_EXIT_CODE;
    }
    const error = err instanceof Error ? err : new Error(String(err));
    await write(process.stderr, `ERROR: ${error.name}: ${error.message}\n`);
    return 1;
  }
}
