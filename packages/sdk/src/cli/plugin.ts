/** `synapse plugin ...`: scaffold, run, publish, sync config, and follow jobs. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { didYouMean, humanList } from 'synapse-core';
import { loadCredentials } from '../clients/credentials.ts';
import { ENV } from '../environment.ts';
import {
  EXECUTION_MODES,
  type ExecutionMode,
  PLUGIN_CATEGORIES,
  type PluginCategory,
} from '../plugins/enums.ts';
import { isRunStopped, RunStoppedError } from '../plugins/errors.ts';
import { parseJsonOption, printJson, UsageError } from './output.ts';
import {
  INTERRUPTED_EXIT_CODE,
  jobList,
  jobOutputPrinter,
  jobStop,
  type PlatformRunOptions,
} from './platform.ts';
import { backendFromOptions, type ConnectionOptions, jobNotFound, outputMask } from './session.ts';

interface RunOptions extends PlatformRunOptions {
  params?: string;
  mode?: string;
  onPlatform?: boolean;
  jobId?: string;
  rayAddress?: string;
  cpus?: string;
  gpus?: string;
}

/**
 * `--host` / `--token` in every mode: the run's backend connection, over the saved login and the
 * environment. The run connection a parent run may have left in the environment is blanked (an
 * empty variable reads as unset), so the run's client is the one the flags name.
 */
function connectionEnv(opts: RunOptions): Record<string, string> | undefined {
  if (opts.host === undefined && opts.token === undefined) return undefined;
  const saved = loadCredentials();
  const env: Record<string, string> = { [ENV.runHost.name]: '', [ENV.runUserToken.name]: '' };
  const host = opts.host ?? saved.host;
  const token = opts.token ?? saved.accessToken;
  if (host !== undefined) env[ENV.host.name] = host;
  if (token !== undefined) env[ENV.accessToken.name] = token;
  return env;
}

/** `--cpus` / `--gpus`: a finite number >= 0, or a usage error. */
function resourceCount(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`Invalid --${option}: ${value}. Use a non-negative number.`);
  return n;
}

async function runAction(action: string, opts: RunOptions): Promise<void> {
  const mode = opts.mode === 'jobs-api' ? 'job' : (opts.mode ?? 'local');
  if (mode !== 'remote' && !EXECUTION_MODES.includes(mode as ExecutionMode)) {
    throw new UsageError(`Invalid mode: ${opts.mode}. Use local, task, job, or remote.`);
  }
  if (opts.onPlatform && mode !== 'remote' && mode !== 'local') {
    throw new UsageError(
      `--on-platform runs the action on the platform: it cannot be combined with --mode ${mode}.`,
    );
  }
  if (opts.onPlatform || mode === 'remote') {
    const { runOnPlatform } = await import('./platform.ts');
    return runOnPlatform(action, opts);
  }
  const params = await parseJsonOption(opts.params);
  const mask = outputMask(opts);
  const { runPlugin, checkRayAddress } = await import('../executors/index.ts');
  const rayAddress = opts.rayAddress ?? 'auto';
  try {
    checkRayAddress(rayAddress);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const env = connectionEnv(opts);
  const numCpus = resourceCount('cpus', opts.cpus);
  const numGpus = resourceCount('gpus', opts.gpus);
  // Job mode waits for its job: the job's own lines go to stderr, its result to stdout.
  const onOutput = jobOutputPrinter(mask, (text) => process.stderr.write(text));
  // Ctrl-C stops a local or job run through its `ctx.signal`; a second Ctrl-C quits at once.
  const stop = new AbortController();
  const onInterrupt = () => {
    if (stop.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    process.stderr.write('Stopping the run (press Ctrl-C again to quit at once)...\n');
    stop.abort(new RunStoppedError('Interrupted (Ctrl-C)'));
  };
  const stoppable = mode === 'local' || mode === 'job';
  if (stoppable) process.on('SIGINT', onInterrupt);
  // Local mode's lines go to stderr as a job's do: stdout is the result's JSON alone.
  const logger =
    mode === 'local' && opts.jobId === undefined
      ? new (await import('../plugins/logging/console.ts')).ConsoleLogger({ stream: process.stderr })
      : undefined;
  try {
    const result = await runPlugin(resolve(opts.path), action, params, {
      mode: mode as ExecutionMode,
      env,
      logger,
      workerOutput: 'stderr',
      warn: (message) => process.stderr.write(`WARNING: ${message}\n`),
      jobId: opts.jobId,
      rayAddress,
      numCpus,
      numGpus,
      wait: true,
      onOutput,
      signal: stoppable ? stop.signal : undefined,
    });
    printJson(mask.value(result));
    // A job run here never reaches the platform, nor its dashboard: say where that run would go.
    if (mode === 'job') {
      process.stderr.write(
        `Ran as a job on this machine, not on the platform (nor its dashboard). On the platform: synapse plugin publish, then synapse plugin run ${action} --on-platform\n`,
      );
    }
  } catch (err) {
    if (isRunStopped(err)) {
      process.stderr.write(`Stopped: ${mask.text((err as Error).message)}\n`);
      process.exitCode = INTERRUPTED_EXIT_CODE;
      return;
    }
    // The job's logs were streamed already (above, on stderr): its first line says enough.
    if (mode === 'job' && err instanceof Error)
      err.message = err.message.split('\n')[0].replace(/\. Logs:$/, '; its output is above.');
    throw err;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

async function createPlugin(opts: {
  path?: string;
  name?: string;
  code?: string;
  category?: string;
}): Promise<void> {
  if (!opts.name) throw new UsageError('Give the plugin a name with --name.');
  const category = (opts.category ?? 'custom') as PluginCategory;
  if (!PLUGIN_CATEGORIES.includes(category)) {
    throw new UsageError(
      `Invalid category '${category}'. Must be one of ${humanList(PLUGIN_CATEGORIES)}.` +
        didYouMean(category, PLUGIN_CATEGORIES),
    );
  }
  const { scaffoldPlugin } = await import('../plugins/scaffold.ts');
  const created = await scaffoldPlugin({ dir: opts.path, name: opts.name, code: opts.code, category });
  const checkout = sourceCheckout();
  // From this repository the packages are not on the npm registry: the plugin installs their tarballs.
  const install = checkout
    ? `npm run pack:local (in ${checkout}), then cd ${created.dir} && npm install ${join(checkout, '.packages')}/*.tgz`
    : `cd ${created.dir} && npm install`;
  process.stdout.write(
    `Created ${category} plugin "${opts.name}" (code ${created.code}) in ${created.dir}\n` +
      created.files.map((f) => `  ${f}\n`).join('') +
      `Next: ${install} && npm test\n`,
  );
}

/** The root of the SDK's own repository when this CLI runs from a checkout of it, else null. */
function sourceCheckout(): string | null {
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  return existsSync(join(root, 'scripts/pack-local.ts')) ? root.replace(/\/$/, '') : null;
}

/** Asks on a terminal; scripts (no TTY) and `--yes` go ahead. */
async function confirm(question: string, yes?: boolean): Promise<boolean> {
  if (yes || !process.stdin.isTTY) return true;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function publish(
  opts: ConnectionOptions & {
    path: string;
    config?: string;
    dryRun?: boolean;
    overwrite?: boolean;
    yes?: boolean;
  },
) {
  const [{ publishPlugin }, { STOCK_EXPORT_ADAPTERS }] = await Promise.all([
    import('../plugins/publish.ts'),
    import('../actions/entrypoint.ts'),
  ]);
  const client = opts.dryRun ? null : backendFromOptions(opts);
  try {
    // The URL stays out of the prompt, as out of every message; `synapse login` chose it.
    if (!opts.dryRun && !(await confirm('Publish plugin to the backend you are logged in to?', opts.yes))) {
      process.stderr.write('Cancelled.\n');
      return;
    }
    const result = await publishPlugin(resolve(opts.path), {
      client,
      config: opts.config,
      debug: opts.overwrite,
      dryRun: opts.dryRun,
      adapters: STOCK_EXPORT_ADAPTERS,
    });
    if (!opts.dryRun) {
      process.stderr.write(
        `Successfully published "${result.name}" (${result.code}@${result.version}) to synapse backend!\n`,
      );
    }
    printJson(result);
  } finally {
    await client?.close();
  }
}

async function updateConfig(opts: { path: string; config?: string }): Promise<void> {
  const { syncConfigFile } = await import('../plugins/sync-config.ts');
  const changes = await syncConfigFile(resolve(opts.path), opts.config);
  const entries = Object.entries(changes);
  if (entries.length === 0) process.stdout.write('No changes needed.\n');
  for (const [action, change] of entries) process.stdout.write(`${action}: ${change}\n`);
}

async function jobGet(jobId: string, opts: ConnectionOptions): Promise<void> {
  const client = backendFromOptions(opts);
  try {
    printJson(outputMask(opts).value(await client.getJob(jobId)));
  } catch (err) {
    throw jobNotFound(err, jobId, client);
  } finally {
    await client.close();
  }
}

async function jobLogs(jobId: string, opts: ConnectionOptions & { follow?: boolean }): Promise<void> {
  const client = backendFromOptions(opts);
  const mask = outputMask(opts);
  try {
    if (opts.follow) {
      for await (const line of client.tailJobConsoleLogs(jobId)) process.stdout.write(mask.text(line));
      return;
    }
    const logs = (await client.listJobConsoleLogs(jobId)) as { results?: unknown[] };
    for (const line of logs.results ?? []) process.stdout.write(`${mask.text(String(line))}\n`);
  } catch (err) {
    throw jobNotFound(err, jobId, client);
  } finally {
    await client.close();
  }
}

function connection(cmd: Command): Command {
  return cmd
    .option('--host <url>', 'backend URL (default: saved login)')
    .option('-t, --token <token>', 'access token');
}

export function registerPlugin(program: Command): void {
  const plugin = program.command('plugin').description('create, run and publish plugins; follow their jobs');

  plugin
    .command('create')
    .description('scaffold a plugin (config.yaml, an action, a test) for a category')
    .option('-p, --path <dir>', 'where to create it (default: ./<code>)')
    .option('-n, --name <name>', 'plugin name')
    .option('--code <code>', 'plugin code (default: derived from the name)')
    .option('-c, --category <category>', `one of ${humanList(PLUGIN_CATEGORIES)}`, 'custom')
    .option('-y, --yes', 'do not ask (the command never asks)')
    .action(createPlugin);

  connection(
    plugin
      .command('run')
      .description('run an action of the plugin in --path')
      .argument('<action>', 'action name from config.yaml')
      .option('--path <dir>', 'plugin directory', '.')
      .option('--params <json>', 'params as JSON, or @file.json')
      .option(
        '-m, --mode <mode>',
        'local (in-process), task (warm worker), job (own process on this machine) or remote (on the platform, as --on-platform)',
        'local',
      )
      .option(
        '--on-platform',
        'run the published plugin on the platform (the selected agent): params checked here first, then the job followed to its end',
      )
      .option('--no-wait', 'on the platform: print {job_id, status} at once instead of following the job')
      .option('--job-id <id>', 'job id to report to (job mode)')
      .option(
        '--ray-address <url>',
        "task and job modes: the Ray dashboard URL to run on; auto: the selected agent's Ray head, else RAY_DASHBOARD_URL, else local processes",
        'auto',
      )
      .option('--cpus <n>', 'on Ray: CPUs the job or task worker needs')
      .option('--gpus <n>', 'on Ray: GPUs the job or task worker needs')
      .option('-p, --plugin <code>', 'on the platform: plugin code (default: from config.yaml)')
      .option('-i, --input <json>', 'on the platform: inference input')
      .option('--infer-path <path>', 'on the platform: inference route', '/'),
  ).action(runAction);

  connection(
    plugin
      .command('publish')
      .description('archive the plugin and upload it as a release')
      .option('-p, --path <dir>', 'plugin directory', '.')
      .option('-c, --config <file>', 'config file (default: config.yaml, then synapse.yaml)')
      .option('--dry-run', 'build the archive and list it, upload nothing')
      .option('--overwrite', 'replace the release of this version if the platform has one')
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(publish);

  plugin
    .command('update-config')
    .description('add the actions found in code to config.yaml and update their entrypoints')
    .option('-p, --path <dir>', 'plugin directory', '.')
    .option('-c, --config <file>', 'config file')
    .action(updateConfig);

  const job = plugin.command('job').description('list, inspect and stop jobs on the platform');
  connection(
    job
      .command('list')
      .description('the newest jobs first: id, status, plugin, action, created, duration')
      .option(
        '-s, --status <status>',
        'only jobs with this status: pending, running, stopped, succeeded or failed',
      )
      .option('-p, --plugin <code>', 'only jobs of this plugin')
      .option('-n, --limit <n>', 'show at most this many', '20')
      .option('--json', 'print the jobs as JSON instead of a table'),
  ).action(jobList);
  connection(
    job.command('stop').description('stop a running job (through the selected agent)').argument('<job-id>'),
  ).action(jobStop);
  connection(job.command('get').description('print a job').argument('<job-id>')).action(jobGet);
  connection(
    job
      .command('logs')
      .description("print a job's console logs")
      .argument('<job-id>')
      .option('-f, --follow', 'keep printing new lines until the job ends'),
  ).action(jobLogs);
}
