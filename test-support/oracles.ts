/**
 * The independent readers of exported datasets (pycocotools, supervision), in the virtualenv
 * `scripts/python-oracles.sh install` makes once per checkout (`.venv-oracles/`, also by .ci/run).
 * Tests skip (and say so) only where no Python >= 3.10 exists to make it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const sh = promisify(execFile);

/** The virtualenv's Python. */
export const ORACLES_PYTHON = join(ROOT, '.venv-oracles/bin/python');

/** A Python >= 3.10 to make the virtualenv with (as the install script looks for one), or null. */
export function findPython(): string | null {
  for (const candidate of ['python3.12', 'python3.11', 'python3.13', 'python3.10', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import sys; sys.exit(sys.version_info < (3, 10))'], {
        stdio: 'ignore',
      });
      return candidate;
    } catch {}
  }
  return null;
}

/** Makes the virtualenv unless it is there (minutes the first time, nothing after). */
export async function installOracles(): Promise<void> {
  await sh('bash', [join(ROOT, 'scripts/python-oracles.sh'), 'install'], { timeout: 900_000 });
}

/** Runs a Python script with the oracles; its stdout, parsed as JSON. */
export async function runOracle(script: string, args: string[]): Promise<any> {
  const { stdout } = await sh(ORACLES_PYTHON, ['-c', script, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}
