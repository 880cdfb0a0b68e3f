/**
 * `npm pack` of the published packages into a directory, as a user would get them from the
 * registry. Each pack builds its package first (its prepack script); the contract (synapse-core)
 * comes first because both others' builds read its .d.ts files, then the SDK, whose .d.ts files
 * the devserver's build reads. And the checks of a tarball: publint and
 * @arethetypeswrong/cli. Used by `npm run check:packages` and the install test.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** The published packages, in build order: the contract first, as both others import it. */
export const PUBLISHED = [
  { name: 'synapse-core', dir: join(ROOT, 'packages/core') },
  { name: 'synapse-sdk', dir: join(ROOT, 'packages/sdk') },
  { name: 'synapse-devserver', dir: join(ROOT, 'packages/devserver') },
] as const;

export interface PackedPackage {
  name: string;
  /** The tarball's path. */
  tarball: string;
  /** Bytes of the tarball and of its files unpacked. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/** Never in a tarball: tests, benches, examples, scratch directories, the build's own config. */
const FORBIDDEN = /^(test|test-ray|bench|examples|build)\/|(^|\/)\.tmp\/|^tsconfig/;

export async function packPackages(destination: string): Promise<PackedPackage[]> {
  const packed: PackedPackage[] = [];
  for (const { name, dir } of PUBLISHED) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: dir,
      maxBuffer: 64 * 1024 * 1024,
    });
    // npm prints the prepack script's output before the JSON.
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    const files: string[] = info.files.map((f: { path: string }) => f.path);
    const forbidden = files.filter((file) => FORBIDDEN.test(file));
    if (forbidden.length > 0)
      throw new Error(`${name}'s tarball holds files it must not publish: ${forbidden.join(', ')}`);
    packed.push({
      name,
      tarball: join(destination, info.filename),
      size: info.size,
      unpackedSize: info.unpackedSize,
      files,
    });
  }
  return packed;
}

const BIN = join(ROOT, 'node_modules/.bin');

/**
 * publint (warnings count as errors) and attw on a tarball: their output, and whether both
 * passed. attw runs with its `esm-only` profile: the packages are ESM only (engines: node >=20.19,
 * where `require()` of an ES module works; the install test shows it), so its checks of a
 * CommonJS resolution and of the pre-exports `node10` resolution do not apply.
 */
export async function lintTarball(tarball: string): Promise<{ ok: boolean; output: string }> {
  let ok = true;
  let output = '';
  for (const [command, args] of [
    ['publint', ['run', tarball, '--strict']],
    ['attw', [tarball, '--profile', 'esm-only', '--no-color']],
  ] as const) {
    const result = await run(join(BIN, command), args, { maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ passed: true, text: stdout + stderr }),
      (err) => ({ passed: false, text: `${err.stdout ?? ''}${err.stderr ?? ''}` || String(err) }),
    );
    ok &&= result.passed;
    output += `${result.text.trimEnd()}\n`;
  }
  return { ok, output };
}
