/** TODO(foundation): DataCollectionClientMixin (client.md §8). */
import type { BackendClient } from './index.ts';

export type DataCollectionClientMixin = {};

export const dataCollectionMethods: DataCollectionClientMixin & ThisType<BackendClient> = {};
