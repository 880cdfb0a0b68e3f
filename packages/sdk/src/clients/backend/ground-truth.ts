/** Ground truth events and dataset versions (GroundTruthClientMixin; client.md §8.6; contract: synapse-core ground-truth.ts). */
import type {
  DataListItem,
  FilesListItem,
  GroundTruth,
  GroundTruthEvent,
  GroundTruthVersion,
} from 'synapse-core';
import { LARGE_LIST, type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type { GroundTruth, GroundTruthEvent, GroundTruthVersion };

export interface GroundTruthClientMixin {
  listGroundTruthEvents<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<GroundTruthEvent, O>>;
  /** Events with only their id and data (`sdk/ground_truth_events/data/`), 100 a page. */
  listGroundTruthEventsData<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<DataListItem, O>>;
  /** Events with only their id and files, as a list (`sdk/ground_truth_events/files/`), 100 a page. */
  listGroundTruthEventsFiles<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<FilesListItem, O>>;
  listGroundTruths<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<GroundTruth, O>>;
  getGroundTruthVersion(versionId: number): Promise<GroundTruthVersion>;
  listGroundTruthVersions(params?: QueryParams): Promise<[GroundTruthVersion[], number]>;
}

export const groundTruthMethods: GroundTruthClientMixin & ThisType<BackendClient> = {
  listGroundTruthEvents(params, opts) {
    return paginate(this, 'sdk/ground_truth_events/', params, {
      ...LARGE_LIST,
      schema: 'groundTruthEvent',
      ...opts,
    });
  },

  listGroundTruthEventsData(params, opts) {
    return paginate(this, 'sdk/ground_truth_events/data/', params, {
      ...LARGE_LIST,
      schema: 'dataListItem',
      ...opts,
    });
  },

  listGroundTruthEventsFiles(params, opts) {
    return paginate(this, 'sdk/ground_truth_events/files/', params, {
      ...LARGE_LIST,
      schema: 'filesListItem',
      ...opts,
    });
  },

  listGroundTruths(params, opts) {
    return paginate(this, 'ground_truths/', params, { ...LARGE_LIST, schema: 'groundTruth', ...opts });
  },

  getGroundTruthVersion(versionId) {
    return this.get<GroundTruthVersion>(`ground_truth_dataset_versions/${versionId}/`, {
      schema: 'groundTruthVersion',
    });
  },

  listGroundTruthVersions(params) {
    return paginate(this, 'ground_truth_dataset_versions/', params, { schema: 'groundTruthVersion' });
  },
};
