/** Serve applications (backend-api.md §13; routes/serve-applications.ts, clients/backend/serve-applications.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

/** Ray Serve's application statuses, in their wire casing. */
export const SERVE_APPLICATION_STATUSES = [
  'NOT_STARTED',
  'DEPLOYING',
  'RUNNING',
  'DEPLOY_FAILED',
  'UNHEALTHY',
  'DELETING',
] as const;
export type ServeApplicationStatus = (typeof SERVE_APPLICATION_STATUSES)[number];
export const serveApplicationStatusSchema = z.enum(SERVE_APPLICATION_STATUSES);

export const serveApplicationSchema = z.looseObject({
  id,
  name: z.string(),
  status: serveApplicationStatusSchema,
  plugin_release: id.nullable(),
  plugin_code: z.string(),
  agent: id.nullable(),
  job: z.string().nullable(),
  route_prefix: z.string().nullable(),
  num_replicas: z.number().int(),
  data: jsonObject,
  created: timestamp,
  modified: timestamp,
});
export type ServeApplication = z.infer<typeof serveApplicationSchema>;

/** A deployment's report of its app: `{job, status, data}`. */
export const serveApplicationReportSchema = z.looseObject({
  job: z.string(),
  status: serveApplicationStatusSchema.optional(),
  data: jsonObject,
});
/** A declaration of a release's app. */
export const serveApplicationDeclarationSchema = z.looseObject({
  name: z.string(),
  plugin_release: id,
  action: z.string().optional(),
  params: jsonObject.optional(),
  num_replicas: z.number().int().optional(),
});
/** POST serve_applications/: either a deployment's report or a declaration. */
export const serveApplicationCreateSchema = z.union([
  serveApplicationReportSchema,
  serveApplicationDeclarationSchema,
]);
export type ServeApplicationCreate = z.infer<typeof serveApplicationCreateSchema>;
