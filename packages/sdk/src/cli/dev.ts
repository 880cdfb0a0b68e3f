/** `synapse dev`: the local platform (devserver) on this machine. */
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { configPath, saveCredentials } from '../clients/credentials.ts';
import { mask, parsePort, UsageError } from './output.ts';

interface DevOptions {
  port: string;
  host: string;
  dataDir: string;
  seed?: string;
  faults?: boolean;
  saveCredentials: boolean;
  cpus?: string;
  gpus?: string;
  memory?: string;
  /** `false` with --no-serve. */
  serve: boolean;
  servePort: string;
  rayAddress?: string;
}

/** A non-negative number option, or undefined when not given. */
function amount(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`Invalid --${name}: ${value} (expected a number >= 0)`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `--memory 16G` (K, M, G, T; bytes without a unit). */
function bytes(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new UsageError(`Invalid --memory: ${value} (expected e.g. 16G or 17179869184)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

async function runDev(opts: DevOptions): Promise<void> {
  const devserver = await import('synapse-devserver').catch((err: NodeJS.ErrnoException) => {
    // The install hint only when the package itself is missing, not for a failure inside it.
    if (err.code !== 'ERR_MODULE_NOT_FOUND' || !err.message.includes("'synapse-devserver'")) throw err;
    throw new Error('synapse dev needs the synapse-devserver package: npm install synapse-devserver');
  });
  const port = parsePort('port', opts.port);
  const servePort = parsePort('serve-port', opts.servePort);
  if (opts.seed !== undefined && opts.seed !== 'demo') {
    throw new UsageError(`Unknown seed "${opts.seed}": the available seed is "demo"`);
  }
  const dataDir = resolve(opts.dataDir);
  const server = await devserver.startDevServer({
    port,
    host: opts.host,
    dataDir,
    databaseUrl: process.env.DATABASE_URL,
    faults: opts.faults,
    serve: opts.serve ? { port: servePort } : undefined,
    rayAddress: opts.rayAddress,
    capacity: {
      cpus: amount('cpus', opts.cpus),
      gpus: amount('gpus', opts.gpus),
      memoryBytes: bytes(opts.memory),
    },
  });
  const { credentials } = server;
  const lines = [
    `Synapse devserver running at ${server.url}`,
    `  database: ${process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded, ${join(dataDir, 'db')}`}`,
    `  agent:    ${server.agentUrl}`,
  ];
  if (server.ctx.serveHost)
    lines.push(`  serve:    ${server.ctx.serveHost.backend.url} (deployments and inference)`);
  if (credentials.password) {
    const path = join(dataDir, 'login.json');
    await writeFile(
      path,
      `${JSON.stringify({ email: credentials.email, password: credentials.password }, null, 2)}\n`,
      {
        mode: 0o600,
      },
    );
    lines.push(`  login:    ${credentials.email} (password in ${path})`);
  }
  if (opts.saveCredentials) {
    const path = await saveCredentials({
      host: server.url,
      access_token: credentials.accessToken,
      agent: { id: credentials.agentId, name: 'local', url: server.agentUrl, token: credentials.agentToken },
    });
    lines.push(`  token:    ${mask(credentials.accessToken)} (saved to ${path})`);
  }
  if (opts.seed) {
    const seeded = await devserver.seedDemo(server.ctx);
    lines.push(
      `  seeded:   project ${seeded.project} with ${seeded.tasks} tasks (data collection ${seeded.dataCollection})`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
  const stop = () =>
    server.close().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`Error: stopping the devserver failed: ${err.message}\n`);
        process.exit(1);
      },
    );
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run the local Synapse platform (backend API, agent API, storage) on this machine')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', '8000')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--data-dir <dir>',
      'where the database and files live (default: dev/ beside the config file, ~/.synapse/dev)',
      // Beside the config file, so SYNAPSE_CONFIG_DIR moves a profile's platform with it.
      join(dirname(configPath()), 'dev'),
    )
    .option('--seed <name>', 'load sample data ("demo": a project with images and pending tasks)')
    .option('--cpus <n>', "the agent's CPUs (default: this machine's logical CPUs)")
    .option('--gpus <n>', "the agent's GPUs (default: 0)")
    .option('--memory <size>', "the agent's memory, e.g. 16G (default: this machine's)")
    .option('--serve-port <port>', 'port of the serve gateway that hosts deployments', '8100')
    .option('--no-serve', 'do not host deployments (deployment runs are only simulated)')
    .option('--ray-address <url>', 'run job actions as Ray jobs on the cluster of this Ray dashboard URL')
    .option('--faults', 'enable fault injection (_emulator/faults) for tests')
    .option('--no-save-credentials', 'do not write the token to ~/.synapse/config.json')
    .action(runDev);
}
