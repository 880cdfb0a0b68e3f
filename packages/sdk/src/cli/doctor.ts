/** `synapse doctor`: is this machine set up for the platform? One line per check, and what to do if not. */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { AgentClient } from '../clients/agent/index.ts';
import { configPath, loadCredentials } from '../clients/credentials.ts';
import { AuthenticationError } from '../clients/errors.ts';
import { backendFromOptions } from './session.ts';

interface Check {
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  hint?: string;
}

const passed = (detail: string): Check => ({ ok: true, detail });
const failed = (detail: string, hint: string): Check => ({ ok: false, detail, hint });

async function checkConfigFile(): Promise<Check> {
  const path = configPath();
  try {
    const { mode } = await stat(path);
    JSON.parse(await readFile(path, 'utf8'));
    // The file holds tokens: others must not read it (POSIX modes only).
    if (process.platform !== 'win32' && mode & 0o077) {
      return failed(`${path} is readable by others`, `run \`chmod 600 ${path}\``);
    }
    return passed(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return failed(`no config file at ${path}`, 'run `synapse login` (or `synapse dev`)');
    if (err instanceof SyntaxError)
      return failed(`${path} is not valid JSON`, 'fix or delete it, then run `synapse login`');
    return failed(
      `cannot read ${path} (${code ?? (err as Error).message})`,
      'check its owner and permissions',
    );
  }
}

async function checkToken(): Promise<Check> {
  if (!loadCredentials().accessToken) return failed('no access token', 'run `synapse login`');
  // A failure names the URL the login saved (never its credentials), not the hint to run doctor.
  const client = backendFromOptions({}, { doctorHint: false });
  try {
    await client.listAgents({ page_size: 1 });
    return passed('accepted by the backend');
  } catch (err) {
    if (err instanceof AuthenticationError) {
      return failed('refused by the backend (401)', 'run `synapse login` with a valid token');
    }
    return failed(`backend: ${(err as Error).message}`, 'check that the backend is up and the host is right');
  } finally {
    await client.close();
  }
}

async function checkAgent(): Promise<Check> {
  const saved = loadCredentials().agent;
  if (!saved?.url || !saved.token) return failed('no agent selected', 'run `synapse agent select`');
  // "Is it up now?": retrying a refused connection would only delay the answer.
  const agent = new AgentClient(saved.url, saved.token, { retry: { total: 0 } });
  const where = `${saved.name ?? 'agent'} (id ${saved.id ?? '-'})`;
  try {
    const { status } = await agent.healthCheck();
    return passed(`${where}: ${status}`);
  } catch (err) {
    return failed(
      `${where}: ${(err as Error).message}`,
      'start the agent (`synapse dev` runs a local one) or run `synapse agent select`',
    );
  } finally {
    await agent.close();
  }
}

async function doctor(): Promise<void> {
  const checks: Array<[string, Check]> = [
    ['config file', await checkConfigFile()],
    ['token', await checkToken()],
    ['agent', await checkAgent()],
  ];
  for (const [name, check] of checks) {
    process.stdout.write(`${check.ok ? '✓' : '✗'} ${name.padEnd(12)} ${check.detail}\n`);
    if (check.hint) process.stdout.write(`  → ${check.hint}\n`);
  }
  if (checks.some(([, check]) => !check.ok)) process.exitCode = 1;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the config file, the access token and the selected agent')
    .action(doctor);
}
