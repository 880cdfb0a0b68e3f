/** ToTask event records (to-task.md §6.3) and the failed-task message (README D9). */

import { redactUrl } from '../../../clients/safe-fetch/index.ts';
import { resolveLogMessage } from '../../../plugins/log-messages.ts';
import { formatCreated } from '../../../plugins/logging/records.ts';
import type { ToTaskContext } from './context.ts';
import { CATEGORY } from './context.ts';

/** JSON like Python's `json.dumps`: `", "` / `": "` separators, non-ASCII as lower-case `\uXXXX`. */
export function pythonJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
}

export { redactUrl };

/** Redacts every URL inside a free-text message. */
export function redactText(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => redactUrl(url));
}

/** An `annotate_task_event` record of a per-task code (channel E). */
export function logTaskEvent(ctx: ToTaskContext, code: string, args: unknown[] = []): void {
  const [info, status] = resolveLogMessage(
    code,
    args.map((a) => (typeof a === 'string' ? redactText(a) : a)),
  );
  ctx.run.log('annotate_task_event', { info, status, created: formatCreated(new Date()) });
}

export function recordTaskSuccess(ctx: ToTaskContext, taskId: number): void {
  ctx.run.log(CATEGORY, {
    task_info: pythonJson({ task_id: taskId }),
    status: 'success',
    created: formatCreated(new Date()),
  });
}

/** The failed `annotate_task_data` event, then `[Task <id>] Failed: <error>` (D9). */
export function recordTaskFailure(
  ctx: ToTaskContext,
  taskId: number,
  error: string,
  extraEvent?: string,
): void {
  ctx.run.log(CATEGORY, {
    task_info: pythonJson({ task_id: taskId, error }),
    status: 'failed',
    created: formatCreated(new Date()),
  });
  ctx.logCode('TASK_FAILED', [taskId, error]);
  if (extraEvent) ctx.run.log(extraEvent, { task_id: taskId, error });
}
