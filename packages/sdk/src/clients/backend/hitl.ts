/** TODO(foundation): HITLClientMixin (client.md §8). */
import type { BackendClient } from './index.ts';

export type HITLClientMixin = {};

export const hitlMethods: HITLClientMixin & ThisType<BackendClient> = {};
