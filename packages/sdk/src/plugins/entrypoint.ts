/**
 * Entrypoints (plugins.md §3.2): from `module.path.Export` or `module/path.ts:Export` to a file of
 * the plugin, then to the exported action.
 */
import { existsSync, realpathSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BaseServeDeployment } from '../serve/deployment.ts';
import { type ActionClass, type FunctionAction, isActionClass } from './action.ts';
import {
  isPathModule,
  MODULE_EXTENSIONS,
  modulePath,
  quoteEntrypoint,
  SAFE_ENTRYPOINT_HINT,
  splitEntrypoint,
  unsafeEntrypointReason,
} from './entrypoint-path.ts';
import { ActionNotFoundError, ExecutionError, PluginValidationError } from './errors.ts';

export { MODULE_EXTENSIONS, splitEntrypoint };

const TS_EXTENSIONS = ['.ts', '.mts'];
const INDEX_FILES = ['index.ts', 'index.js'];

/** What an entrypoint may name: an action class, a `defineAction` function, a serve deployment or a plain function. */
export type ActionExport =
  | ActionClass
  | typeof BaseServeDeployment
  | FunctionAction
  | ((params: any, ctx: any) => unknown);

/**
 * Turns an export that is not an action into one, or answers undefined when it does not know it.
 * An action family that accepts an older export shape (ToTask's plain converter class, to-task.md
 * §11) gives one, so this layer runs it without knowing the family: the caller that loads
 * entrypoints passes the adapters it wants (the SDK's runners pass `STOCK_EXPORT_ADAPTERS`).
 * Asynchronous, so that an adapter loads its action family only for an export it recognises.
 */
export type ExportAdapter = (value: unknown) => Promise<ActionExport | undefined>;

export interface LoadEntrypointOptions {
  /** Tried in order on an export that is not an action; the first answer wins. */
  adapters?: readonly ExportAdapter[];
}

export interface EntrypointTarget {
  /** The module part as written (`plugin.train`, `./plugin/train.ts`). */
  module: string;
  exportName: string;
  /** Absolute path of the module's file. */
  file: string;
}

/** The dotted form (`a.b:C` → `a.b.C`), which resolves to the same export. */
export function normalizeEntrypoint(entrypoint: string): string {
  return entrypoint.replace(':', '.');
}

/** An entrypoint that would import a file from outside the plugin folder. */
function unsafe(entrypoint: string, reason: string): PluginValidationError {
  return new PluginValidationError(
    `Unsafe entrypoint '${quoteEntrypoint(entrypoint)}': ${reason}; ${SAFE_ENTRYPOINT_HINT}`,
    { entrypoint },
  );
}

/**
 * The file an entrypoint names, relative to `baseDir`; the first candidate that exists wins. The
 * text is checked first (no absolute path, no `..`), then the file itself: its real path, symbolic
 * links followed, must lie inside the real `baseDir`, or the import is refused.
 */
export function resolveEntrypoint(entrypoint: string, baseDir: string): EntrypointTarget {
  const reason = unsafeEntrypointReason(entrypoint);
  if (reason) throw unsafe(entrypoint, reason);
  const { module, exportName } = splitEntrypoint(entrypoint);
  const isPath = isPathModule(module);
  const stem = modulePath(module);
  const candidates =
    isPath && extname(module)
      ? [module]
      : [...MODULE_EXTENSIONS.map((ext) => stem + ext), ...INDEX_FILES.map((index) => `${stem}/${index}`)];
  const found = candidates.find((candidate) => existsSync(resolve(baseDir, candidate)));
  if (!found) {
    throw new ActionNotFoundError(
      `Cannot resolve entrypoint '${entrypoint}': module '${module}' not found (tried ${candidates.join(', ')})`,
      { entrypoint, tried: candidates },
    );
  }
  const file = resolve(baseDir, found);
  const inside = relative(realpathSync(baseDir), realpathSync(file));
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw unsafe(entrypoint, `${found} leads out of the plugin folder through a symbolic link`);
  return { module, exportName, file };
}

/**
 * Imports a plugin file. Natively first: where a TypeScript loader is active (the CLI run from the
 * repo's sources registers tsx; vitest has its own) the plugin then shares this process's module
 * graph, SDK included. Otherwise TypeScript goes through tsx's `tsImport` (Node 20 cannot strip
 * types), loaded only then: the compiled SDK does not load tsx for JavaScript-only use.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return await import(url);
  } catch (e) {
    const unloadable = (e as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION';
    if (!unloadable || !TS_EXTENSIONS.includes(extname(file))) throw e;
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(url, import.meta.url);
  }
}

const isClass = (fn: Function) => Function.prototype.toString.call(fn).startsWith('class');

/** An action export: a BaseAction subclass, a serve deployment class, a defineAction() function or a plain function. */
export function isActionExport(value: unknown): value is ActionExport {
  if (typeof value !== 'function') return false;
  if (!isClass(value)) return true; // a defineAction() function or a plain (params, ctx) function
  // A serve deployment class carries the action mark (its static `dispatch` calls the deployed
  // app), so this layer needs no runtime knowledge of serve/.
  return isActionClass(value);
}

/**
 * Resolves, imports and returns the action an entrypoint names; an export that is no action is
 * given to `options.adapters`.
 */
export async function loadEntrypoint(
  entrypoint: string,
  baseDir: string,
  options: LoadEntrypointOptions = {},
): Promise<ActionExport> {
  const { exportName, file } = resolveEntrypoint(entrypoint, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new ExecutionError(
      `Failed to import action ${entrypoint}: ${(e as Error).message}`,
      { entrypoint },
      { cause: e },
    );
  }
  const fallback = mod.default as { name?: string } | undefined;
  const value = exportName in mod ? mod[exportName] : fallback?.name === exportName ? fallback : undefined;
  if (value === undefined) {
    throw new ActionNotFoundError(`Entrypoint '${entrypoint}': module has no export '${exportName}'`, {
      entrypoint,
    });
  }
  if (!isActionExport(value)) {
    for (const adapt of options.adapters ?? []) {
      const adapted = await adapt(value);
      if (adapted !== undefined) return adapted;
    }
    throw new ActionNotFoundError(
      `Entrypoint '${entrypoint}': export '${exportName}' is not an action (expected a BaseAction subclass, defineAction() or a function)`,
      { entrypoint },
    );
  }
  return value;
}
