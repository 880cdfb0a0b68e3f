/**
 * `npm run pack:local`: the three packages as tarballs in `.packages/`, for a plugin project to
 * install before they are on the npm registry (`npm install <repo>/.packages/*.tgz`). Each is
 * built first (its prepack script), as `npm publish` would.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packPackages } from './pack-packages.ts';

const destination = join(import.meta.dirname, '..', '.packages');
await rm(destination, { recursive: true, force: true });
await mkdir(destination);
const packed = await packPackages(destination);
console.log(`Packed into ${destination}:`);
for (const { tarball } of packed) console.log(`  ${tarball}`);
console.log(`In your plugin folder: npm install ${packed.map((p) => p.tarball).join(' ')}`);
