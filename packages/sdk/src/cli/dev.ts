/** `synapse dev`: the local platform (devserver) on this machine. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultDevDataDir, saveCredentials } from '../clients/credentials.ts';
import { ENV, envValue } from '../environment.ts';
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
  /** `false` with --no-dashboard-login. */
  dashboardLogin: boolean;
  archiveMaxEntries?: string;
  archiveMaxSize?: string;
  archiveMaxRatio?: string;
  mediaUrlTtl?: string;
  publicUrl?: string;
}

/** `--public-url`: an absolute http(s) URL without query or fragment, or a usage error. */
function publicUrlOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {}
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username)
    throw new UsageError(
      `Invalid --public-url: ${value.slice(0, 200)}. Use an http(s) URL such as https://synapse.example.com.`,
    );
  return url.href.replace(/\/+$/, '');
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
function bytes(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new UsageError(`Invalid --${name}: ${value} (expected e.g. 16G or 17179869184)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

/** A limit option: a number >= `min` (an integer when `integer`), or undefined when not given. */
function limit(name: string, value: string | undefined, min: number, integer: boolean): number | undefined {
  const n = amount(name, value);
  if (n === undefined) return undefined;
  if (n < min || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `Invalid --${name}: ${value} (expected ${integer ? 'an integer' : 'a number'} >= ${min})`,
    );
  }
  return n;
}

/** `--archive-max-*`: limits for unpacking plugin release archives; unset ones keep the defaults. */
function extractionLimits(opts: DevOptions) {
  const maxUncompressedBytes = bytes('archive-max-size', opts.archiveMaxSize);
  if (maxUncompressedBytes === 0) throw new UsageError('Invalid --archive-max-size: 0 (expected a size > 0)');
  return {
    maxEntries: limit('archive-max-entries', opts.archiveMaxEntries, 1, true),
    maxUncompressedBytes,
    maxRatio: limit('archive-max-ratio', opts.archiveMaxRatio, 1, false),
  };
}

/** `--media-url-ttl 3600`: whole seconds (the devserver checks the bounds). */
function mediaUrlTtlOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value.trim())) {
    throw new UsageError(`Invalid --media-url-ttl: ${value} (expected whole seconds, e.g. 3600)`);
  }
  return Number(value.trim());
}

async function runDev(opts: DevOptions): Promise<void> {
  const port = parsePort('port', opts.port);
  const servePort = parsePort('serve-port', opts.servePort);
  if (opts.seed !== undefined && opts.seed !== 'demo') {
    throw new UsageError(`Unknown seed "${opts.seed}": the available seed is "demo"`);
  }
  const dataDir = resolve(opts.dataDir);
  const limits = extractionLimits(opts);
  const publicUrl = publicUrlOption(opts.publicUrl);
  const mediaUrlTtlSeconds = mediaUrlTtlOption(opts.mediaUrlTtl);
  const capacity = {
    cpus: amount('cpus', opts.cpus),
    gpus: amount('gpus', opts.gpus),
    memoryBytes: bytes('memory', opts.memory),
  };
  // Loaded once every option is known good: a usage error answers without loading the platform.
  const devserver = await import('synapse-devserver').catch((err: NodeJS.ErrnoException) => {
    // The install hint only when the package itself is missing, not for a failure inside it.
    if (err.code !== 'ERR_MODULE_NOT_FOUND' || !err.message.includes("'synapse-devserver'")) throw err;
    throw new Error('synapse dev needs the synapse-devserver package: npm install synapse-devserver');
  });
  const server = await devserver
    .startDevServer({
      port,
      host: opts.host,
      publicUrl,
      dataDir,
      databaseUrl: envValue(process.env, ENV.databaseUrl),
      faults: opts.faults,
      serve: opts.serve ? { port: servePort } : undefined,
      rayAddress: opts.rayAddress,
      dashboardAuth: opts.dashboardLogin,
      mediaUrlTtlSeconds,
      capacity,
      extractionLimits: limits,
    })
    .catch((err: NodeJS.ErrnoException & { port?: number }) => {
      if (err.code !== 'EADDRINUSE') throw err;
      // Which of the two ports: the error names the one it could not listen on.
      const [option, taken] =
        err.port === servePort && servePort !== port ? ['--serve-port', servePort] : ['--port', port];
      throw new Error(
        `Port ${taken} on ${opts.host} is in use (another \`synapse dev\` or \`npm start\`?). ` +
          `Stop it, or pass ${option} <port> (0 picks a free one).`,
        { cause: err },
      );
    });
  const { credentials } = server;
  const lines = [
    `Synapse devserver running at ${server.url}`,
    `  data:     ${dataDir}`,
    `  database: ${envValue(process.env, ENV.databaseUrl) ? 'PostgreSQL (DATABASE_URL)' : `embedded, ${join(dataDir, 'db')}`}`,
    `  agent:    ${server.agentUrl}`,
  ];
  if (server.ctx.serveHost)
    lines.push(`  serve:    ${server.ctx.serveHost.backend.url} (deployments and inference)`);
  // The password stays in its 0600 file: terminal output ends up in shared logs and CI runs.
  if (server.loginFile) lines.push(`  login:    ${credentials.email} (password in ${server.loginFile})`);
  lines.push(
    opts.dashboardLogin
      ? `  dashboard: ${server.url}/ui/ (log in with the login above, or your access token)`
      : `  dashboard: ${server.url}/ui/ (no login: --no-dashboard-login)`,
  );
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
  // Listening for the signals before saying how to stop: a SIGTERM sent on reading that line
  // must stop the platform cleanly, not kill it before its handler exists.
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
  process.stdout.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run the local Synapse platform (backend API, agent API, storage) on this machine')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', '8000')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--public-url <url>',
      "the URL clients reach the platform at (a reverse proxy's); default: each request's forwarded or Host address",
    )
    .option(
      '--data-dir <dir>',
      'where the database and files live (default: dev/ beside the config file, ~/.synapse/dev; `npm start` uses the same)',
      defaultDevDataDir(),
    )
    .option('--seed <name>', 'load sample data ("demo": a project with images and pending tasks)')
    .option('--cpus <n>', "the agent's CPUs (default: this machine's logical CPUs)")
    .option('--gpus <n>', "the agent's GPUs (default: 0)")
    .option('--memory <size>', "the agent's memory, e.g. 16G (default: this machine's)")
    .option(
      '--media-url-ttl <seconds>',
      'lifetime of the signed media URLs the API hands out (default: 3600)',
    )
    .option('--serve-port <port>', 'port of the serve gateway that hosts deployments', '8100')
    .option('--no-serve', 'do not host deployments (deployment runs are only simulated)')
    .option('--ray-address <url>', 'run job actions as Ray jobs on the cluster of this Ray dashboard URL')
    .option('--archive-max-entries <n>', 'most entries a plugin release archive may have (default 10000)')
    .option(
      '--archive-max-size <size>',
      'most bytes a release archive may unpack to, e.g. 100G (default 50G)',
    )
    .option(
      '--archive-max-ratio <n>',
      'highest compression ratio of a release archive and of each entry over 1 MiB (default 100)',
    )
    .option('--faults', 'enable fault injection (_emulator/faults) for tests')
    .option('--no-dashboard-login', 'serve the dashboard without a login (only on a loopback --host)')
    .option('--no-save-credentials', 'do not write the token to ~/.synapse/config.json')
    .action(runDev);
}
