/** Finding a task's data unit files (to-task.md §4 items 1–6): mapping or list form. */
import { isObject } from 'synapse-core';
import type { ToTaskContext } from './context.ts';
import { logTaskEvent } from './records.ts';

/** `cause`: what was thrown, when the failure came from an error (the run counts backend outages). */
export type TaskOutcome = { ok: true } | { ok: false; error: string; cause?: unknown };

export interface FileEntry {
  spec: string | null;
  file: Record<string, any>;
}

/** The files as `[spec name, file]` pairs, in mapping or list order. */
function fileEntries(files: unknown): FileEntry[] {
  if (Array.isArray(files)) {
    return files
      .filter(isObject)
      .map((file) => ({ spec: file.specification ?? file.specification_name ?? file.name ?? null, file }));
  }
  if (isObject(files)) {
    return Object.entries(files)
      .filter(([, file]) => isObject(file))
      .map(([spec, file]) => ({ spec, file: file as Record<string, any> }));
  }
  return [];
}

export const fileName = (file: Record<string, any>): string | undefined =>
  file.file_name_original ?? file.filename ?? file.name ?? undefined;

/** The data unit's files and its primary file, or the task's failure. */
export async function resolveUnitFiles(
  ctx: ToTaskContext,
  task: Record<string, any>,
): Promise<
  { ok: true; entries: FileEntry[]; primaryUrl: string; primaryName: string } | { ok: false; error: string }
> {
  const taskId = task.id;
  const unit = task.data_unit;
  if (!isObject(unit)) {
    logTaskEvent(ctx, 'NO_DATA_UNIT');
    return { ok: false, error: 'Task does not have a data unit' };
  }
  let entries = fileEntries(unit.files);
  if (entries.length === 0 && unit.id !== undefined && unit.id !== null) {
    const fetched = await ctx.client.getDataUnit(unit.id, { params: { expand: 'files' } });
    entries = fileEntries((fetched as Record<string, unknown> | null)?.files);
  }
  if (entries.length === 0) {
    logTaskEvent(ctx, 'NO_DATA_UNIT_FILES');
    return { ok: false, error: 'Data unit does not have files' };
  }
  const primary = entries.find(({ file }) => file.is_primary && typeof file.url === 'string' && file.url);
  if (!primary) {
    logTaskEvent(ctx, 'PRIMARY_IMAGE_URL_NOT_FOUND', [taskId]);
    return { ok: false, error: 'Primary image URL not found in task data' };
  }
  return { ok: true, entries, primaryUrl: primary.file.url, primaryName: fileName(primary.file) ?? '' };
}
