/** The suite is a guest: its own config directory, and any process it leaves behind is found. */
import { execFileSync, spawn } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script (also run by .ci/run without a TypeScript loader)
import { findLeftovers, reapLeftovers } from '../../../scripts/leftovers.mjs';
import { configPath, loadCredentials } from '../src/index.ts';

describe('the test environment', () => {
  it('never reads or writes the user’s ~/.synapse', () => {
    expect(configPath()).not.toBe(join(homedir(), '.synapse', 'config.json'));
    expect(configPath().startsWith(tmpdir())).toBe(true);
    // Nothing saved there and nothing inherited from the developer's shell.
    expect(loadCredentials()).toEqual({
      host: undefined,
      accessToken: undefined,
      tenant: undefined,
      agent: undefined,
    });
  });

  it('does not count the run itself (this process and its ancestors carry the marker too)', async () => {
    const script = `import('${new URL('../../../scripts/leftovers.mjs', import.meta.url).href}').then((m) =>
      console.log(JSON.stringify(m.findLeftovers({ marker: process.env.SYNAPSE_TEST_RUN }).map((p) => p.pid))))`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const found: number[] = JSON.parse(out);
    expect(found).not.toContain(process.pid);
    expect(found).not.toContain(process.ppid);
  });

  it('finds, kills and reports a process that outlives the test that started it', async () => {
    const marker = process.env.SYNAPSE_TEST_RUN;
    expect(marker).toBeTruthy();
    // A different marker than the suite's, so this test's own orphan is not the suite's failure.
    const own = `${marker}-orphan-check`;
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, SYNAPSE_TEST_RUN: own },
    });
    child.unref();
    await new Promise((resolve) => child.once('spawn', resolve));
    expect(findLeftovers({ marker: own }).map((p: { pid: number }) => p.pid)).toEqual([child.pid]);
    const reaped = await reapLeftovers({ marker: own }, 0);
    expect(reaped.map((p: { pid: number }) => p.pid)).toEqual([child.pid]);
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode ? resolve(null) : child.once('exit', resolve),
    );
    expect(findLeftovers({ marker: own })).toEqual([]);
  });
});
