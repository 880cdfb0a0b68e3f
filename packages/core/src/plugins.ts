/** Plugins and plugin releases (backend-api.md §10; routes/plugins.ts, clients/backend/plugins.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

/** Plugin categories (plugins.md §2.1); the server also knows `converter`, which the SDK never produces. */
export const PLUGIN_CATEGORIES = [
  'neural_net',
  'export',
  'upload',
  'smart_tool',
  'post_annotation',
  'pre_annotation',
  'data_validation',
  'custom',
] as const;
export type PluginCategory = (typeof PLUGIN_CATEGORIES)[number];

/** How an action runs (plugins.md §2.2): each action's `method` in a release's config. */
export const RUN_METHODS = ['job', 'task', 'serve', 'restapi'] as const;
export type RunMethod = (typeof RUN_METHODS)[number];

/** A release config's `package_manager` (plugins.md §2.3, §10.6). */
export const PACKAGE_MANAGERS = ['pip', 'uv'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

/** A release config's `data_type` (plugins.md §2.3). */
export const DATA_TYPES = ['image', 'text', 'video', 'pcd', 'audio'] as const;
export type DataType = (typeof DATA_TYPES)[number];

/** A smart tool's `annotation_category`, `annotation_type` and `smart_tool` in a release config (plugins.md §1). */
export const ANNOTATION_CATEGORIES = [
  'object_detection',
  'classification',
  'segmentation',
  'keypoint',
  'text',
] as const;
export const ANNOTATION_TYPES = ['bbox', 'polygon', 'point', 'line', 'mask', 'label'] as const;
export const SMART_TOOLS = ['interactive', 'automatic', 'semi_automatic'] as const;

/**
 * An action's run method when its config names none (plugins.md §2.2 ACTION_DEFAULT_METHODS): what
 * `update-config` writes for a new action and how the platform runs a code-only plugin's action.
 */
export function defaultMethodFor(action: string): RunMethod {
  if (action === 'inference') return 'serve';
  const jobs = [
    'upload',
    'export',
    'download',
    'convert',
    'train',
    'test',
    'deployment',
    'add_task_data',
    'to_task',
  ];
  return jobs.includes(action) ? 'job' : 'task';
}

export const pluginSchema = z.looseObject({
  id,
  code: z.string(),
  name: z.string(),
  category: z.string(),
  description: z.string(),
  is_active: z.boolean(),
  is_public: z.boolean(),
  system_only: z.boolean(),
  detail: jsonObject,
  created: timestamp,
});
export type Plugin = z.infer<typeof pluginSchema>;

export const pluginCreateSchema = z.looseObject({
  name: z.string(),
  code: z.string(),
  /** A plugin category (plugins.md §2.1); a string, so a category the platform adds passes. */
  category: z.string(),
  description: z.string().optional(),
  is_public: z.boolean().optional(),
  is_active: z.boolean().optional(),
  system_only: z.boolean().optional(),
  detail: jsonObject.optional(),
});
export type PluginCreate = z.infer<typeof pluginCreateSchema>;

/** POST plugins/<id or code>/run/. */
export const pluginRunRequestSchema = z.looseObject({
  agent: id.optional(),
  action: z.string().optional(),
  /** Release version; the server defaults to the newest release. */
  version: z.string().optional(),
  params: jsonObject.optional(),
  storage_id: id.nullable().optional(),
  job_id: z.string().nullable().optional(),
  debug: z.boolean().optional(),
});
export type PluginRunRequest = z.infer<typeof pluginRunRequestSchema>;

export const pluginReleaseSchema = z.looseObject({
  id,
  plugin: id,
  plugin_code: z.string(),
  version: z.string(),
  /** `<plugin code>@<version>` (releaseCode in run-protocol.ts). */
  code: z.string(),
  /** MD5 hex of `code` (releaseChecksum in run-protocol.ts); names the archive and the serve route prefix. */
  checksum: z.string(),
  config: z.record(z.string(), z.any()),
  requirements: z.array(z.string()),
  debug: z.boolean(),
  file: z.string().nullable(),
  archive_checksum: z.string().optional(),
  created: timestamp,
});
export type PluginRelease = z.infer<typeof pluginReleaseSchema>;

/** `GET plugin_releases/<id or code@version>/`: with `?expand=plugin`, the plugin itself in `plugin`. */
export const pluginReleaseLookupSchema = pluginReleaseSchema.extend({ plugin: z.union([id, pluginSchema]) });
export type PluginReleaseLookup = z.infer<typeof pluginReleaseLookupSchema>;

/** The non-file fields of the multipart POST plugin_releases/. */
export const pluginReleaseCreateSchema = z.object({
  /** The plugin's code. */
  plugin: z.string(),
  version: z.string(),
  config: jsonObject.optional(),
  requirements: z.array(z.string()).optional(),
  /** Let the server overwrite an existing release of this version. */
  debug: z.boolean().optional(),
});
export type PluginReleaseCreate = z.infer<typeof pluginReleaseCreateSchema>;
