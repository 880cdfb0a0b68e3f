/**
 * Vitest global setup: the suite is a guest on the developer's machine. Before any worker starts,
 * the environment loses every `SYNAPSE_*` setting the developer's shell may carry (a saved host or
 * token would send test runs to a real platform) and gets a config directory of its own, so no
 * test reads or writes `~/.synapse`. Backend clients check responses against the contract. Every
 * process the suite starts inherits `SYNAPSE_TEST_RUN`; at the end, any still alive outlived the
 * suite: it is killed and the run fails. Temp files go to a folder of the run's own (`TMPDIR`,
 * inherited by workers and every process they start), removed at the end: whatever a test forgot
 * there is listed, by name, and does not stay on the machine.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script (also run by .ci/run without a TypeScript loader)
import { reapLeftovers } from './leftovers.mjs';

const SOURCE_CONDITION = '--conditions=synapse-source';

export default function setup() {
  const marker = process.env.SYNAPSE_TEST_RUN || randomUUID();
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('SYNAPSE_')) delete process.env[key];
  }
  const systemTemp = tmpdir();
  const tempDir = mkdtempSync(join(systemTemp, 'synapse-test-tmp-'));
  // Others may pass through (not list): the local PostgreSQL runs as its own user in a folder here.
  chmodSync(tempDir, 0o711);
  // Caches kept in the temp folder: the TypeScript loaders' transforms (the SDK's source loader;
  // tsx for published-package tests), per user, and the devserver's empty-database template. The
  // run's processes share the machine's, or each run would compile every source and run initdb again.
  const caches = [
    `synapse-sources-${process.getuid?.() ?? 0}`,
    `tsx-${process.getuid?.() ?? 0}`,
    'synapse-devserver',
  ];
  for (const cache of caches) {
    mkdirSync(join(systemTemp, cache), { recursive: true, mode: 0o700 });
    symlinkSync(join(systemTemp, cache), join(tempDir, cache));
  }
  process.env.TMPDIR = tempDir;
  const configDir = mkdtempSync(join(tempDir, 'synapse-test-config-'));
  process.env.SYNAPSE_CONFIG_DIR = configDir;
  process.env.SYNAPSE_TEST_RUN = marker;
  // Every backend client in the suite, and in the processes it starts, checks each response
  // against the contract (synapse-core), so the SDK, the contract and the local platform cannot drift.
  process.env.SYNAPSE_CHECK_RESPONSES = '1';
  // Processes the suite starts (CLI, jobs, workers) run the packages' sources like the suite itself,
  // also when vitest was started without npm (which sets this from .npmrc).
  const nodeOptions = process.env.NODE_OPTIONS ?? '';
  if (!nodeOptions.includes(SOURCE_CONDITION))
    process.env.NODE_OPTIONS = `${nodeOptions} ${SOURCE_CONDITION}`.trim();

  return async () => {
    rmSync(configDir, { recursive: true, force: true });
    const forgotten = readdirSync(tempDir).filter((name) => !caches.includes(name));
    if (forgotten.length > 0) {
      // Names only (mkdtemp prefixes say which test): a pointer for cleanup, not a failure, since
      // the folder goes with the run.
      const prefixes = [...new Set(forgotten.map((name) => name.replace(/[-_.][^-_.]*$/, '')))];
      process.stderr.write(
        `test-guest: ${forgotten.length} temp entries left by tests, removed with the run's temp folder (${prefixes.sort().join(', ')})\n`,
      );
    }
    const left: Array<{ pid: number; cmdline: string }> = await reapLeftovers({ marker });
    // After the reaping: a survivor may have been writing there.
    rmSync(tempDir, { recursive: true, force: true });
    if (left.length > 0) {
      const list = left.map(({ pid, cmdline }) => `  pid ${pid}: ${cmdline}`).join('\n');
      // Vitest only prints a teardown error ("error during close") and keeps its exit code: the
      // run must fail, so that `npm test` and CI report the leak.
      process.exitCode = 1;
      throw new Error(`Processes started by the tests outlived them (killed now):\n${list}`);
    }
  };
}
