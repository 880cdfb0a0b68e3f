/**
 * `npm pack` of the published packages into a directory, as a user would get them from the
 * registry. Each pack builds its package first (its prepack script); the SDK comes first because
 * the devserver's build reads the SDK's .d.ts files. Used by the packaging check and its test.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** The published packages, in build order. */
export const PUBLISHED = [
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
