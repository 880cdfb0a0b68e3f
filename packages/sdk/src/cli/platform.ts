/**
 * Plugins on the platform (plugins.md §12): `synapse plugin run --on-platform` (alias `--mode
 * remote`) checks the params here, submits the run to the selected agent and follows the job to its
 * end like `ray job submit`; `synapse plugin job list|stop`.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultBlockFilter, TERMINAL_JOB_STATUSES } from 'synapse-core';
import { AgentClient } from '../clients/agent/index.ts';
import type { BackendClient, Job, JobStatus } from '../clients/backend/index.ts';
import { loadCredentials } from '../clients/credentials.ts';
import { NotFoundError } from '../clients/errors.ts';
import { PluginRunError, PluginValidationError } from '../plugins/errors.ts';
import { parseJsonOption, printJson, UsageError } from './output.ts';
import {
  backendFromOptions,
  type ConnectionOptions,
  jobNotFound,
  type OutputMask,
  outputMask,
} from './session.ts';

export interface PlatformRunOptions extends ConnectionOptions {
  path: string;
  params?: string;
  plugin?: string;
  input?: string;
  inferPath: string;
  /** `--no-wait`: answer `{job_id, status}` at once instead of following the job. */
  wait?: boolean;
}

/** What a shell reports for a command ended by Ctrl-C (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

const REMOTE_ALIASES: Record<string, string> = { infer: 'inference', deploy: 'deployment' };
const POLL_MS = 1000;

const isTerminal = (status: unknown) => TERMINAL_JOB_STATUSES.has(status as JobStatus);

/**
 * Lines of a job's output as a person reads them: the result block between the run protocol's
 * markers is left out (the result is printed on its own), the rest masked.
 */
export function jobOutputPrinter(mask: OutputMask, write: (text: string) => void): (line: string) => void {
  const shown = new ResultBlockFilter();
  return (line) => {
    for (const text of shown.push(line)) write(`${mask.text(text)}\n`);
  };
}

/** The agent other commands chose (`synapse agent select`, `synapse dev`), or a usage error saying how to choose one. */
function selectedAgent(): { id: number; client: AgentClient } {
  const agent = loadCredentials().agent;
  if (!agent?.id || !agent.url || !agent.token) {
    throw new UsageError(
      'No agent selected to run the plugin on. Run `synapse agent select` to choose one ' +
        '(`synapse dev` selects its local agent).',
    );
  }
  return { id: agent.id, client: new AgentClient(agent.url, agent.token) };
}

/**
 * The params checked against the action's schema in the local checkout (`--path`), as the local
 * modes check them, before anything is submitted: invalid params are a usage error naming each
 * field. Returns why nothing could be checked (no checkout of this plugin here), or null.
 */
async function checkParams(
  action: string,
  params: Record<string, unknown>,
  opts: PlatformRunOptions,
): Promise<{ code: string; unchecked: string | null }> {
  const [{ PluginDiscovery }, { findConfigFile }] = await Promise.all([
    import('../plugins/discovery.ts'),
    import('../plugins/config.ts'),
  ]);
  const dir = resolve(opts.path);
  if (!findConfigFile(dir)) {
    if (!opts.plugin)
      throw new UsageError(`No plugin config (config.yaml) in ${dir}: give --path or --plugin.`);
    return { code: opts.plugin, unchecked: `no plugin checkout in ${dir}` };
  }
  const discovery = await PluginDiscovery.fromPath(dir);
  const { code } = discovery.config;
  if (opts.plugin && opts.plugin !== code) {
    return { code: opts.plugin, unchecked: `the plugin in ${dir} is ${code}, not ${opts.plugin}` };
  }
  if (discovery.getActionConfig(action).method !== 'job') return { code, unchecked: null };
  const { validateActionParams } = await import('../executors/job.ts');
  try {
    await validateActionParams(discovery.getActionEntrypoint(action), params, {
      workingDir: discovery.pluginDir,
      env: discovery.config.env as Record<string, string> | undefined,
    });
  } catch (err) {
    if (err instanceof PluginValidationError) {
      throw new UsageError(`${err.message}. Nothing was submitted.`, { cause: err });
    }
    throw err;
  }
  return { code, unchecked: null };
}

/** How Ctrl-C on a followed run is answered: stop the job on a "y" at the terminal, else detach. */
export function interruptDecision(isTTY: boolean, answer?: string): 'stop' | 'detach' {
  return isTTY && /^y(es)?$/i.test((answer ?? '').trim()) ? 'stop' : 'detach';
}

async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const closed = new AbortController();
  rl.once('close', () => closed.abort());
  // A second Ctrl-C at the question quits at once, as it does elsewhere in the CLI.
  rl.once('SIGINT', () => process.exit(INTERRUPTED_EXIT_CODE));
  try {
    return await rl.question(question, { signal: closed.signal });
  } catch {
    return '';
  } finally {
    rl.close();
  }
}

function detachHint(jobId: string): string {
  return (
    `Detached: job ${jobId} keeps running on the platform.\n` +
    `  follow it: synapse plugin job logs ${jobId} --follow\n` +
    `  stop it:   synapse plugin job stop ${jobId}\n`
  );
}

/**
 * Follows a job to its end: its console log (the platform's tail, reconnected when it breaks,
 * without repeating lines) through `print`, then the final record. Aborting `signal` detaches.
 */
async function followJob(
  client: BackendClient,
  jobId: string,
  print: (line: string) => void,
  signal: AbortSignal,
): Promise<Job> {
  let printed = 0;
  for (;;) {
    let seen = 0;
    try {
      for await (const line of client.tailJobConsoleLogs(jobId, { signal })) {
        seen += 1;
        if (seen > printed) {
          printed = seen;
          print(line.replace(/\n$/, ''));
        }
      }
    } catch (err) {
      if (signal.aborted || err instanceof NotFoundError) throw err;
      // The stream broke (a restart, a proxy): the record says whether to read on.
    }
    const job = await client.getJob(jobId);
    if (isTerminal(job.status)) return job;
    await sleep(POLL_MS, undefined, { signal });
  }
}

/** The last error line of a job's console log, for the one-line failure message. */
function failureReason(job: Job): string | null {
  const lines = Array.isArray(job.console_logs) ? job.console_logs.map(String) : [];
  const shown = new ResultBlockFilter();
  const visible = lines.flatMap((l) => shown.push(l)).filter((l) => l.trim() !== '');
  return visible.findLast((l) => /^(ERROR|CRITICAL|DANGER)\b|Error\b/.test(l)) ?? visible.at(-1) ?? null;
}

/** `synapse plugin run <action> --on-platform` (or `--mode remote`). */
export async function runOnPlatform(action: string, opts: PlatformRunOptions): Promise<void> {
  const params = await parseJsonOption(opts.params);
  const mask = outputMask(opts);
  const name = REMOTE_ALIASES[action] ?? action;
  const { code, unchecked } = await checkParams(name, params, opts);
  const agent = selectedAgent();
  const body =
    name === 'inference'
      ? { ...params, input: await parseJsonOption(opts.input, 'input'), path: opts.inferPath }
      : params;
  const client = backendFromOptions(opts);
  try {
    if (unchecked) process.stderr.write(`Params not checked before submitting: ${unchecked}.\n`);
    let answer: unknown;
    try {
      answer = await client.runPlugin(code, { agent: agent.id, action: name, params: body });
    } catch (err) {
      throw new PluginRunError(`Failed to run plugin: ${(err as Error).message}`, {}, { cause: err });
    }
    const jobId = (answer as { job_id?: unknown } | null)?.job_id;
    // Actions that are no job (inference of a served app) answer their result at once.
    if (typeof jobId !== 'string' || opts.wait === false) return printJson(mask.value(answer));
    await followSubmitted(client, agent.client, jobId, `${code} ${name}`, mask);
  } finally {
    await Promise.all([client.close(), agent.client.close()]);
  }
}

async function followSubmitted(
  client: BackendClient,
  agent: AgentClient,
  jobId: string,
  what: string,
  mask: OutputMask,
): Promise<void> {
  const err = (text: string) => process.stderr.write(text);
  err(`Job ${jobId} submitted (${what}); following it. Ctrl-C to detach or stop it.\n`);
  const detach = new AbortController();
  let stopping = false;
  let asking = false;
  const onInterrupt = async () => {
    if (asking || stopping) process.exit(INTERRUPTED_EXIT_CODE);
    const tty = process.stdin.isTTY === true;
    asking = tty;
    const answer = tty ? await ask(`\nStop job ${jobId} on the platform? [y/N] `) : undefined;
    asking = false;
    if (interruptDecision(tty, answer) === 'detach') {
      detach.abort();
      return;
    }
    stopping = true;
    err(`Stopping job ${jobId}...\n`);
    // The follow reads on until the record says STOPPED.
    await agent.stopJob(jobId).catch((e: Error) => {
      err(`Could not stop job ${jobId}: ${mask.text(e.message)}\n`);
      detach.abort();
    });
  };
  const handler = () => void onInterrupt();
  process.on('SIGINT', handler);
  let job: Job;
  try {
    job = await followJob(client, jobId, jobOutputPrinter(mask, err), detach.signal);
  } catch (e) {
    if (!detach.signal.aborted) throw e;
    err(detachHint(jobId));
    process.exitCode = INTERRUPTED_EXIT_CODE;
    return;
  } finally {
    process.off('SIGINT', handler);
  }
  if (job.status === 'SUCCEEDED') {
    err(`Job ${jobId} SUCCEEDED.\n`);
    printJson(mask.value(job.result ?? null));
    return;
  }
  if (job.status === 'STOPPED') {
    if (stopping) {
      err(`Stopped job ${jobId}.\n`);
      process.exitCode = INTERRUPTED_EXIT_CODE;
      return;
    }
    throw new PluginRunError(`Job ${jobId} was stopped on the platform.`);
  }
  const reason = failureReason(job);
  throw new PluginRunError(`Job ${jobId} ${job.status}${reason ? `: ${mask.text(reason)}` : ''}`);
}

/** The time from creation to completion (or to now while it runs), as `1m 05s`. */
export function jobDuration(job: Pick<Job, 'created' | 'completed'>, now = Date.now()): string {
  const start = Date.parse(String(job.created));
  const end = job.completed ? Date.parse(String(job.completed)) : now;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return '-';
  const seconds = Math.max(0, Math.round((end - start) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** Rows under a header, each column as wide as its widest cell. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export interface JobListOptions extends ConnectionOptions {
  status?: string;
  plugin?: string;
  limit: string;
  json?: boolean;
}

/** `synapse plugin job list`: the newest jobs first, as a table or as JSON. */
export async function jobList(opts: JobListOptions): Promise<void> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`Invalid --limit: ${opts.limit}. Use a whole number above 0.`);
  const { JOB_STATUSES } = await import('synapse-core');
  const status = opts.status?.toUpperCase();
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) {
    const names = JOB_STATUSES.map((s) => s.toLowerCase());
    throw new UsageError(
      `Invalid --status: ${opts.status}. Use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}.`,
    );
  }
  const client = backendFromOptions(opts);
  const mask = outputMask(opts);
  try {
    const codes = new Map<number, string>();
    const query: Record<string, string | number> = {};
    if (status) query.status = status;
    if (opts.plugin) {
      const plugin = await client.getPlugin(opts.plugin).catch((err: unknown) => {
        if (err instanceof NotFoundError) throw new UsageError(`No plugin ${opts.plugin} on the platform.`);
        throw err;
      });
      query.plugin = plugin.id;
      codes.set(plugin.id, plugin.code);
    }
    // The platform's order is not the age: all matching jobs, the newest first here.
    const jobs = (await client.listJobs(query, { listAll: true }).then((all) => all.toArray())).sort(
      (a, b) => Date.parse(String(b.created)) - Date.parse(String(a.created)),
    );
    const shown = jobs.slice(0, limit);
    if (opts.json) return printJson(mask.value(shown));
    if (jobs.length === 0) {
      process.stdout.write(
        `No jobs${status ? ` with status ${status}` : ''}${opts.plugin ? ` of plugin ${opts.plugin}` : ''}.\n`,
      );
      return;
    }
    for (const id of new Set(shown.map((j) => (j as { plugin?: number | null }).plugin))) {
      if (typeof id !== 'number' || codes.has(id)) continue;
      const plugin = await client.getPlugin(id).catch(() => null);
      if (plugin) codes.set(id, plugin.code);
    }
    const rows = shown.map((j) => {
      const plugin = (j as { plugin?: number | null }).plugin;
      return [
        j.id,
        j.status,
        (typeof plugin === 'number' ? codes.get(plugin) : undefined) ?? '-',
        j.action,
        String(j.created).replace('T', ' ').slice(0, 19),
        jobDuration(j),
      ];
    });
    process.stdout.write(textTable(['JOB', 'STATUS', 'PLUGIN', 'ACTION', 'CREATED (UTC)', 'DURATION'], rows));
    if (jobs.length > shown.length) {
      process.stdout.write(
        `(the ${shown.length} newest of ${jobs.length} jobs; --limit ${jobs.length} shows all)\n`,
      );
    }
  } finally {
    await client.close();
  }
}

/** `synapse plugin job stop <id>`: stops a running job through the agent that runs it. */
export async function jobStop(jobId: string, opts: ConnectionOptions): Promise<void> {
  const client = backendFromOptions(opts);
  let agent: AgentClient | null = null;
  try {
    const job = await client.getJob(jobId).catch((err: unknown) => {
      throw jobNotFound(err, jobId, client);
    });
    if (isTerminal(job.status)) {
      process.stdout.write(`Job ${jobId} has already ended: ${job.status}.\n`);
      return;
    }
    const selected = selectedAgent();
    agent = selected.client;
    if (job.agent !== null && job.agent !== selected.id) {
      throw new PluginRunError(
        `Job ${jobId} runs on agent ${job.agent}, not on the selected agent ${selected.id}: select it with \`synapse agent select --id ${job.agent}\`.`,
      );
    }
    const { stopped } = await agent.stopJob(jobId);
    const now = await client.getJob(jobId);
    process.stdout.write(
      stopped
        ? `Stopped job ${jobId} (${now.status}).\n`
        : `Job ${jobId} has already ended: ${now.status}.\n`,
    );
  } finally {
    await Promise.all([client.close(), agent?.close()]);
  }
}
