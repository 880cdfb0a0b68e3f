/** Tasks, their annotation and task tags (TasksClientMixin; client.md §8.1; contract: synapse-core tasks.ts). */
import type {
  AnnotationSubmit,
  SetTags,
  SetTagsResult,
  Task,
  TaskDataUnit,
  TasksCreate,
  TaskTag,
} from 'synapse-core';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type { AnnotationSubmit, SetTags, SetTagsResult, Task, TaskDataUnit, TasksCreate, TaskTag };

export interface TasksClientMixin {
  getTask(taskId: number, opts?: { params?: QueryParams }): Promise<Task>;
  /** Submits annotation data; the server answers with the updated task. */
  annotateTaskData(taskId: number, data: AnnotationSubmit): Promise<Task>;
  getTaskTag(tagId: number): Promise<TaskTag>;
  listTaskTags(params?: QueryParams): Promise<[TaskTag[], number]>;
  listTasks<O extends PaginateOptions>(params?: QueryParams, opts?: O): Promise<ListResult<Task, O>>;
  /** Creates one task per data unit; units that already have a task in the project are skipped. */
  createTasks(data: TasksCreate): Promise<Task[]>;
  setTagsTasks(data: SetTags, opts?: { params?: QueryParams }): Promise<SetTagsResult>;
}

export const tasksMethods: TasksClientMixin & ThisType<BackendClient> = {
  getTask(taskId, opts = {}) {
    return this.get<Task>(`tasks/${taskId}/`, { params: opts.params, schema: 'task' });
  },

  annotateTaskData(taskId, data) {
    return this.put<Task>(`tasks/${taskId}/annotate_task_data/`, { data, schema: 'task' });
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
