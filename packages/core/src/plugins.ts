/** Plugins and plugin releases (backend-api.md §10; routes/plugins.ts, clients/backend/plugins.ts). */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

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
  /** `<plugin code>@<version>` (see releaseCode in protocol.ts). */
  code: z.string(),
  /** MD5 hex of `code`; names the archive and the serve route prefix. */
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
