/**
 * Start-up time of `synapse --help` (target: well under a second), against a bare `node -e ''`
 * start measured in the same process. Prints the median of each and their ratio.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { report } from './lib/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BIN = join(import.meta.dirname, '../packages/sdk/bin/synapse.js');

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

execFileSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' }); // warm tsx's compile cache
const bare = medianMs(['-e', '']);
const help = medianMs([BIN, '--help']);
report(`cli-help: median of ${RUNS} starts`, [
  ['synapse --help (ms)', help.toFixed(0)],
  ["node -e '' (ms, baseline)", bare.toFixed(0)],
  ['ratio help/bare node', (help / bare).toFixed(1)],
  ['target', '< 1000 ms'],
]);
