/** Assignments of tasks to people (HITLClientMixin; client.md §8.4). */
import type { DataListItem, DataUnitFiles, FilesListItem, SetTags, SetTagsResult } from 'synapse-core';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export interface Assignment {
  id: number;
  task: { id: number; tags: number[] };
  user: number | null;
  reviewer: number | null;
  status_label: 'stand_by' | 'in_progress' | 'completed' | 'skipped';
  status_review: 'stand_by' | 'in_progress' | 'rejected' | 'completed' | 'skipped';
  is_confirmed: boolean;
  data: Record<string, unknown>;
  tags: number[];
  data_unit: { id: number; meta: Record<string, unknown>; files: DataUnitFiles } | null;
  /** The data unit's files. */
  files: DataUnitFiles;
  created: string;
  [key: string]: unknown;
}

export interface HITLClientMixin {
  getAssignment(assignmentId: number): Promise<Assignment>;
  listAssignments<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<Assignment, O>>;
  /** Assignments with only their id and data (`sdk/assignments/data/`). */
  listAssignmentsData<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<DataListItem, O>>;
  /** Assignments with only their id and their task's data unit files, as a list (`sdk/assignments/files/`). */
  listAssignmentsFiles<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<FilesListItem, O>>;
  setTagsAssignments(data: SetTags, opts?: { params?: QueryParams }): Promise<SetTagsResult>;
}

export const hitlMethods: HITLClientMixin & ThisType<BackendClient> = {
  getAssignment(assignmentId) {
    return this.get<Assignment>(`assignments/${assignmentId}/`);
  },

  listAssignments(params, opts) {
    return paginate(this, 'sdk/assignments/', params, opts);
  },

  listAssignmentsData(params, opts) {
    return paginate(this, 'sdk/assignments/data/', params, { schema: 'dataListItem', ...opts });
  },

  listAssignmentsFiles(params, opts) {
    return paginate(this, 'sdk/assignments/files/', params, { schema: 'filesListItem', ...opts });
  },

  setTagsAssignments(data, opts = {}) {
    return this.post<SetTagsResult>('assignments/set_tags/', {
      data: { ...data, action: data.action ?? 'add' },
      params: opts.params,
    });
  },
};
