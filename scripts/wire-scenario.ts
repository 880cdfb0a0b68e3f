/**
 * Records the requests the SDK sends in a fixed scenario (packages/sdk/test/wire-scenario.ts)
 * against a local platform started in this process, normalised, as JSON.
 *
 *   npx tsx scripts/wire-scenario.ts <out.json>   write the recording to <out.json>
 *   npx tsx scripts/wire-scenario.ts --update     rewrite packages/sdk/test/fixtures/wire-requests.json
 *
 * `--update` is for an intended change of what the SDK sends: review the fixture's diff before
 * committing it. The packages run from their TypeScript sources (the `synapse-source` export
 * condition), so no build is needed: without the condition this script starts itself again with it.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = resolve(root, 'packages/sdk/test/fixtures/wire-requests.json');
const CHILD = 'SYNAPSE_WIRE_SCENARIO_CHILD';

function usage(): never {
  console.error('usage: npx tsx scripts/wire-scenario.ts <out.json> | --update');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length !== 1) usage();
const out = args[0] === '--update' ? FIXTURE : args[0]!.startsWith('-') ? usage() : resolve(args[0]!);

if (process.env[CHILD] !== '1') {
  // Again, with the packages' sources: `node <tsx's loader flags> --conditions=synapse-source`.
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--conditions=synapse-source', fileURLToPath(import.meta.url), ...args],
    { stdio: 'inherit', env: { ...process.env, [CHILD]: '1' } },
  );
  process.exit(child.status ?? 1);
}

const { runWireScenario, formatRecording } = await import('../packages/sdk/test/wire-scenario.ts');
const phases = await runWireScenario();
await mkdir(dirname(out), { recursive: true });
await writeFile(out, formatRecording(phases));
const count = phases.reduce((n, p) => n + p.requests.length + (p.unordered?.length ?? 0), 0);
console.log(`${count} requests in ${phases.length} phases written to ${out}`);
