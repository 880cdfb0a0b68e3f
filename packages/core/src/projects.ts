/** Projects (backend-api.md §3; routes/projects.ts, clients/backend/projects.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

export const projectSchema = z.looseObject({
  id,
  title: z.string(),
  category: z.string(),
  description: z.string(),
  data_collection: id.nullable(),
  configuration: jsonObject,
  is_archived: z.boolean(),
  task_count: z.number().int(),
  created: timestamp,
});
export type Project = z.infer<typeof projectSchema>;
