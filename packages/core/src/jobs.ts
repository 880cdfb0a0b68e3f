/** Jobs and their console logs (backend-api.md §11; routes/jobs.ts, clients/backend/jobs.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

/** Job statuses in their wire casing (upper case); the server accepts either case on update. */
export const JOB_STATUSES = ['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const jobStatusSchema = z.enum(JOB_STATUSES);

/** Statuses a job never leaves. */
export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['STOPPED', 'SUCCEEDED', 'FAILED']);

const consoleLogs = z.union([z.array(z.string()), jsonObject]).nullable();

export const jobSchema = z.looseObject({
  /** A UUID. */
  id: z.string(),
  status: jobStatusSchema,
  action: z.string(),
  plugin_release: id.nullable(),
  agent: id.nullable(),
  params: jsonObject,
  progress_record: jsonObject.nullable(),
  metrics_record: jsonObject.nullable(),
  result: z.unknown(),
  console_logs: consoleLogs,
  is_active: z.boolean(),
  created: timestamp,
  modified: timestamp,
  completed: timestamp.nullable(),
});
export type Job = z.infer<typeof jobSchema>;

/** PATCH jobs/<id>/. */
export const jobUpdateSchema = z.object({
  /** Either case: the server stores it upper case. */
  status: z
    .string()
    .refine((s) => (JOB_STATUSES as readonly string[]).includes(s.toUpperCase()), {
      error: `must be one of ${JOB_STATUSES.join(', ')} (either case)`,
    })
    .optional(),
  progress_record: jsonObject.nullable().optional(),
  metrics_record: jsonObject.nullable().optional(),
  console_logs: consoleLogs.optional(),
  result: z.unknown().optional(),
});
export type JobUpdate = z.infer<typeof jobUpdateSchema>;
