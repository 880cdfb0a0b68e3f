#!/usr/bin/env node
/**
 * Runs the test suite while two other CPU-bound processes keep the machine's cores busy, and
 * reports pass/fail, the wall time and the load averages before and after. It proves that the
 * suite is robust on a loaded machine (it has no timed assertions; only its waits are bounded).
 *
 *   node scripts/suite-under-load.mjs [--burners N] [-- <vitest args>]
 *
 * Default: 2 burners and `npx vitest run`; exit code 0 only when the suite passed. The burners
 * are child processes of this script, killed by pid when the suite ends (also on Ctrl-C).
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const split = args.indexOf('--');
const own = split === -1 ? args : args.slice(0, split);
const vitestArgs = split === -1 ? [] : args.slice(split + 1);
const burnersAt = own.indexOf('--burners');
const burnerCount = burnersAt === -1 ? 2 : Number(own[burnersAt + 1]);
if (!Number.isInteger(burnerCount) || burnerCount < 0 || burnerCount > 64) {
  console.error('--burners takes a whole number from 0 to 64');
  process.exit(2);
}

// A busy loop in its own process: one core's worth of CPU-bound work until it is killed.
const BURN = 'for (;;) { Math.sqrt(Math.random()); }';
const burners = Array.from({ length: burnerCount }, () =>
  // Without the suite's run marker: the burners are not the suite's processes to reap.
  spawn(process.execPath, ['-e', BURN], { stdio: 'ignore', env: { ...process.env, SYNAPSE_TEST_RUN: '' } }),
);
const stopBurners = () => {
  for (const burner of burners)
    if (burner.exitCode === null && burner.pid) process.kill(burner.pid, 'SIGKILL');
};
process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBurners();
    process.exit(130);
  });
}

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const loadBefore = load();
const started = Date.now();
const suite = spawn('npx', ['vitest', 'run', ...vitestArgs], { cwd: root, stdio: 'inherit' });
const code = await new Promise((resolve) => suite.on('close', (c) => resolve(c ?? 1)));
const seconds = ((Date.now() - started) / 1000).toFixed(1);
stopBurners();

console.log(
  `\nsuite-under-load: ${code === 0 ? 'PASSED' : 'FAILED'} in ${seconds} s with ${burnerCount} CPU-bound processes; ` +
    `load average before ${loadBefore}, after ${load()}`,
);
process.exit(code === 0 ? 0 : 1);
