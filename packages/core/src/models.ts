/** Models (backend-api.md §8; routes/models.ts, clients/backend/models.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

export const modelSchema = z.looseObject({
  id,
  name: z.string(),
  description: z.string(),
  model_type: z.string().nullable(),
  project: id.nullable(),
  plugin: id.nullable(),
  version: z.string().nullable(),
  category: z.string().nullable(),
  /** The model file's URL, null until a chunked upload is attached. */
  file: z.string().nullable(),
  metrics: jsonObject,
  configuration: jsonObject,
  is_active: z.boolean(),
  created_at: timestamp,
});
export type Model = z.infer<typeof modelSchema>;

/** POST models/: the file arrives as a finished chunked upload. */
export const modelCreateSchema = z.looseObject({
  name: z.string().refine((name) => name.trim() !== '', { error: 'This field is required.' }),
  description: z.string().optional(),
  model_type: z.string().nullable().optional(),
  project: id.nullable().optional(),
  plugin: id.nullable().optional(),
  version: z.string().nullable().optional(),
  category: z.string().nullable().optional(),
  metrics: jsonObject.optional(),
  configuration: jsonObject.optional(),
  is_active: z.boolean().optional(),
  parent: id.nullable().optional(),
  /** The id of a finished chunked upload (a UUID on the local platform) holding the model file. */
  chunked_upload: z.union([z.string(), id]).nullable().optional(),
});
export type ModelCreate = z.infer<typeof modelCreateSchema>;
