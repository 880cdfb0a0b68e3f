/**
 * The run protocol: what a platform (its agent, the local platform, an executor) and a plugin
 * run agree on outside the HTTP API (plugins.md §10.5, §13; inference.md §6). The environment
 * variables a run is started with, the release code, checksum and serve route prefix, and the
 * markers a job prints its result between. Every value here is on the wire: names and strings
 * never change. Platform-neutral on purpose (no Node-only API), so anything may implement either
 * side. The multiplexed model token is in model-token.ts.
 */
import { md5Hex } from './md5.ts';

/** One environment variable. */
export interface EnvVar<N extends string = string> {
  readonly name: N;
  readonly meaning: string;
  /** What an unset (or empty) variable reads as; none: it reads as undefined. */
  readonly default?: string;
}

/** Defines a variable; the SDK defines its own settings with it too, so they share one shape. */
export function envVar<const N extends string>(name: N, meaning: string, defaultValue?: string): EnvVar<N> {
  return defaultValue === undefined ? { name, meaning } : { name, meaning, default: defaultValue };
}

/** The run environment (plugins.md §13): what the agent that starts a plugin run gives it. */
export const RUN_ENV = {
  runHost: envVar('SYNAPSE_PLUGIN_RUN_HOST', 'Backend URL a plugin run reports to'),
  runUserToken: envVar('SYNAPSE_PLUGIN_RUN_USER_TOKEN', 'User token of whoever started the run'),
  runTenant: envVar('SYNAPSE_PLUGIN_RUN_TENANT', "The run's tenant, sent as SYNAPSE-Tenant"),
  releaseCode: envVar(
    'SYNAPSE_PLUGIN_RELEASE_CODE',
    "The run's release, `<code>@<version>` (the serve app name)",
  ),
  releaseChecksum: envVar(
    'SYNAPSE_PLUGIN_RELEASE_CHECKSUM',
    "The release's checksum: its serve route prefix",
  ),
  agentId: envVar('SYNAPSE_AGENT_ID', 'Id of the agent the run executes on'),
  agentUrl: envVar(
    'SYNAPSE_AGENT_URL',
    "Agent API URL; with SYNAPSE_AGENT_TOKEN it replaces the saved login's agent",
  ),
  agentToken: envVar('SYNAPSE_AGENT_TOKEN', "The agent's token, sent to the agent API only"),
} as const;

/** The job environment (plugins.md §10.5): written by the executor that starts a job, read by its entrypoint. */
export const JOB_ENV = {
  jobId: envVar('SYNAPSE_JOB_ID', 'The backend job the run reports to; unset for a local run'),
  actionEntrypoint: envVar('SYNAPSE_ACTION_ENTRYPOINT', 'The action to run (`module.path.Export`)'),
  actionParams: envVar('SYNAPSE_ACTION_PARAMS', "The action's params as JSON"),
  actionParamsFile: envVar(
    'SYNAPSE_ACTION_PARAMS_FILE',
    "A file holding the params' JSON, when too large for the environment",
  ),
  rayJobId: envVar('RAY_JOB_ID', 'Set by Ray inside a job: its id when SYNAPSE_JOB_ID is not set'),
} as const;

/**
 * Where serve apps are reached (inference.md §6): the platform that hosts them and the run that
 * calls them must agree on the address, default included.
 */
export const SERVE_ENV = {
  serveAddress: envVar(
    'RAY_SERVE_ADDRESS',
    'Where the serve gateway (Ray Serve HTTP proxy) listens',
    'http://localhost:8100',
  ),
} as const;

/**
 * Params JSON of this length or more goes to the job through SYNAPSE_ACTION_PARAMS_FILE
 * (plugins.md §10.5): environments have size limits.
 */
export const PARAMS_ENV_LIMIT = 32_000;

/** A release's code: `<plugin code>@<version>`, also the name of its serve app. */
export function releaseCode(pluginCode: string, version: string): string {
  return `${pluginCode}@${version}`;
}

/** A release's checksum as the platform assigns it: the MD5 hex of its code. */
export function releaseChecksum(code: string): string {
  return md5Hex(code);
}

/** The route a release's serve app is reached on: `/<checksum>`. */
export function releaseRoutePrefix(checksum: string): string {
  return `/${checksum}`;
}

/** The lines a job's result is printed between (plugins.md §10.5), each on a line of its own. */
export const RESULT_START = '__SYNAPSE_RESULT_START__';
export const RESULT_END = '__SYNAPSE_RESULT_END__';

/** Which marker a line of job output is; lines are compared trimmed, so `\r\n` output reads the same. */
export function resultMarker(line: string): 'start' | 'end' | undefined {
  const trimmed = line.trim();
  return trimmed === RESULT_START ? 'start' : trimmed === RESULT_END ? 'end' : undefined;
}

/** The markers carry an object: anything else is wrapped as `{"result": r}` (undefined as null). */
export function resultPayload(result: unknown): Record<string, unknown> {
  const isPlainObject = result !== null && typeof result === 'object' && !Array.isArray(result);
  return isPlainObject ? (result as Record<string, unknown>) : { result: result ?? null };
}

/**
 * The text a job prints for its result: the payload's compact JSON between the markers. The
 * leading newline puts the start marker on its own line after output that did not end one.
 */
export function resultBlock(result: unknown): string {
  return `\n${RESULT_START}\n${JSON.stringify(resultPayload(result))}\n${RESULT_END}\n`;
}

/** A result block whose text is not JSON. */
export class JobResultError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`Invalid job result: ${reason}`, options);
    this.name = 'JobResultError';
  }
}

/**
 * Reads job output line by line and keeps the text between the last start marker line and the
 * end marker line that follows it (plugins.md §10.5).
 */
export class ResultScanner {
  #block: string[] | null = null;
  #text: string | null = null;

  line(line: string): void {
    const marker = resultMarker(line);
    if (marker === 'start') {
      this.#block = [];
      this.#text = null;
    } else if (marker === 'end' && this.#block) {
      this.#text = this.#block.join('\n');
      this.#block = null;
    } else {
      this.#block?.push(line);
    }
  }

  /** The parsed result, or null when no complete marker block was seen; `JobResultError` when not JSON. */
  result(): unknown {
    if (this.#text === null) return null;
    try {
      return JSON.parse(this.#text);
    } catch (err) {
      throw new JobResultError((err as Error).message, { cause: err });
    }
  }
}

/**
 * A job's output as people read it (job logs, the job record's console): the result block is
 * protocol, not output, so its lines and the empty line `resultBlock` puts before it are left
 * out. Fed line by line; an empty line is held until the next line shows whether it opens a block.
 */
export class ResultBlockFilter {
  #inBlock = false;
  #heldEmpty = false;

  /** The lines to show now for the next `line` of output (none, it, or a held empty line and it). */
  push(line: string): string[] {
    const marker = resultMarker(line);
    if (this.#inBlock) {
      if (marker === 'end') this.#inBlock = false;
      return [];
    }
    if (marker === 'start') {
      this.#inBlock = true;
      this.#heldEmpty = false;
      return [];
    }
    const shown = this.#heldEmpty ? [''] : [];
    this.#heldEmpty = line.trim() === '';
    if (!this.#heldEmpty) shown.push(line);
    return shown;
  }
}

/** `output` without its result block (see `ResultBlockFilter`); a final newline is kept. */
export function withoutResultBlock(output: string): string {
  const filter = new ResultBlockFilter();
  const lines = output.split('\n');
  const last = lines.pop();
  const shown = lines.flatMap((line) => filter.push(line));
  if (last) shown.push(...filter.push(last));
  const text = shown.join('\n');
  return last === '' && text ? `${text}\n` : text;
}

/** The result printed in a job's output, or null when there is none. */
export function parseResult(output: string): unknown {
  const scanner = new ResultScanner();
  for (const line of output.split('\n')) scanner.line(line);
  return scanner.result();
}
