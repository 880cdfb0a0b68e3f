/** Storages (backend-api.md §6; routes/storages.ts, clients/backend/storages.ts). */
import { z } from 'zod';
import { id, jsonObject } from './json.ts';

export const storageSchema = z.looseObject({
  id,
  name: z.string(),
  category: z.string(),
  provider: z.string(),
  /** Only with `with_configuration=true`. */
  configuration: jsonObject.optional(),
  is_default: z.boolean(),
});
export type Storage = z.infer<typeof storageSchema>;
