/**
 * The response schemas by name, for clients that must not load zod until they check a response:
 * the SDK's client modules name the schema of each call (`'model'`, `['task']` for a list) and
 * import this package only when response checks are on.
 */
import { z } from 'zod';
import {
  agentContainerSchema,
  agentPolicySchema,
  clusterResourcesSchema,
  gpuStatusSchema,
  systemStatusSchema,
} from './agent.ts';
import { agentSchema } from './agents.ts';
import { contractMismatch } from './check.ts';
import { chunkedUploadSchema } from './chunked-upload.ts';
import {
  dataCollectionListItemSchema,
  dataCollectionSchema,
  dataFileSchema,
  dataUnitSchema,
} from './data-collections.ts';
import { groundTruthEventSchema, groundTruthSchema, groundTruthVersionSchema } from './ground-truth.ts';
import { jobSchema } from './jobs.ts';
import { logSchema } from './logs.ts';
import { modelSchema } from './models.ts';
import { pluginReleaseLookupSchema, pluginReleaseSchema, pluginSchema } from './plugins.ts';
import { projectSchema } from './projects.ts';
import { serveApplicationSchema } from './serve-applications.ts';
import { storageSchema } from './storages.ts';
import {
  dataListItemSchema,
  filesListItemSchema,
  setTagsResultSchema,
  taskSchema,
  taskTagSchema,
} from './tasks.ts';

export const RESPONSE_SCHEMAS = {
  agent: agentSchema,
  agentContainer: agentContainerSchema,
  agentPolicy: agentPolicySchema,
  chunkedUpload: chunkedUploadSchema,
  clusterResources: clusterResourcesSchema,
  dataCollection: dataCollectionSchema,
  dataCollectionListItem: dataCollectionListItemSchema,
  dataFile: dataFileSchema,
  dataUnit: dataUnitSchema,
  dataListItem: dataListItemSchema,
  filesListItem: filesListItemSchema,
  groundTruth: groundTruthSchema,
  groundTruthEvent: groundTruthEventSchema,
  groundTruthVersion: groundTruthVersionSchema,
  gpuStatus: gpuStatusSchema,
  job: jobSchema,
  log: logSchema,
  model: modelSchema,
  plugin: pluginSchema,
  pluginRelease: pluginReleaseSchema,
  pluginReleaseLookup: pluginReleaseLookupSchema,
  project: projectSchema,
  serveApplication: serveApplicationSchema,
  setTagsResult: setTagsResultSchema,
  storage: storageSchema,
  systemStatus: systemStatusSchema,
  task: taskSchema,
  taskTag: taskTagSchema,
} as const;

export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;

/** One record (`'model'`), or a list of them (`['task']`). */
export type ResponseShape = ResponseSchemaName | readonly [ResponseSchemaName];

/** The envelope of a paginated list around `item` (DRF's page-number pagination). */
export function pageSchema(item: z.ZodType) {
  return z.looseObject({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}

function schemaOf(shape: ResponseShape): z.ZodType {
  return typeof shape === 'string' ? RESPONSE_SCHEMAS[shape] : z.array(RESPONSE_SCHEMAS[shape[0]]);
}

/** null when `body` is a response of this shape (or a page of them, with `page`), else what is wrong. */
export function responseMismatch(shape: ResponseShape, body: unknown, page = false): string | null {
  const schema = schemaOf(shape);
  return contractMismatch(page ? pageSchema(schema) : schema, body);
}
