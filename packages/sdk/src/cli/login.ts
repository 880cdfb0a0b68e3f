/** `synapse login`: check a token against the backend and save it (mode 0600). */
import type { Command } from 'commander';
import { DEFAULT_BACKEND_URL } from '../clients/backend/index.ts';
import { saveCredentials } from '../clients/credentials.ts';
import { AuthenticationError } from '../clients/errors.ts';
import { ENV, envValue } from '../environment.ts';
import { UsageError } from './output.ts';
import { cliBackendClient } from './session.ts';

async function runLogin(opts: { host: string; token?: string }): Promise<void> {
  const token = opts.token ?? envValue(process.env, ENV.accessToken);
  if (!token) throw new UsageError('Give an access token with --token (or SYNAPSE_ACCESS_TOKEN).');
  // A failure to connect names the URL given (`synapse doctor` needs the login this makes).
  const client = cliBackendClient(opts.host, { accessToken: token }, { doctorHint: false });
  try {
    await client.listAgents({ page_size: 1 });
  } catch (err) {
    if (err instanceof AuthenticationError) throw new Error('The token was refused by the backend (401).');
    throw err;
  } finally {
    await client.close();
  }
  const path = await saveCredentials({ host: client.baseUrl, access_token: token });
  process.stdout.write(`Logged in to ${client.baseUrl}; credentials saved to ${path}\n`);
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('save the backend URL and access token for other commands')
    .option('--host <url>', 'backend URL', envValue(process.env, ENV.host) ?? DEFAULT_BACKEND_URL)
    .option('-t, --token <token>', 'access token')
    .action(runLogin);
}
