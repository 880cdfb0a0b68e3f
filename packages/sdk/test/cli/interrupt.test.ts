/**
 * Ctrl-C on `synapse plugin run` (#13 item 9): the interrupt reaches the action as `ctx.signal`,
 * in this process (local mode) or in the job's process (job mode, through the executor's stop),
 * and a stoppable action ends between units of work instead of being killed mid-unit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/synapse.js');
let dir: string;
const started: ChildProcess[] = [];

// One unit of work at a time; the signal is checked between units.
const COUNTDOWN = `
import { defineAction } from 'synapse-sdk';
export const countdown = defineAction({ name: 'countdown', stoppable: true }, async (_params, ctx) => {
  for (let unit = 1; unit <= 100; unit++) {
    if (ctx.signal.aborted) console.log('stopping after unit ' + (unit - 1));
    ctx.throwIfStopped();
    console.log('unit ' + unit);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { units: 100 };
});
`;

const CONFIG = `name: Countdown
code: countdown
version: "1.0.0"
category: neural_net
description: stops between units of work
actions:
  countdown:
    entrypoint: plugin/countdown.ts:countdown
    method: job
`;

beforeAll(async () => {
  // Inside the repository, so the plugin's `synapse-sdk` import resolves to this package.
  const tmp = join(import.meta.dirname, '../.tmp');
  await mkdir(tmp, { recursive: true });
  dir = await mkdtemp(join(tmp, 'interrupt-'));
  await mkdir(join(dir, 'plugin'));
  await writeFile(join(dir, 'config.yaml'), CONFIG);
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(dir, 'plugin/countdown.ts'), COUNTDOWN);
});
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('Ctrl-C on synapse plugin run', () => {
  it.each(['local', 'job'])('stops a %s run between units: exit 130, no unit cut short', async (mode) => {
    const { RAY_DASHBOARD_URL: _ray, ...env } = process.env;
    const child = spawn(
      process.execPath,
      [BIN, 'plugin', 'run', 'countdown', '--mode', mode, '--params', '{}', '--ray-address', 'auto'],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.push(child);
    let output = '';
    let stderr = '';
    const running = new Promise<void>((resolve) => {
      const seen = () => output.includes('unit 2\n') && resolve();
      child.stdout!.on('data', (chunk) => {
        output += chunk;
        seen();
      });
      child.stderr!.on('data', (chunk) => {
        output += chunk;
        stderr += chunk;
        seen();
      });
    });
    const exited = once(child, 'exit');
    await Promise.race([running, exited]);
    child.kill('SIGINT');
    const [code] = await exited;

    expect({ code, stderr }).toMatchObject({ code: 130, stderr: expect.stringContaining('Stopped: ') });
    const last = Number(/stopping after unit (\d+)/.exec(output)?.[1]);
    expect(last).toBeGreaterThanOrEqual(2);
    // Every unit that started was finished and nothing ran after the stop.
    expect(output).toContain(`unit ${last}\n`);
    expect(output).not.toContain(`unit ${last + 1}\n`);
    expect(output).not.toContain('"units"');
  });
});
