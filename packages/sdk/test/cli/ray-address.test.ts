/**
 * `synapse plugin run --ray-address/--cpus/--gpus` as a user runs them (plugins.md §12): bad values
 * are usage errors, `auto` picks the selected agent's Ray head when one answers, else
 * `RAY_DASHBOARD_URL`, else local processes, and an unreachable dashboard is reported without its address.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePlugin } from '../../../../test-support/job-plugin.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
let plugin: string;
let configDir: string;
let closedPort: number;

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  plugin = await writePlugin();
  configDir = await mkdtemp(join(tmpdir(), 'synapse-ray-address-'));
  closedPort = await freePort();
});
afterAll(() =>
  Promise.all([
    rm(plugin, { recursive: true, force: true }),
    rm(configDir, { recursive: true, force: true }),
  ]),
);

/** The CLI with only this test's config file and no Ray or backend settings from outside. */
function synapse(args: string[], env: Record<string, string> = {}) {
  const base: Record<string, string | undefined> = { ...process.env, SYNAPSE_CONFIG_DIR: configDir };
  for (const key of ['RAY_DASHBOARD_URL', 'RAY_ADDRESS', 'SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN'])
    delete base[key];
  return run(process.execPath, [BIN, 'plugin', 'run', 'echo', '--path', plugin, ...args], {
    env: { ...base, ...env },
  });
}

async function failure(args: string[], env?: Record<string, string>) {
  const err = await synapse(args, env).then(
    () => null,
    (e) => e,
  );
  expect(err).not.toBeNull();
  return { code: err.code as number, stderr: err.stderr as string };
}

const selectAgent = (url: string) =>
  writeFile(join(configDir, 'config.json'), JSON.stringify({ agent: { id: 1, name: 'a', url, token: 't' } }));

describe('synapse plugin run --ray-address', () => {
  it('refuses an address that is neither an http(s) URL nor auto, as a usage error', async () => {
    for (const address of ['ray://127.0.0.1:10001', '127.0.0.1:8265', 'http:/x']) {
      const { code, stderr } = await failure(['--mode', 'job', '--ray-address', address]);
      expect(code).toBe(2);
      expect(stderr).toBe(
        `Error: Invalid --ray-address: ${address}. Use an http(s) dashboard URL or auto.\n`,
      );
    }
  });

  it('refuses --cpus and --gpus that are not finite non-negative numbers, as usage errors', async () => {
    for (const [option, value] of [
      ['--cpus', '-1'],
      ['--cpus', 'two'],
      ['--cpus', ''],
      ['--gpus', 'Infinity'],
      ['--gpus', 'NaN'],
    ]) {
      const { code, stderr } = await failure(['--mode', 'job', option, value]);
      expect(code).toBe(2);
      expect(stderr).toBe(`Error: Invalid ${option}: ${value}. Use a non-negative number.\n`);
    }
  });

  it('auto with no agent selected and no RAY_DASHBOARD_URL runs the job as a local process', async () => {
    await rm(join(configDir, 'config.json'), { force: true });
    const { stdout } = await synapse(['--mode', 'job', '--params', '{"name": "Lo"}', '--cpus', '0.5']);
    expect(JSON.parse(stdout)).toMatchObject({ greeting: 'hello Lo' });
  });

  it('auto with an agent selected whose host runs no Ray dashboard (synapse dev) runs a local process', async () => {
    // 127.0.0.2 is loopback, where no Ray head listens.
    await selectAgent('http://127.0.0.2:9/agent');
    try {
      const { stdout } = await synapse(['--mode', 'job', '--params', '{"name": "Ag"}']);
      expect(JSON.parse(stdout)).toMatchObject({ greeting: 'hello Ag' });
    } finally {
      await rm(join(configDir, 'config.json'), { force: true });
    }
  });

  it("auto with an agent selected uses the dashboard on the agent's host, reported without its address", async () => {
    // A dashboard on 127.0.0.3:8265 that knows its version and nothing else: the run must go there.
    const paths: string[] = [];
    const dashboard = createHttpServer((req, res) => {
      paths.push(String(req.url));
      res.writeHead(req.url === '/api/version' ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(req.url === '/api/version' ? '{"ray_version": "2.60.0"}' : '{}');
    });
    await new Promise<void>((resolve) => dashboard.listen(8265, '127.0.0.3', resolve));
    await selectAgent('http://127.0.0.3:9/agent');
    try {
      const { code, stderr } = await failure(['--mode', 'job', '--params', '{"name": "Ag"}']);
      expect(code).toBe(1);
      expect(paths[0]).toBe('/api/version');
      expect(paths.length).toBeGreaterThan(1); // then the job's own requests
      expect(stderr).not.toContain('127.0.0.3');
    } finally {
      dashboard.close();
      await rm(join(configDir, 'config.json'), { force: true });
    }
  });

  it('auto with no agent selected uses RAY_DASHBOARD_URL; an explicit URL is used as given', async () => {
    const viaEnv = await failure(['--mode', 'job', '--params', '{"name": "En"}'], {
      RAY_DASHBOARD_URL: `http://127.0.0.1:${closedPort}`,
    });
    const explicit = await failure([
      '--mode',
      'task',
      '--params',
      '{"name": "Ex"}',
      '--ray-address',
      `http://127.0.0.1:${closedPort}`,
    ]);
    for (const { code, stderr } of [viaEnv, explicit]) {
      expect(code).toBe(1);
      expect(stderr).toMatch(/^Error: Ray dashboard unreachable \(ECONNREFUSED\)/);
      expect(stderr).not.toContain(String(closedPort));
    }
  });
});
