/**
 * Start-up time of `synapse --help` from the compiled package (dist/, built first), as a ratio to a
 * bare `node -e 0` (target: under 3×). Rounds alternate the two commands so that a change in the
 * machine's load affects both alike; prints each one's median and the load average before and after.
 *
 *   npx tsx bench/cli-help.ts          (BENCH_RUNS=<rounds>, default 15)
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { report } from './lib/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/sdk/bin/synapse.js');
// The compiled CLI: without the repo's `synapse-source` condition (.npmrc), which selects the sources.
const env = {
  ...process.env,
  NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replaceAll('--conditions=synapse-source', '').trim(),
};

function startMs(args: string[]): number {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore', env });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

execFileSync(process.execPath, [join(ROOT, 'scripts/build-package.mjs'), join(ROOT, 'packages/sdk')], {
  stdio: 'inherit',
});
const loadBefore = load();
startMs([BIN, '--help']); // the first start reads the files from disk
const bare: number[] = [];
const help: number[] = [];
for (let i = 0; i < RUNS; i++) {
  bare.push(startMs(['-e', '0']));
  help.push(startMs([BIN, '--help']));
}
const ratio = median(help) / median(bare);
report(`cli-help: medians of ${RUNS} interleaved rounds`, [
  ['synapse --help (ms)', median(help).toFixed(0)],
  ['node -e 0 (ms, baseline)', median(bare).toFixed(0)],
  ['ratio help/bare node', ratio.toFixed(2)],
  ['target', '< 3'],
  ['load average (1, 5, 15 min) before', loadBefore],
  ['load average after', load()],
]);
