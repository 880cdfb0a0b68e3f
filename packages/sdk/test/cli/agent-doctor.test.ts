/** `synapse agent select|show|clear` and `synapse doctor`, run as a user runs them against a devserver. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { saveCredentials } from '../../src/index.ts';
import { closedPort, useSharedPlatform } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const h = useSharedPlatform();
const dirs: string[] = [];

afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A config directory of its own, so each test starts from a known file (or none). */
async function configDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'synapse-cli-agent-'));
  dirs.push(dir);
  return dir;
}

/** The real CLI, without the credentials of whoever runs the tests; exit code and output even on failure. */
async function synapse(dir: string, ...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, SYNAPSE_CONFIG_DIR: dir };
  for (const name of ['SYNAPSE_HOST', 'SYNAPSE_ACCESS_TOKEN', 'SYNAPSE_AGENT_URL', 'SYNAPSE_AGENT_TOKEN']) {
    delete env[name];
  }
  return run(process.execPath, [BIN, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err) => ({ code: err.code as number, stdout: err.stdout as string, stderr: err.stderr as string }),
  );
}

async function loggedIn(): Promise<string> {
  const dir = await configDir();
  const login = await synapse(
    dir,
    'login',
    '--host',
    h.server.url,
    '--token',
    h.server.credentials.accessToken,
  );
  expect(login.code).toBe(0);
  return dir;
}

const readConfig = async (dir: string) => JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));

describe('synapse agent', () => {
  it('selects by --id, shows the agent with its token masked, and clears only the agent', async () => {
    const dir = await loggedIn();
    const { agentId, agentToken } = h.server.credentials;

    const selected = await synapse(dir, 'agent', 'select', '--id', String(agentId));
    expect(selected.code).toBe(0);
    expect(selected.stdout).toContain(`Selected agent local (id ${agentId}); saved to`);
    expect(selected.stdout).not.toContain(h.server.agentUrl);
    const config = await readConfig(dir);
    expect(config.agent).toEqual({ id: agentId, name: 'local', url: h.server.agentUrl, token: agentToken });
    expect((await stat(join(dir, 'config.json'))).mode & 0o777).toBe(0o600);

    const shown = await synapse(dir, 'agent', 'show');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(
      `id:    ${agentId}\nname:  local\ntoken: ${agentToken.slice(0, 8)}…\n(saved in ${join(dir, 'config.json')})\n`,
    );
    // No agent URL in user-facing output, not even its host.
    expect(shown.stdout + shown.stderr).not.toContain(h.server.agentUrl);
    expect(shown.stdout + shown.stderr).not.toContain(new URL(h.server.agentUrl).host);
    expect(shown.stdout + shown.stderr + selected.stdout + selected.stderr).not.toContain(agentToken);

    const cleared = await synapse(dir, 'agent', 'clear');
    expect(cleared.code).toBe(0);
    const { agent, ...rest } = config;
    expect(await readConfig(dir)).toEqual(rest);
    expect(rest).toMatchObject({ host: h.server.url, access_token: h.server.credentials.accessToken });
    expect((await stat(join(dir, 'config.json'))).mode & 0o777).toBe(0o600);

    const none = await synapse(dir, 'agent', 'show');
    expect(none).toMatchObject({
      code: 1,
      stderr: 'Error: No agent selected. Run `synapse agent select`.\n',
    });
  });

  it('without --id and without a terminal, is a usage error that lists the agents', async () => {
    const dir = await loggedIn();
    const result = await synapse(dir, 'agent', 'select');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Choose an agent with --id <id>.');
    expect(result.stderr).toContain(`\n  ${h.server.credentials.agentId} local\n`);
    expect((await readConfig(dir)).agent).toBeUndefined();
  });

  it('says so when no agent has the id', async () => {
    const dir = await loggedIn();
    const result = await synapse(dir, 'agent', 'select', '--id', '999999');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Error: No agent with id 999999. Available agents (id name):');
    expect((await readConfig(dir)).agent).toBeUndefined();
  });
});

/** `synapse doctor`, its column padding collapsed so the expectations read as sentences. */
async function doctor(dir: string) {
  const result = await synapse(dir, 'doctor');
  return { ...result, stdout: result.stdout.replace(/(?<=\S) {2,}/g, ' ') };
}

describe('synapse doctor', () => {
  it('passes against a live devserver with a login and a selected agent', async () => {
    const dir = await loggedIn();
    await synapse(dir, 'agent', 'select', '--id', String(h.server.credentials.agentId));
    const result = await doctor(dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^✓ config file/m);
    expect(result.stdout).toMatch(/^✓ token +accepted by the backend$/m);
    expect(result.stdout).not.toContain(h.server.url);
    expect(result.stdout).toMatch(
      new RegExp(`^✓ agent +local \\(id ${h.server.credentials.agentId}\\): ok$`, 'm'),
    );
    expect(result.stdout).not.toContain(h.server.agentUrl);
    expect(result.stdout).not.toContain('✗');
    expect(result.stdout).not.toContain(h.server.credentials.accessToken);
    expect(result.stdout).not.toContain(h.server.credentials.agentToken);
  });

  it('without a config file, says to log in', async () => {
    const result = await doctor(await configDir());
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✗ config file no config file at .*\n {2}→ run `synapse login`/m);
    expect(result.stdout).toMatch(/^✗ token no access token\n {2}→ run `synapse login`/m);
    expect(result.stdout).toMatch(/^✗ agent no agent selected\n {2}→ run `synapse agent select`/m);
  });

  it('with a token the backend refuses, says to log in again', async () => {
    const dir = await configDir();
    await saveCredentials({ host: h.server.url, access_token: 'syn_refused' }, { SYNAPSE_CONFIG_DIR: dir });
    const result = await doctor(dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✓ config file/m);
    expect(result.stdout).toMatch(/^✗ token +refused by the backend \(401\)\n {2}→ run `synapse login`/m);
    expect(result.stdout).not.toContain('syn_refused');
  });

  it('with the agent unreachable, says to start or select one', async () => {
    const dir = await loggedIn();
    const url = `http://127.0.0.1:${await closedPort()}/agent`;
    await saveCredentials(
      { agent: { id: 1, name: 'gone', url, token: 'a'.repeat(40) } },
      { SYNAPSE_CONFIG_DIR: dir },
    );
    const result = await doctor(dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✓ token/m);
    expect(result.stdout).toMatch(/^✗ agent +gone \(id 1\): Agent connection refused$/m);
    expect(result.stdout).not.toContain(url);
    expect(result.stdout).toContain('run `synapse agent select`');
    expect(result.stdout).not.toContain('a'.repeat(40));
  });
});
