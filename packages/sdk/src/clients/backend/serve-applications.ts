/** Serve applications (ServeApplicationsClientMixin; backend-api.md §13; contract: synapse-core serve-applications.ts). */
import type { ServeApplication, ServeApplicationCreate, ServeApplicationStatus } from 'synapse-core';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type { ServeApplication, ServeApplicationCreate, ServeApplicationStatus };

export interface ServeApplicationsClientMixin {
  createServeApplication(data: ServeApplicationCreate): Promise<ServeApplication>;
  listServeApplications<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<ServeApplication, O>>;
}

export const serveApplicationsMethods: ServeApplicationsClientMixin & ThisType<BackendClient> = {
  createServeApplication(data) {
    return this.post<ServeApplication>('serve_applications/', { data, schema: 'serveApplication' });
  },

  listServeApplications(params, opts) {
    return paginate(this, 'serve_applications/', params, { schema: 'serveApplication', ...opts });
  },
};
