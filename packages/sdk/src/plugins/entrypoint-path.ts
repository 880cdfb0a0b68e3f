/**
 * The file part of an entrypoint (plugins.md §3.2) as text, before any file is touched: how it
 * splits, which path it names, and whether that path stays inside the plugin folder. Kept apart
 * from the importing code so that config validation can use it without loading the SDK's actions.
 */
import { extname, posix, win32 } from 'node:path';

export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs'] as const;

/** Longest entrypoint text quoted back in a message. */
const QUOTED_MAX = 200;

/** Splits at `:` when present, else at the last `.`. */
export function splitEntrypoint(entrypoint: string): { module: string; exportName: string } {
  const at = entrypoint.includes(':') ? entrypoint.lastIndexOf(':') : entrypoint.lastIndexOf('.');
  return { module: entrypoint.slice(0, at), exportName: entrypoint.slice(at + 1) };
}

/** Whether the module part is a path (`plugin/train.ts`) rather than dotted (`plugin.train`). */
export function isPathModule(module: string): boolean {
  return module.includes('/') || (MODULE_EXTENSIONS as readonly string[]).includes(extname(module));
}

/** The module as a path relative to the plugin folder, without extension for the dotted form. */
export function modulePath(module: string): string {
  return isPathModule(module) ? module : module.replaceAll('.', '/');
}

/**
 * Why `entrypoint` may not be used, or null when its module stays inside the plugin folder: an
 * absolute path (`/etc/passwd:X`, `C:\x.js:X`, or a dotted module starting with `.`, which reads
 * as `/...`) or a `..` segment would import a file from anywhere on the machine.
 */
export function unsafeEntrypointReason(entrypoint: string): string | null {
  if (entrypoint.includes('\0')) return 'it contains a NUL character';
  const path = modulePath(splitEntrypoint(entrypoint).module);
  if (posix.isAbsolute(path) || win32.isAbsolute(path)) return 'it is an absolute path';
  if (path.split(/[\\/]/).includes('..')) return "'..' leads out of the plugin folder";
  return null;
}

/** The entrypoint as quoted in a message: JSON-escaped and cut to a bounded length. */
export function quoteEntrypoint(entrypoint: string): string {
  const cut = entrypoint.length > QUOTED_MAX ? `${entrypoint.slice(0, QUOTED_MAX)}…` : entrypoint;
  return JSON.stringify(cut).slice(1, -1);
}

/** The advice every unsafe-entrypoint message ends with. */
export const SAFE_ENTRYPOINT_HINT =
  'an entrypoint names a module inside the plugin folder, e.g. plugin.train.TrainAction or plugin/train.ts:TrainAction';
