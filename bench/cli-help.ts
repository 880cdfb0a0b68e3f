/**
 * Start-up time of `synapse --help`, against a bare `node -e 0`, three ways:
 * - the compiled package (dist/, built first), as an installed SDK starts (target: under 3× bare node);
 * - `npx synapse --help` from this repository, as the README runs it: npx, then the CLI from its
 *   TypeScript sources through tsx (the repo's `.npmrc` selects them);
 * - the same sources without npx, to tell npx's own cost from the loader's.
 * Rounds interleave the commands, so a change in the machine's load affects all alike; prints
 * medians with min and max, and the load average before and after.
 *
 *   npx tsx bench/cli-help.ts          (BENCH_RUNS=<rounds>, default 15)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadAverage, report, spread } from './lib/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/sdk/bin/synapse.js');
const SOURCE = '--conditions=synapse-source';
// Without the repo's `synapse-source` condition (which npm scripts set), the bin runs dist/.
const compiledEnv = {
  ...process.env,
  NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replaceAll(SOURCE, '').trim(),
};

interface Command {
  label: string;
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const COMMANDS: Command[] = [
  { label: 'node -e 0 (baseline)', file: process.execPath, args: ['-e', '0'], env: compiledEnv },
  { label: 'synapse --help, compiled', file: process.execPath, args: [BIN, '--help'], env: compiledEnv },
  { label: 'npx synapse --help, in the repo', file: 'npx', args: ['synapse', '--help'], env: compiledEnv },
  {
    label: 'synapse --help, sources (no npx)',
    file: process.execPath,
    args: [SOURCE, BIN, '--help'],
    env: compiledEnv,
  },
];

function startMs({ file, args, env }: Command): number {
  const start = process.hrtime.bigint();
  execFileSync(file, args, { stdio: 'ignore', env, cwd: ROOT });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

execFileSync(process.execPath, [join(ROOT, 'scripts/build-package.mjs'), join(ROOT, 'packages/sdk')], {
  stdio: 'inherit',
});
const loadBefore = loadAverage();
for (const command of COMMANDS) startMs(command); // the first start reads the files from disk
const samples = COMMANDS.map(() => [] as number[]);
for (let i = 0; i < RUNS; i++) {
  for (const [j, command] of COMMANDS.entries()) samples[j]!.push(startMs(command));
}

const bare = spread(samples[0]!).median;
const rows: Array<[string, string]> = COMMANDS.map((command, j) => {
  const { median, min, max } = spread(samples[j]!);
  const ratio = j === 0 ? '' : `  ${(median / bare).toFixed(2)}× bare node`;
  return [
    `${command.label} (ms)`,
    `${median.toFixed(0)} (min ${min.toFixed(0)}, max ${max.toFixed(0)})${ratio}`,
  ];
});
report(`cli-help: medians of ${RUNS} interleaved rounds`, [
  ...rows,
  ['target', 'compiled < 3× bare node'],
  ['load average (1, 5, 15 min) before', loadBefore],
  ['load average after', loadAverage()],
]);
