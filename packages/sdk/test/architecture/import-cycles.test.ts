/**
 * #13 item 6: the workspace's sources import each other without cycles (`npm run check:cycles`,
 * part of `npm test`), and the check sees the imports that make one: lazy `import()`, re-exports
 * and the packages' own names, but not type-only imports, which Node never loads.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { findCycles, importGraph, upwardImports } from '../../../../scripts/check-cycles.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../../..');
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A package folder with these files (paths relative to it). */
async function fixturePackage(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synapse-cycles-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const PACKAGE_JSON = JSON.stringify({
  name: 'fixture-pkg',
  exports: { '.': { 'synapse-source': './src/index.ts', default: './dist/index.js' } },
  imports: { '#low': { 'synapse-source': './src/low.ts' } },
});

describe('import cycles', () => {
  it('finds none among packages/*/src', () => {
    const cycles = findCycles(importGraph([join(ROOT, 'packages/sdk'), join(ROOT, 'packages/devserver')]));
    expect(cycles.map((loop) => loop.map((f) => relative(ROOT, f)))).toEqual([]);
  });

  it("imports the SDK's layers downwards only, with no exception", () => {
    // The plugin framework runs any action without knowing serve/ or ToTask (an older ToTask
    // export reaches it as an adapter its caller passes), and serve/ needs nothing of actions/.
    const upward = upwardImports(importGraph([join(ROOT, 'packages/sdk')]), join(ROOT, 'packages/sdk/src'));
    expect(upward).toEqual([]);
  });

  it('sees a cycle closed by a lazy import(), a re-export or a package name', async () => {
    const dir = await fixturePackage({
      'package.json': PACKAGE_JSON,
      'src/index.ts': "export { high } from './high.ts';\n",
      // The lazy import dodges nothing: the two modules still need each other.
      'src/high.ts': "export async function high() { return (await import('#low')).low; }\n",
      'src/low.ts': "import { high } from 'fixture-pkg';\nexport const low = () => high;\n",
    });
    const cycles = findCycles(importGraph([dir]));
    expect(cycles).toHaveLength(1);
    const loop = cycles[0]!.map((f) => relative(dir, f));
    // One loop through the three modules, back where it started: high → low → index → high.
    expect(loop).toEqual(['src/high.ts', 'src/low.ts', 'src/index.ts', 'src/high.ts']);
  });

  it('ignores type-only imports and fails the command only for a real cycle', async () => {
    const typesOnly = await fixturePackage({
      'package.json': PACKAGE_JSON,
      'src/index.ts':
        "import type { Low } from './low.ts';\nexport type High = Low;\nexport const high = 1;\n",
      'src/low.ts': "import { type High } from './index.ts';\nexport type Low = { high: High };\n",
    });
    expect(findCycles(importGraph([typesOnly]))).toEqual([]);
    const ok = await run(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/check-cycles.ts', typesOnly], {
      cwd: ROOT,
    });
    expect(ok.stdout).toContain('no import cycles');

    const cyclic = await fixturePackage({
      'package.json': PACKAGE_JSON,
      'src/index.ts': "import './low.ts';\n",
      'src/low.ts': "export * from './index.ts';\n",
    });
    const failed = await run(join(ROOT, 'node_modules/.bin/tsx'), ['scripts/check-cycles.ts', cyclic], {
      cwd: ROOT,
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/1 import cycle\(s\)[\s\S]*index\.ts[\s\S]*low\.ts/);
  });
});
