/** The backend a CLI command talks to: `--host`/`--token` flags, else the environment and config file. */
import { BackendClient, DEFAULT_BACKEND_URL } from '../clients/backend/index.ts';
import { loadCredentials } from '../clients/credentials.ts';

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
