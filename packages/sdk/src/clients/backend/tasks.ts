/** Tasks, their annotation and task tags (TasksClientMixin; client.md §8.1; contract: synapse-core tasks.ts). */
import type {
  AnnotationBatchItem,
  AnnotationBatchResult,
  AnnotationSubmit,
  DataListItem,
  FilesListItem,
  SetTags,
  SetTagsResult,
  Task,
  TaskDataUnit,
  TasksCreate,
  TaskTag,
} from 'synapse-core';
import { AdaptiveLimit } from '../adaptive-limit.ts';
import { positiveInteger } from '../concurrency.ts';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type {
  AnnotationBatchItem,
  AnnotationBatchResult,
  AnnotationSubmit,
  DataListItem,
  FilesListItem,
  SetTags,
  SetTagsResult,
  Task,
  TaskDataUnit,
  TasksCreate,
  TaskTag,
};

export interface TasksClientMixin {
  getTask(taskId: number, opts?: { params?: QueryParams }): Promise<Task>;
  /** Submits annotation data (`?schema=` when given); the server answers with the updated task. */
  annotateTaskData(taskId: number, data: AnnotationSubmit, opts?: { schema?: string }): Promise<Task>;
  /**
   * Submits many annotations, `maxWorkers` at a time (default: one per item, at most
   * {@link MAX_BATCH_WORKERS}); each task's outcome is reported by its id, failures included, so
   * one failed task never stops the others. An item without `task_id` or `data` throws a
   * `TypeError` naming it before anything is sent.
   */
  annotateTaskDataBatch(
    items: AnnotationBatchItem[],
    opts?: { maxWorkers?: number },
  ): Promise<Record<number, AnnotationBatchResult>>;
  getTaskTag(tagId: number): Promise<TaskTag>;
  listTaskTags(params?: QueryParams): Promise<[TaskTag[], number]>;
  listTasks<O extends PaginateOptions>(params?: QueryParams, opts?: O): Promise<ListResult<Task, O>>;
  /** Tasks with only their id and data (`sdk/tasks/data/`). */
  listTasksData<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<DataListItem, O>>;
  /** Tasks with only their id and their data unit's files, as a list (`sdk/tasks/files/`). */
  listTasksFiles<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<FilesListItem, O>>;
  /** Creates one task per data unit; units that already have a task in the project are skipped. */
  createTasks(data: TasksCreate): Promise<Task[]>;
  setTagsTasks(data: SetTags, opts?: { params?: QueryParams }): Promise<SetTagsResult>;
}

/** The default bound of `annotateTaskDataBatch`'s concurrent requests (the Python SDK runs one thread per item). */
export const MAX_BATCH_WORKERS = 32;

export const tasksMethods: TasksClientMixin & ThisType<BackendClient> = {
  getTask(taskId, opts = {}) {
    return this.get<Task>(`tasks/${taskId}/`, { params: opts.params, schema: 'task' });
  },

  annotateTaskData(taskId, data, opts = {}) {
    return this.put<Task>(`tasks/${taskId}/annotate_task_data/`, {
      data,
      params: opts.schema ? { schema: opts.schema } : undefined,
      schema: 'task',
    });
  },

  async annotateTaskDataBatch(items, opts = {}) {
    if (!Array.isArray(items)) throw new TypeError('items must be an array');
    items.forEach((item, index) => {
      if (typeof item !== 'object' || item === null) throw new TypeError(`items[${index}] is not an object`);
      if (!Number.isInteger(item.task_id)) throw new TypeError(`items[${index}] missing 'task_id'`);
      if (item.data === undefined) throw new TypeError(`items[${index}] missing 'data'`);
    });
    const results: Record<number, AnnotationBatchResult> = {};
    if (items.length === 0) return results;
    const workers = positiveInteger(
      'maxWorkers',
      opts.maxWorkers ?? Math.min(items.length, MAX_BATCH_WORKERS),
    );
    // At most `workers` at once, fewer while the platform is slow or says it is overloaded.
    const limit = new AdaptiveLimit({ max: workers });
    const client = this.reportingLoad(limit.overloaded);
    await Promise.all(
      items.map(async (item) => {
        try {
          const response = await limit.run(() =>
            client.annotateTaskData(item.task_id, item.data, { schema: item.schema }),
          );
          results[item.task_id] = { success: true, error: null, response };
        } catch (err) {
          results[item.task_id] = {
            success: false,
            error: (err as Error)?.message ?? String(err),
            response: null,
          };
        }
      }),
    );
    return results;
  },

  getTaskTag(tagId) {
    return this.get<TaskTag>(`task_tags/${tagId}/`, { schema: 'taskTag' });
  },

  listTaskTags(params) {
    return paginate(this, 'task_tags/', params, { schema: 'taskTag' });
  },

  listTasks(params, opts) {
    return paginate(this, 'sdk/tasks/', params, { schema: 'task', ...opts });
  },

  listTasksData(params, opts) {
    return paginate(this, 'sdk/tasks/data/', params, { schema: 'dataListItem', ...opts });
  },

  listTasksFiles(params, opts) {
    return paginate(this, 'sdk/tasks/files/', params, { schema: 'filesListItem', ...opts });
  },

  createTasks(data) {
    return this.post<Task[]>('tasks/', { data, schema: ['task'] });
  },

  setTagsTasks(data, opts = {}) {
    return this.post<SetTagsResult>('tasks/set_tags/', {
      data: { ...data, action: data.action ?? 'add' },
      params: opts.params,
      schema: 'setTagsResult',
    });
  },
};
