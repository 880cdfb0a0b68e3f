/** Projects, tasks and task tags (AnnotationClientMixin; client.md §8.1). */
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { DataUnitFiles } from './data-collection.ts';
import type { BackendClient } from './index.ts';

export interface Project {
  id: number;
  title: string;
  category: string;
  description: string;
  data_collection: number | null;
  configuration: Record<string, unknown>;
  is_archived: boolean;
  task_count: number;
  created: string;
  [key: string]: unknown;
}

/** A task's data unit with `expand=data_unit`. */
export interface TaskDataUnit {
  id: number;
  data_collection: number;
  meta: Record<string, unknown>;
  files: DataUnitFiles;
  [key: string]: unknown;
}

/** A task; with `fields`, only the requested keys are present. */
export interface Task {
  id: number;
  project: number;
  data_collection: number | null;
  /** The id, or the embedded unit with `expand=data_unit`. */
  data_unit: number | TaskDataUnit;
  status: string;
  assignee: number | null;
  data: Record<string, unknown>;
  tags: number[];
  created_at: string;
  modified: string;
  [key: string]: unknown;
}

export interface TaskTag {
  id: number;
  project: number;
  name: string;
  color: string;
  category: 'export' | 'project';
  [key: string]: unknown;
}

export interface TasksCreate {
  project: number;
  data: Array<{ data_unit: number }>;
}

export interface AnnotationSubmit {
  action: 'submit';
  data: Record<string, unknown>;
}

/** Adds (default) or removes tags on objects (tasks, assignments). */
export interface SetTags {
  ids: number[];
  tags: number[];
  action?: 'add' | 'remove';
}

export interface SetTagsResult {
  ids: number[];
  tags: number[];
  action: 'add' | 'remove';
}

export interface AnnotationClientMixin {
  getProject(projectId: number): Promise<Project>;
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

export const annotationMethods: AnnotationClientMixin & ThisType<BackendClient> = {
  getProject(projectId) {
    return this.get<Project>(`projects/${projectId}/`);
  },

  getTask(taskId, opts = {}) {
    return this.get<Task>(`tasks/${taskId}/`, { params: opts.params });
  },

  annotateTaskData(taskId, data) {
    return this.put<Task>(`tasks/${taskId}/annotate_task_data/`, { data });
  },

  getTaskTag(tagId) {
    return this.get<TaskTag>(`task_tags/${tagId}/`);
  },

  listTaskTags(params) {
    return paginate(this, 'task_tags/', params);
  },

  listTasks(params, opts) {
    return paginate(this, 'sdk/tasks/', params, opts);
  },

  createTasks(data) {
    return this.post<Task[]>('tasks/', { data });
  },

  setTagsTasks(data, opts = {}) {
    return this.post<SetTagsResult>('tasks/set_tags/', {
      data: { ...data, action: data.action ?? 'add' },
      params: opts.params,
    });
  },
};
