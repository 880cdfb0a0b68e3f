#!/usr/bin/env node
/**
 * Builds one workspace package for publishing: `tsc -p <package>/tsconfig.build.json` into a fresh
 * `dist/` (JavaScript, .d.ts and maps), plus the files under src/ that are not TypeScript (the
 * dashboard's assets, the Ray ingress script), which the code reads beside itself at run time.
 *
 *   node scripts/build-package.mjs <package dir> [--out-dir <dir>]
 *
 * The repo's own loop (npm test, npm start) runs the sources and needs no build; `npm run build`
 * and the packaging check and test use this.
 */
import { execFileSync } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { 'out-dir': { type: 'string' } },
});
if (positionals.length !== 1) {
  console.error('usage: node scripts/build-package.mjs <package dir> [--out-dir <dir>]');
  process.exit(2);
}
const pkg = resolve(positionals[0]);
const outDir = resolve(values['out-dir'] ?? join(pkg, 'dist'));
const src = join(pkg, 'src');

// A fresh directory: a module deleted from src/ must not live on in the package.
await rm(outDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(pkg, 'tsconfig.build.json'), '--outDir', outDir], {
  stdio: 'inherit',
});
for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
  const file = join(entry.parentPath, entry.name);
  await cp(file, join(outDir, relative(src, file)));
}
