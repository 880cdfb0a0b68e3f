/** The file strategy (to-task.md §4): the target spec's JSON becomes the task's annotation data. */
import { ClientError } from '../../../clients/errors.ts';
import type { ToTaskContext } from './context.ts';
import type { ToTaskConverter } from './converter.ts';
import { ConversionFailure } from './converter.ts';
import { CriticalError, errorMessage } from './errors.ts';
import { fileName, resolveUnitFiles, type TaskOutcome } from './files.ts';
import { logTaskEvent, redactUrl } from './records.ts';

/** Node system errors (`ECONNREFUSED`...), fetch's `TypeError`, client errors: network problems. */
function isNetworkError(err: unknown): boolean {
  if (err instanceof ClientError) return true;
  if (err instanceof TypeError) return true;
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && 'syscall' in err;
}

export async function annotateFromFile(
  ctx: ToTaskContext,
  task: Record<string, any>,
  converter: ToTaskConverter,
): Promise<TaskOutcome> {
  const taskId = task.id as number;
  const resolved = await resolveUnitFiles(ctx, task);
  if (!resolved.ok) return resolved;
  const specName = ctx.params.target_specification_name;
  const target = resolved.entries.find(({ spec }) => spec === specName)?.file;
  if (!target) {
    logTaskEvent(ctx, 'FILE_SPEC_NOT_FOUND', [taskId]);
    return { ok: false, error: 'File specification not found' };
  }
  const targetName = fileName(target);
  if (!targetName) {
    logTaskEvent(ctx, 'FILE_ORIGINAL_NAME_NOT_FOUND', [taskId]);
    return { ok: false, error: 'File original name not found' };
  }
  const targetUrl = target.url;
  if (typeof targetUrl !== 'string' || !targetUrl) {
    logTaskEvent(ctx, 'URL_NOT_FOUND', [taskId]);
    return { ok: false, error: 'URL not found' };
  }

  let data: object;
  try {
    data = await converter.convertDataFromFile(
      resolved.primaryUrl,
      resolved.primaryName,
      targetUrl,
      targetName,
      task,
    );
  } catch (err) {
    if (err instanceof CriticalError) throw err;
    if (err instanceof ConversionFailure) {
      logTaskEvent(ctx, err.event, [taskId, err.message]);
      return { ok: false, error: err.message };
    }
    const message = errorMessage(err);
    if (isNetworkError(err)) {
      logTaskEvent(ctx, 'FETCH_DATA_FAILED', [redactUrl(targetUrl), taskId]);
      return { ok: false, error: `Failed to download JSON from URL: ${message}`, cause: err };
    }
    if (err instanceof SyntaxError) {
      logTaskEvent(ctx, 'JSON_DECODE_FAILED', [taskId, message]);
      return { ok: false, error: `Invalid JSON format in annotation file: ${message}` };
    }
    logTaskEvent(ctx, 'CONVERT_DATA_FAILED', [message, taskId]);
    return { ok: false, error: `Failed to convert data to task object: ${message}` };
  }

  try {
    await ctx.client.annotateTaskData(taskId, { action: 'submit', data: data as Record<string, unknown> });
  } catch (err) {
    if (err instanceof CriticalError) throw err;
    logTaskEvent(ctx, 'ANNOTATION_SUBMISSION_FAILED', [taskId, errorMessage(err)]);
    return { ok: false, error: `Failed to submit annotation data: ${errorMessage(err)}`, cause: err };
  }
  return { ok: true };
}
