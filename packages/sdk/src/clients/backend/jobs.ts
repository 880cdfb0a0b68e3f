/** Jobs and their console logs (JobsClientMixin; client.md §8.5, backend-api.md §11; contract: synapse-core jobs.ts). */
import type { Job, JobStatus, JobUpdate } from 'synapse-core';
import { type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type { Job, JobStatus, JobUpdate };

export interface JobsClientMixin {
  getJob(jobId: string, opts?: { params?: QueryParams }): Promise<Job>;
  /** One page as `[jobs, count]`, or with `{listAll: true}` every page as a stream. */
  listJobs<O extends PaginateOptions>(params?: QueryParams, opts?: O): Promise<ListResult<Job, O>>;
  updateJob(jobId: string, data: JobUpdate): Promise<Job>;
  listJobConsoleLogs(jobId: string): Promise<unknown>;
  /** Console log lines (each ending in `\n`) as the job writes them, until it finishes. */
  tailJobConsoleLogs(jobId: string, opts?: { signal?: AbortSignal }): AsyncIterable<string>;
}

const segment = (value: string) => encodeURIComponent(value);

export const jobsMethods: JobsClientMixin & ThisType<BackendClient> = {
  getJob(jobId, opts = {}) {
    return this.get<Job>(`jobs/${segment(jobId)}/`, { params: opts.params, schema: 'job' });
  },

  listJobs(params, opts) {
    return paginate(this, 'jobs/', params, { schema: 'job', ...opts });
  },

  updateJob(jobId, data) {
    return this.patch<Job>(`jobs/${segment(jobId)}/`, { data, schema: 'job' });
  },

  listJobConsoleLogs(jobId) {
    return this.get(`jobs/${segment(jobId)}/console_logs/`);
  },

  async *tailJobConsoleLogs(jobId, opts = {}) {
    const lines = this.streamLines(`async/jobs/${segment(jobId)}/tail_console_logs/`, {
      signal: opts.signal,
    });
    for await (const line of lines) if (line) yield `${line}\n`;
  },
};
