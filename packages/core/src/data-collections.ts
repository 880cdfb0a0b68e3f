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

/** One file of a data unit; sequential specifications hold a list of them, each with `index`. */
export const dataUnitFileSchema = z.looseObject({
  url: z.string(),
  is_primary: z.boolean(),
  file_name_original: z.string(),
  checksum: z.string(),
  size: z.number(),
  index: z.number().int().optional(),
});
export type DataUnitFile = z.infer<typeof dataUnitFileSchema>;

/** A data unit's files keyed by file specification name. */
export const dataUnitFilesSchema = z.record(
  z.string(),
  z.union([dataUnitFileSchema, z.array(dataUnitFileSchema)]),
);
export type DataUnitFiles = z.infer<typeof dataUnitFilesSchema>;

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
