/** Credentials from the environment and `~/.synapse/config.json` (client.md §2.2). */

import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ENV, envValue, runConnection } from '../environment.ts';
import { BackendClient, DEFAULT_BACKEND_URL } from './backend/index.ts';

export interface AgentCredentials {
  id?: number;
  name?: string;
  url: string;
  token: string;
}

export interface Credentials {
  host?: string;
  accessToken?: string;
  tenant?: string;
  agent?: AgentCredentials;
}

type Env = Record<string, string | undefined>;

/** The CLI's config file; `SYNAPSE_CONFIG_DIR` moves it (tests, several profiles). */
export function configPath(env: Env = process.env): string {
  return join(envValue(env, ENV.configDir) ?? join(homedir(), '.synapse'), 'config.json');
}

/**
 * The local platform's data directory by default (`synapse dev` and `npm start` alike): `dev/`
 * beside the config file, so the platform whose token the config holds is the one that starts,
 * and `SYNAPSE_CONFIG_DIR` moves a profile's platform with its credentials.
 */
export function defaultDevDataDir(env: Env = process.env): string {
  return join(dirname(configPath(env)), 'dev');
}

function readConfig(env: Env): Record<string, any> {
  try {
    return JSON.parse(readFileSync(configPath(env), 'utf8'));
  } catch {
    return {};
  }
}

export function loadCredentials(env: Env = process.env): Credentials {
  const file = readConfig(env);
  return {
    host: envValue(env, ENV.host) ?? file.host,
    accessToken: envValue(env, ENV.accessToken) ?? file.access_token,
    tenant: file.tenant,
    agent: file.agent,
  };
}

/**
 * Merges `values` into the config file, which only its owner may read; a key given as `undefined` is
 * removed (`synapse agent clear`).
 */
export async function saveCredentials(
  values: Record<string, unknown>,
  env: Env = process.env,
): Promise<string> {
  const path = configPath(env);
  const current = await readFile(path, 'utf8').then(JSON.parse, () => ({}));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written whole to a private file, then renamed over: never readable by others, even briefly.
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify({ ...current, ...values }, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
  return path;
}

export function createBackendClient(env: Env = process.env): BackendClient | null {
  const { host, accessToken } = loadCredentials(env);
  if (!accessToken) return null;
  return new BackendClient(host ?? DEFAULT_BACKEND_URL, { accessToken });
}

/** The client of code running inside a plugin run: the run's user token, else the user's own. */
export function createRunClient(env: Env = process.env): BackendClient | null {
  const { host, userToken, tenant } = runConnection(env);
  if (host || userToken) {
    return new BackendClient(host ?? 'http://localhost:8000', { authorizationToken: userToken, tenant });
  }
  return createBackendClient(env);
}
