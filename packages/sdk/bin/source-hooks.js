/**
 * Module hooks for running the SDK from its TypeScript sources (registered by source-loader.js).
 * The repo's own loop starts many short processes (the CLI, job entrypoints, task and serve
 * workers); tsx made each spend a third of its start-up in a general-purpose loader (its resolver,
 * CommonJS hooks, tsconfig lookups). This does only what the sources need:
 *
 * - resolve: the `synapse-source` export condition, and `./x.js` to `./x.ts` where only the
 *   TypeScript file exists (the sources import with the extension the build will have);
 * - load: a `.ts` file is transpiled by esbuild (types stripped, no type check) once per content;
 *   the JavaScript is kept in the temp folder, so later processes read it instead.
 *
 * Every `.ts` file is loaded as an ES module, plugin code included: the repo's plugins and test
 * fixtures are. Published packages run dist/ and never load this.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONDITION = 'synapse-source';
const TYPESCRIPT = /\.[cm]?ts$/;

// Per user, like tsx's cache: another user's files there would be code this process runs.
const CACHE_DIR = join(tmpdir(), `synapse-sources-${process.getuid?.() ?? 0}`);
let esbuild;

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent?.startsWith('file:') && TYPESCRIPT.test(parent) && /^\.{1,2}\/.*\.js$/.test(specifier)) {
    const source = new URL(`${specifier.slice(0, -3)}.ts`, parent);
    if (existsSync(source)) return { url: source.href, format: 'module', shortCircuit: true };
  }
  const conditions = context.conditions.includes(CONDITION)
    ? context.conditions
    : [...context.conditions, CONDITION];
  return nextResolve(specifier, { ...context, conditions });
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(url)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const typescript = readFileSync(file, 'utf8');
  return { format: 'module', source: await transpiled(file, typescript), shortCircuit: true };
}

/** The file's JavaScript: from the cache when this content was transpiled before. */
async function transpiled(file, typescript) {
  esbuild ??= await import('esbuild');
  // The file's path is in the key: the inline source map names it.
  const key = createHash('sha1').update(`${esbuild.version}\0${file}\0${typescript}`).digest('hex');
  const cached = join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // Not transpiled yet.
  }
  const { code } = await esbuild.transform(typescript, {
    loader: 'ts',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcefile: file,
    sourcemap: 'inline',
  });
  mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
  // Written aside and renamed: a process starting meanwhile reads all of it or nothing.
  const partial = `${cached}.${process.pid}.${Date.now()}`;
  writeFileSync(partial, code);
  renameSync(partial, cached);
  return code;
}
