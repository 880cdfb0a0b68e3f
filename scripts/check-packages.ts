/**
 * `npm run check:packages`: packs each published package and checks the tarball as the registry
 * would serve it, with publint and @arethetypeswrong/cli (see lintTarball), and prints its size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintTarball, packPackages } from './pack-packages.ts';

const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

const dir = await mkdtemp(join(tmpdir(), 'synapse-pack-'));
let failed = false;
try {
  for (const pkg of await packPackages(dir)) {
    console.log(
      `\n== ${pkg.name}: ${pkg.files.length} files, tarball ${kB(pkg.size)}, unpacked ${kB(pkg.unpackedSize)}`,
    );
    const { ok, output } = await lintTarball(pkg.tarball);
    console.log(output.trimEnd());
    failed ||= !ok;
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (failed) {
  console.error('\ncheck:packages: FAILED');
  process.exit(1);
}
console.log('\ncheck:packages: all packages pass publint and attw');
