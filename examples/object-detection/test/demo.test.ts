/**
 * The main job as `npm start` runs it (on free ports and a fresh data directory): the platform
 * starts, the photos are pre-annotated by the deployed detector, the dashboard answers, Ctrl-C
 * stops it cleanly; a second run reuses the releases and the model.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEMO = join(import.meta.dirname, '../demo.ts');
const TSX = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'demo-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Runs the demo until it says it is serving; returns its output so far and the process. */
function start(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(TSX, [DEMO], {
    env: {
      ...process.env,
      SYNAPSE_DEMO_DATA_DIR: dataDir,
      SYNAPSE_CONFIG_DIR: join(dataDir, 'config'),
      PORT: '0',
      SERVE_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', () => {
      if (out.includes('Press Ctrl+C to stop.')) resolve({ child, output: () => out });
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });

const releaseLine = (out: string) => /plugins: .*/.exec(out)?.[0];
const modelLine = (out: string) => /model \d+: .*/.exec(out)?.[0];

describe('npm start (examples/object-detection/demo.ts)', () => {
  let first = '';

  it('pre-annotates the photos, shows the dashboard, and stops on Ctrl-C', async () => {
    const { child, output } = await start();
    try {
      first = output();
      expect(first).toContain('project 1: 11 photos as tasks');
      expect(first).toContain(`credentials saved to ${join(dataDir, 'config', 'config.json')}`);
      expect(first).toContain('project 2: 12 street scenes with annotation files');
      expect(first).toContain('SUCCEEDED: 11 of 11 tasks annotated, 0 failed');
      const dashboard = /Dashboard: (\S+)/.exec(first)?.[1] ?? '';
      // The dashboard asks for the login the demo points at (the password is never printed).
      expect((await fetch(dashboard, { redirect: 'manual' })).status).toBe(303);
      const [, email, loginFile] = /dashboard login: (\S+), password in (\S+)/.exec(first) ?? [];
      const { password } = JSON.parse(await readFile(loginFile, 'utf8'));
      expect(first).not.toContain(password);
      const login = await fetch(new URL('/ui/login', dashboard), {
        method: 'POST',
        body: new URLSearchParams({ email, password }),
        redirect: 'manual',
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const page = await fetch(dashboard, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Photos: object detection');
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });

  it('reuses the project, the releases and the model on a second run', async () => {
    const { child, output } = await start();
    try {
      const second = output();
      expect(second).toContain('project 1: 11 photos as tasks');
      expect(releaseLine(second)).toBe(releaseLine(first));
      expect(modelLine(second)).toBe(modelLine(first));
      expect(second).toContain('SUCCEEDED: 11 of 11 tasks annotated, 0 failed');
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});
