/** ToTask errors (to-task.md §8.1): both are plugin errors; the message is the job's failure message. */
import { ClientConnectionError, ClientTimeoutError } from '../../../clients/errors.ts';
import { PluginError } from '../../../plugins/errors.ts';

/** A fatal failure of the ToTask run; the seed phrase starts the message (README D8). */
export class PreAnnotationToTaskFailed extends PluginError {
  constructor(
    message = 'Pre-annotation to task failed',
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}

/** Thrown by a strategy or converter to stop the whole run (to-task.md §3 step 6.3). */
export class CriticalError extends PluginError {
  constructor(
    message = 'Critical error occured while processing task',
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The backend could not be reached at all (refused, reset, host unreachable, connect timeout), as
 * opposed to an answer about the task: only these count toward "the backend is gone" (#11 item 7).
 * A read timeout is not one: the backend was reached and is slow on this task.
 */
export function isBackendConnectionFailure(err: unknown): boolean {
  if (err instanceof ClientConnectionError) return true;
  if (!(err instanceof ClientTimeoutError)) return false;
  let e: unknown = err.cause;
  for (let i = 0; e && i < 5; i++, e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  }
  return false;
}
