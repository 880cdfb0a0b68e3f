/** TODO(foundation): BulkUploadClientMixin (client.md §8). */
import type { BackendClient } from './index.ts';

export type BulkUploadClientMixin = {};

export const bulkUploadMethods: BulkUploadClientMixin & ThisType<BackendClient> = {};
