/**
 * `npm run check:packages`: packs each published package and checks the tarball as the registry
 * would serve it: publint (package.json, exports, files; warnings count as errors) and
 * @arethetypeswrong/cli (the .d.ts files as TypeScript resolves them). Prints each tarball's size.
 *
 * attw runs with its `esm-only` profile: the packages are ESM only (engines: node >=20.19, where
 * `require()` of an ES module works; the install test shows it), so attw's checks of a CommonJS
 * resolution and of the pre-exports `node10` resolution do not apply.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packPackages } from './pack-packages.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../node_modules/.bin');
const kB = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

/** Runs a checker; prints its output; true when it passed. */
async function check(command: string, args: string[]): Promise<boolean> {
  const result = await run(join(BIN, command), args, { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (err) => ({ ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || String(err) }),
  );
  console.log(result.output.trimEnd());
  return result.ok;
}

const dir = await mkdtemp(join(tmpdir(), 'synapse-pack-'));
let failed = false;
try {
  for (const pkg of await packPackages(dir)) {
    console.log(
      `\n== ${pkg.name}: ${pkg.files.length} files, tarball ${kB(pkg.size)}, unpacked ${kB(pkg.unpackedSize)}`,
    );
    failed = !(await check('publint', ['run', pkg.tarball, '--strict'])) || failed;
    failed = !(await check('attw', [pkg.tarball, '--profile', 'esm-only', '--no-color'])) || failed;
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (failed) {
  console.error('\ncheck:packages: FAILED');
  process.exit(1);
}
console.log('\ncheck:packages: all packages pass publint and attw');
