/** ToTask errors (to-task.md §8.1): both are plugin errors; the message is the job's failure message. */
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
