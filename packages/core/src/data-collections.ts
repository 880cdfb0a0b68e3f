/** Data collections, data files and data units (backend-api.md §5; routes/data-collections.ts, routes/data-units.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

export const fileSpecificationSchema = z.looseObject({
  id,
  name: z.string(),
  description: z.string(),
  file_type: z.string(),
  is_required: z.boolean(),
  is_primary: z.boolean(),
  is_sequential: z.boolean(),
  function_type: z.string(),
  index: z.number().int(),
  extensions: z.array(z.string()),
});
export type FileSpecification = z.infer<typeof fileSpecificationSchema>;

export const dataCollectionSchema = z.looseObject({
  id,
  name: z.string(),
  category: z.string(),
  description: z.string(),
  meta: jsonObject,
  file_specifications: z.array(fileSpecificationSchema),
  created: timestamp,
});
export type DataCollection = z.infer<typeof dataCollectionSchema>;

/**
 * A collection as the list answers it: its file specifications are ids unless the request asks
 * for `expand=file_specifications` (the detail call of the SDK always does).
 */
export const dataCollectionListItemSchema = z.looseObject({
  ...dataCollectionSchema.shape,
  file_specifications: z.array(z.union([fileSpecificationSchema, id])),
});

/**
 * One file of a data unit; sequential specifications hold a list of them, each with `index`.
 * Only `url` is certain: clients must fall back from `file_name_original` to `filename` or `name`
 * (backend-api.md §4), and fixtures or older servers leave out checksum and size.
 */
export const dataUnitFileSchema = z.looseObject({
  url: z.string(),
  is_primary: z.boolean().optional(),
  file_name_original: z.string().optional(),
  checksum: z.string().optional(),
  size: z.number().optional(),
  index: z.number().int().optional(),
});
export type DataUnitFile = z.infer<typeof dataUnitFileSchema>;

/**
 * A data unit's files keyed by file specification name. Typed as this keyed form, the one the
 * platform sends and the SDK's callers index by name.
 */
export type DataUnitFiles = Record<string, DataUnitFile | DataUnitFile[]>;

/**
 * The check also admits a list of file objects that name their specification (`specification`,
 * `specification_name` or `name`), which clients must accept (backend-api.md §4) and ToTask reads
 * through its own fallbacks; the static type stays the keyed form above.
 */
export const dataUnitFilesSchema = z.union([
  z.record(z.string(), z.union([dataUnitFileSchema, z.array(dataUnitFileSchema)])),
  z.array(dataUnitFileSchema),
]) as unknown as z.ZodType<DataUnitFiles>;

export const dataUnitSchema = z.looseObject({
  id,
  data_collection: id,
  meta: jsonObject,
  files: dataUnitFilesSchema,
  created: timestamp,
});
export type DataUnit = z.infer<typeof dataUnitSchema>;

export const dataFileSchema = z.looseObject({
  id,
  file: z.string(),
  checksum: z.string(),
  size: z.number(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type DataFile = z.infer<typeof dataFileSchema>;
