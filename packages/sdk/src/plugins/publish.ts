/** `synapse plugin publish` (plugins.md §11.1): sync, archive and upload a plugin release. */
import { rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { BackendClient } from '../clients/backend/index.ts';
import { ValidationError } from '../clients/errors.ts';
import { createArchive } from './archive.ts';
import { findConfigFile } from './config.ts';
import { PluginDiscovery } from './discovery.ts';
import type { ExportAdapter } from './entrypoint.ts';
import { PluginError, PluginUploadError } from './errors.ts';
import { syncConfigFile } from './sync-config.ts';

export interface PublishOptions {
  /** Null when the user has no credentials. */
  client: BackendClient | null;
  /** An explicit config file (`--config`). */
  config?: string;
  /**
   * Let the server overwrite an existing release of this version (`synapse plugin publish
   * --overwrite`); sent as the release's `debug` field, the platform's name for it.
   */
  debug?: boolean;
  /** Build the archive and report it without uploading. */
  dryRun?: boolean;
  warn?: (message: string) => void;
  /** For actions whose export is no action class (the UI schemas of §11.3 import them); see `ExportAdapter`. */
  adapters?: readonly ExportAdapter[];
}

export interface PublishResult {
  /** 0 for a dry run. */
  release_id: number;
  name: string;
  code: string;
  version: string;
  checksum: string;
  files: string[];
  file_count: number;
  archive_size: number;
}

export async function publishPlugin(pluginDir: string, options: PublishOptions): Promise<PublishResult> {
  const { client, debug = false, dryRun = false } = options;
  const warn = options.warn ?? ((message: string) => console.warn(`WARNING: ${message}`));
  // A dry run uploads nothing, so it needs no credentials.
  const headers = client?.getHeaders() ?? {};
  if (!dryRun && !(headers['Synapse-Access-Token'] || headers.Authorization)) {
    throw new PluginUploadError('Not authenticated. Run `synapse login` to authenticate.');
  }

  if (!options.config && !findConfigFile(pluginDir)) {
    throw new PluginError(
      `No config.yaml or synapse.yaml found in ${pluginDir}. Use --config to specify a custom path.`,
    );
  }
  // Validate before touching the file, then load again: syncing may have changed it.
  const load = (warnTypos?: typeof warn) =>
    PluginDiscovery.fromPath(pluginDir, {
      config: options.config,
      adapters: options.adapters,
      warn: warnTypos,
    });
  // Typo'd keys are reported once, by the first load.
  const { pluginDir: dir, configPath } = await load(warn);
  await syncConfigFile(dir, configPath!, { warn }).catch((e) =>
    warn(`Config sync failed: ${(e as Error).message}`),
  );
  const plugin = await load();
  const { name, code, version } = plugin.config;

  const archive = await createArchive(dir);
  try {
    const summary = {
      name,
      code,
      version,
      checksum: archive.checksum,
      files: archive.files,
      file_count: archive.files.length,
      archive_size: archive.size,
    };
    if (dryRun) return { release_id: 0, ...summary };
    const release = await client!
      .createPluginRelease(
        { plugin: code, version, config: await plugin.toConfigDict({ includeUiSchemas: true }), debug },
        { file: archive.path },
      )
      .catch((e) => {
        // The platform refuses a version it has (400 `{"version": ["Version 1.0.0 already exists"]}`).
        const exists = e instanceof ValidationError && isRecord(e.detail) && Array.isArray(e.detail.version);
        const message = exists
          ? `Version ${version} of plugin '${code}' already exists on the platform. Bump \`version\` in ` +
            `${basename(configPath!)} to publish a new release, or replace this one with \`--overwrite\`.`
          : (e as Error).message;
        throw new PluginUploadError(`Failed to upload plugin: ${message}`, {}, { cause: e });
      });
    return { release_id: release.id, ...summary };
  } finally {
    await rm(dirname(archive.path), { recursive: true, force: true });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
