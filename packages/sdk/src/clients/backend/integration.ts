/** TODO(foundation): IntegrationClientMixin (client.md §8). */
import type { BackendClient } from './index.ts';

export type IntegrationClientMixin = {};

export const integrationMethods: IntegrationClientMixin & ThisType<BackendClient> = {};
