/**
 * Loading entrypoints with the SDK's own action families in view. The plugin framework
 * (plugins/entrypoint.ts) loads any action but knows no family; a family that accepts an older
 * export shape gives an `ExportAdapter`, and the runners above (executors, CLI, the public
 * `loadEntrypoint`) load through this module so every such shape keeps working.
 */
import {
  type ActionExport,
  type ExportAdapter,
  type LoadEntrypointOptions,
  loadEntrypoint as loadPluginEntrypoint,
} from '../plugins/entrypoint.ts';
import { adaptLegacyConverter } from './pre-annotation/to-task/legacy-converter.ts';

/** Older ToTask plugins' plain converter classes (to-task.md §11). Frozen: shared by every caller. */
export const STOCK_EXPORT_ADAPTERS: readonly ExportAdapter[] = Object.freeze([adaptLegacyConverter]);

/**
 * Resolves, imports and returns the action an entrypoint names (plugins.md §3.2); an export that is
 * no action goes through `STOCK_EXPORT_ADAPTERS`, then through `options.adapters`.
 */
export function loadEntrypoint(
  entrypoint: string,
  baseDir: string,
  options: LoadEntrypointOptions = {},
): Promise<ActionExport> {
  return loadPluginEntrypoint(entrypoint, baseDir, {
    adapters: [...STOCK_EXPORT_ADAPTERS, ...(options.adapters ?? [])],
  });
}
