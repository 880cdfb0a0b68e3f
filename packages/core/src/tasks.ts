/** Tasks and task tags (backend-api.md §4; routes/tasks.ts, clients/backend/tasks.ts). */
import { z } from 'zod';
import { dataUnitFilesSchema } from './data-collections.ts';
import { id, jsonObject, timestamp } from './json.ts';

/** A task's data unit with `expand=data_unit`. */
export const taskDataUnitSchema = z.looseObject({
  id,
  data_collection: id,
  meta: jsonObject,
  files: dataUnitFilesSchema,
});
export type TaskDataUnit = z.infer<typeof taskDataUnitSchema>;

/**
 * A task. Every field is optional because `fields=` narrows the response to the keys asked for;
 * what is present must have its wire type.
 */
export const taskSchema = z.looseObject({
  id,
  project: id.optional(),
  data_collection: id.nullable().optional(),
  /** The id, or the embedded unit with `expand=data_unit`. */
  data_unit: z.union([id, taskDataUnitSchema]).optional(),
  status: z.string().optional(),
  assignee: id.nullable().optional(),
  data: jsonObject.optional(),
  tags: z.array(id).optional(),
  created_at: timestamp.optional(),
  modified: timestamp.optional(),
});
/** The full task as the server sends it without `fields`. */
export type Task = Required<Pick<z.infer<typeof taskSchema>, TaskKey>> & z.infer<typeof taskSchema>;
type TaskKey =
  | 'project'
  | 'data_collection'
  | 'data_unit'
  | 'status'
  | 'assignee'
  | 'data'
  | 'tags'
  | 'created_at'
  | 'modified';

export const TASK_TAG_CATEGORIES = ['export', 'project'] as const;

export const taskTagSchema = z.looseObject({
  id,
  project: id,
  name: z.string(),
  color: z.string(),
  category: z.enum(TASK_TAG_CATEGORIES),
});
export type TaskTag = z.infer<typeof taskTagSchema>;

/** POST tasks/: one task per data unit. */
export const tasksCreateSchema = z.object({
  project: id,
  data: z.array(z.object({ data_unit: id })),
});
export type TasksCreate = z.infer<typeof tasksCreateSchema>;

export const annotationSubmitSchema = z.object({ action: z.literal('submit'), data: jsonObject });
export type AnnotationSubmit = z.infer<typeof annotationSubmitSchema>;

export const SET_TAGS_ACTIONS = ['add', 'remove'] as const;

/** Adds (default) or removes tags on objects (tasks, assignments). */
export const setTagsSchema = z.object({
  ids: z.array(id),
  tags: z.array(id),
  action: z.enum(SET_TAGS_ACTIONS).optional(),
});
export type SetTags = z.infer<typeof setTagsSchema>;

export const setTagsResultSchema = z.looseObject({
  ids: z.array(id),
  tags: z.array(id),
  action: z.enum(SET_TAGS_ACTIONS),
});
export type SetTagsResult = z.infer<typeof setTagsResultSchema>;

/**
 * The lighter views of the `sdk/` lists (tasks, assignments, ground truth events; Python SDK's
 * `list_*_data` / `list_*_files`): a record's id and data, or its id and its data unit's files as a
 * list, each file named by its file specification (`name`).
 */
export const dataListItemSchema = z.looseObject({ id, data: z.record(z.string(), z.unknown()) });
export type DataListItem = z.infer<typeof dataListItemSchema>;

export const filesListItemSchema = z.looseObject({
  id,
  files: z.array(z.looseObject({ name: z.string() })),
});
export type FilesListItem = z.infer<typeof filesListItemSchema>;

/** One item of `annotateTaskDataBatch`: the task, its annotation, and optionally the schema query. */
export interface AnnotationBatchItem {
  task_id: number;
  data: AnnotationSubmit;
  schema?: string;
}

/** What `annotateTaskDataBatch` reports per task id. */
export interface AnnotationBatchResult {
  success: boolean;
  error: string | null;
  response: Task | null;
}
