/** Ground truth datasets, versions and events (backend-api.md §9; routes/ground-truth.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

export const groundTruthEventSchema = z.looseObject({
  id,
  ground_truth_dataset_version: id,
  category: z.string(),
  data: jsonObject,
  /** The event's data unit ({id, meta, files}), null when it has none. */
  data_unit: jsonObject.nullable(),
  files: jsonObject,
  metadata: jsonObject,
  created_at: timestamp,
});
export type GroundTruthEvent = z.infer<typeof groundTruthEventSchema>;

export const groundTruthSchema = z.looseObject({
  ...groundTruthEventSchema.shape,
  ground_truth_dataset: id,
});
export type GroundTruth = z.infer<typeof groundTruthSchema>;

export const groundTruthVersionSchema = z.looseObject({
  id,
  version: z.string(),
  ground_truth_dataset: z.looseObject({ id, name: z.string(), project: id.nullable() }),
  description: z.string(),
  event_count: z.number().int(),
  is_active: z.boolean(),
  is_archived: z.boolean(),
  statistics: jsonObject,
  created_at: timestamp,
});
export type GroundTruthVersion = z.infer<typeof groundTruthVersionSchema>;
