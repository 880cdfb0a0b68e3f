/** Plugin errors (spec plugins.md §4.4). Each keeps `details` and, when wrapping, `cause`. */

export class PluginError extends Error {
  readonly details: Record<string, unknown>;

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

export class PluginValidationError extends PluginError {}
export class ActionNotFoundError extends PluginError {}
export class ExecutionError extends PluginError {}
export class PluginUploadError extends PluginError {}
export class ArchiveError extends PluginError {}
export class BuildError extends PluginError {}
export class ChecksumMismatchError extends PluginError {}
export class PluginRunError extends PluginError {}

/** Where the platform raises a runtime error (orchestrator, deployment, capacity gate). */
export class RuntimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeError';
  }
}

/**
 * A run ended early because it was asked to stop (a platform stop, Ctrl-C, SIGTERM reaching the
 * run's `AbortSignal`): not a failure of the action, so callers can tell the two apart.
 */
export class RunStoppedError extends PluginError {
  constructor(
    message = 'The run was stopped',
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, details, options);
  }
}

/** Whether `err` is a stop, also from another copy of the SDK (checked by name). */
export function isRunStopped(err: unknown): boolean {
  return err instanceof Error && err.name === 'RunStoppedError';
}
