/**
 * Plugins, their runs and their releases (PluginsClientMixin; client.md §8.5, backend-api.md §10;
 * contract: synapse-core plugins.ts).
 */
import type {
  Plugin,
  PluginCreate,
  PluginRelease,
  PluginReleaseCreate,
  PluginReleaseLookup,
  PluginRunRequest,
} from 'synapse-core';
import type { FileInput } from '../http.ts';
import { paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type {
  Plugin,
  PluginCreate,
  PluginRelease,
  PluginReleaseCreate,
  PluginReleaseLookup,
  PluginRunRequest,
};

export interface PluginsClientMixin {
  listPlugins(params?: QueryParams): Promise<[Plugin[], number]>;
  getPlugin(pluginIdOrCode: number | string): Promise<Plugin>;
  createPlugin(data: PluginCreate): Promise<Plugin>;
  updatePlugin(pluginIdOrCode: number | string, data: Partial<PluginCreate>): Promise<Plugin>;
  /** `{job_id, status}` for job actions, the action's result otherwise. */
  runPlugin(
    pluginIdOrCode: number | string,
    data: PluginRunRequest,
    opts?: { timeout?: number; signal?: AbortSignal },
  ): Promise<any>;
  listPluginReleases(params?: QueryParams): Promise<[PluginRelease[], number]>;
  getPluginRelease(releaseId: number, opts?: { params?: QueryParams }): Promise<PluginRelease>;
  /**
   * A release by `<plugin code>@<version>` or its id (`GET plugin_releases/<lookup>/`), with its
   * plugin embedded (`expand=plugin`) unless `expand` says otherwise (`null` sends none);
   * `params` go over the default `expand`.
   */
  getPluginReleaseByLookup(
    lookup: string | number,
    opts?: { expand?: string | null; params?: QueryParams },
  ): Promise<PluginReleaseLookup>;
  /** Publishes a release: multipart, with `config` and `requirements` as JSON and the zip as `file`. */
  createPluginRelease(data: PluginReleaseCreate, opts: { file: FileInput }): Promise<PluginRelease>;
}

const segment = (value: number | string) => encodeURIComponent(String(value));

export const pluginsMethods: PluginsClientMixin & ThisType<BackendClient> = {
  listPlugins(params) {
    return paginate(this, 'plugins/', params, { schema: 'plugin' });
  },

  getPlugin(pluginIdOrCode) {
    return this.get<Plugin>(`plugins/${segment(pluginIdOrCode)}/`, { schema: 'plugin' });
  },

  createPlugin(data) {
    return this.post<Plugin>('plugins/', { data, schema: 'plugin' });
  },

  updatePlugin(pluginIdOrCode, data) {
    return this.put<Plugin>(`plugins/${segment(pluginIdOrCode)}/`, { data, schema: 'plugin' });
  },

  runPlugin(pluginIdOrCode, data, opts = {}) {
    return this.post(`plugins/${segment(pluginIdOrCode)}/run/`, { data, ...opts });
  },

  listPluginReleases(params) {
    return paginate(this, 'plugin_releases/', params, { schema: 'pluginRelease' });
  },

  getPluginRelease(releaseId, opts = {}) {
    return this.get<PluginRelease>(`plugin_releases/${releaseId}/`, {
      params: opts.params,
      // `expand=plugin` embeds the plugin (typed by getPluginReleaseByLookup's PluginReleaseLookup).
      schema: opts.params?.expand ? 'pluginReleaseLookup' : 'pluginRelease',
    });
  },

  getPluginReleaseByLookup(lookup, opts = {}) {
    const expand = opts.expand === undefined ? 'plugin' : opts.expand;
    // `@` stays readable in the path, as the Python SDK keeps it; anything else unsafe is encoded.
    return this.get<PluginReleaseLookup>(`plugin_releases/${segment(lookup).replace(/%40/g, '@')}/`, {
      params: { ...(expand === null ? {} : { expand }), ...opts.params },
      schema: 'pluginReleaseLookup',
    });
  },

  async createPluginRelease(data, opts) {
    if (!opts?.file) throw new Error('Plugin release file is required');
    return this.post<PluginRelease>('plugin_releases/', {
      data: { ...data, debug: data.debug ?? false },
      files: { file: opts.file },
      schema: 'pluginRelease',
    });
  },
};
