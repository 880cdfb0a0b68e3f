/**
 * `synapse plugin run --host/--token` (#14 item 8): the flags name the backend the run's client
 * talks to in every mode, over a saved login that points elsewhere.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
let dir: string;
let elsewhere: string;

const FILES: Record<string, string> = {
  'package.json': '{"type": "module"}\n',
  'config.yaml': `name: Connection Demo
code: connection-demo
version: "1.0.0"
category: custom
description: reports the backend its client talks to
actions:
  whoami:
    entrypoint: plugin.whoami.WhoamiAction
    method: job
`,
  'plugin/whoami.ts': `
import { BaseAction } from 'synapse-sdk';
export class WhoamiAction extends BaseAction {
  async execute() {
    const agents = await this.client.listAgents();
    return { url: this.client.baseUrl, agents: agents.length };
  }
}
`,
};

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  dir = await mkdtemp(join(import.meta.dirname, '../.tmp/connection-'));
  for (const [name, text] of Object.entries(FILES)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  // The saved login names a backend nobody listens on, with a token nobody knows.
  elsewhere = `http://127.0.0.1:${await closedPort()}`;
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({ host: elsewhere, access_token: 'saved-login-token' }),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function synapse(args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, SYNAPSE_CONFIG_DIR: dir };
  for (const name of [
    'SYNAPSE_HOST',
    'SYNAPSE_ACCESS_TOKEN',
    'SYNAPSE_PLUGIN_RUN_HOST',
    'SYNAPSE_PLUGIN_RUN_USER_TOKEN',
  ])
    delete env[name];
  // A failed command's error names its arguments, the token among them: only its output is kept.
  return run(process.execPath, [BIN, ...args], { cwd: dir, env }).catch((err) => {
    throw Object.assign(new Error(`synapse exited with ${err.code}: ${err.stderr}`), { stderr: err.stderr });
  });
}

describe('plugin run --host --token', () => {
  it.each(['local', 'task', 'job'])('applies in %s mode', async (mode) => {
    const { url, credentials } = h.server;
    const { stdout, stderr } = await synapse([
      'plugin',
      'run',
      'whoami',
      '--mode',
      mode,
      '--host',
      url,
      '--token',
      credentials.accessToken,
    ]);
    const printed = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1));
    expect(printed).toEqual({ url, agents: expect.any(Number) });
    expect(printed.agents).toBeGreaterThan(0);
    expect(stdout + stderr).not.toContain(credentials.accessToken);
  });

  it('without them, uses the saved login', async () => {
    const err = await synapse(['plugin', 'run', 'whoami', '--mode', 'local']).then(
      () => null,
      (e) => e,
    );
    expect(err?.stderr).toMatch(/ClientConnectionError|connect|refused/i);
    expect(err?.stderr).not.toContain('saved-login-token');
  });
});
