/** The backend a CLI command talks to: `--host`/`--token` flags, else the environment and config file. */
import { BackendClient, DEFAULT_BACKEND_URL } from '../clients/backend/index.ts';
import { loadCredentials } from '../clients/credentials.ts';
import { ENV, envValue } from '../environment.ts';
import { redactText, redactValue, SecretSet } from '../redact.ts';

export interface ConnectionOptions {
  host?: string;
  token?: string;
}

export function backendFromOptions(opts: ConnectionOptions): BackendClient {
  const saved = loadCredentials();
  const token = opts.token ?? saved.accessToken;
  if (!token) throw new Error('Not authenticated. Run `synapse login` to authenticate.');
  return new BackendClient(opts.host ?? saved.host ?? DEFAULT_BACKEND_URL, {
    accessToken: token,
    tenant: saved.tenant,
  });
}

export interface OutputMask {
  text(text: string): string;
  value<T>(value: T): T;
}

/**
 * What the CLI prints of jobs and runs (their lines, records and results): this machine's own
 * credentials (saved, given with --token, or in the environment) and every credential-shaped
 * value masked, since terminal output ends up in shared logs.
 */
export function outputMask(opts: ConnectionOptions = {}, env: NodeJS.ProcessEnv = process.env): OutputMask {
  const saved = loadCredentials(env);
  const known = new SecretSet(
    [
      opts.token,
      saved.accessToken,
      saved.agent?.token,
      envValue(env, ENV.runUserToken),
      envValue(env, ENV.agentToken),
    ].filter((v): v is string => typeof v === 'string'),
  );
  return {
    text: (text) => redactText(text, { known }),
    value: (value) => redactValue(value, { known }),
  };
}
