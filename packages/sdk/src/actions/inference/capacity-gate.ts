/**
 * The serve capacity gate (inference.md §7): before a deployment replaces anything, ask the agent
 * whether the cluster can take it, and fail closed when the answer is no or cannot be had.
 */
import type { AgentClient, FeasibilityPayload } from '../../clients/agent/index.ts';
import { ClientError } from '../../clients/errors.ts';
import { RuntimeError } from '../../plugins/errors.ts';
import type { BaseLogger } from '../../plugins/logging/base.ts';

export interface CapacityGateOptions {
  /** `ctx.agentClient`; without one the gate is skipped with a warning. */
  agentClient: Pick<AgentClient, 'checkFeasibility'> | null | undefined;
  /** `getServeAppName()`: the agent counts a running app of this name as free (a redeploy replaces it). */
  pluginCode: string;
  /** Env `SYNAPSE_AGENT_ID`. */
  agentId?: string;
  logger: Pick<BaseLogger, 'warning'>;
}

/** Throws `RuntimeError` when the deployment is denied or the agent gives no usable answer. */
export async function checkServeCapacity(
  rayActorOptions: Record<string, unknown>,
  serveOptions: Record<string, unknown>,
  options: CapacityGateOptions,
): Promise<void> {
  const { agentClient, logger } = options;
  if (!agentClient) {
    logger.warning('serve capacity gate skipped: agent_client not provided');
    return;
  }
  const payload = feasibilityPayload(rayActorOptions, serveOptions, options);

  let response: unknown;
  try {
    response = await agentClient.checkFeasibility(payload);
  } catch (err) {
    const errorType = unreachableType(err);
    if (errorType === null) throw err;
    // The cause's text may carry the agent URL, so only its type goes into the message.
    throw new RuntimeError(`Serve deploy capacity check failed: agent unreachable (${errorType})`, {
      cause: err,
    });
  }

  // Seed 004: only a non-object answer or a missing `allowed` is malformed; any `allowed` value
  // counts by Python's truthiness (0 and null deny, 1 allows), as the Python gate reads it.
  if (!isPlainObject(response) || !Object.hasOwn(response, 'allowed')) {
    throw new RuntimeError('Serve deploy capacity check failed: agent unreachable (MalformedResponse)');
  }
  if (!pyTruthy(response.allowed)) {
    const reasons = pyTruthy(response.reasons) ? response.reasons : [];
    throw new RuntimeError(`Serve deploy denied: insufficient cluster capacity (${pyStr(reasons)})`);
  }
}

function feasibilityPayload(
  rayActorOptions: Record<string, unknown>,
  serveOptions: Record<string, unknown>,
  { pluginCode, agentId }: CapacityGateOptions,
): FeasibilityPayload {
  const memory = rayActorOptions.memory;
  return {
    kind: 'serve',
    num_cpus: toNumber('num_cpus', rayActorOptions.num_cpus ?? 1, 'float'),
    num_gpus: toNumber('num_gpus', rayActorOptions.num_gpus ?? 0, 'float'),
    // Sent as null rather than left out: "no memory request" is part of the question.
    memory_bytes: memory === undefined || memory === null ? null : toNumber('memory_bytes', memory, 'int'),
    replicas: toNumber('replicas', serveOptions.num_replicas ?? 1, 'int'),
    metadata: { plugin_code: pluginCode, agent: String(agentId ?? '') },
  };
}

function toNumber(key: string, value: unknown, kind: 'float' | 'int'): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`Cannot convert ${key} to ${kind}: ${String(value)}`);
  return kind === 'int' ? Math.trunc(n) : n;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The `<error_type>` of a failure that means "no answer from the agent" (§7.3); null for anything else. */
function unreachableType(err: unknown): string | null {
  if (err instanceof ClientError) return err.name;
  if (typeof err !== 'object' || err === null) return null;
  const { name, code } = err as { name?: unknown; code?: unknown };
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT') return 'TimeoutError';
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return 'ConnectionError';
  // System errors are `E` + errno name (EACCES, E2BIG); Node's own `ERR_*` codes are bugs, not the network.
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return 'OSError';
  if (err instanceof TypeError && err.message === 'fetch failed') {
    return unreachableType(err.cause) ?? 'ConnectionError';
  }
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's truthiness of a JSON value: false, null, 0, '', [] and {} are false. */
function pyTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/**
 * Python's `str()` of a JSON value, so the message reads as the Python SDK's does (§7.4): a string
 * as itself, anything else as its `repr` (`[1, {'a': 1}]`, `True`, `None`).
 */
function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value, 0);
}

/** Nesting deeper than this is shown as `...` (the reasons are only a message). */
const MAX_REPR_DEPTH = 20;

function pyRepr(value: unknown, depth: number): string {
  if (depth > MAX_REPR_DEPTH) return '...';
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, depth + 1)).join(', ')}]`;
  if (isPlainObject(value)) {
    const items = Object.entries(value).map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v, depth + 1)}`);
    return `{${items.join(', ')}}`;
  }
  return pyStrRepr(String(value));
}

/** JSON integers print as Python ints; other numbers as Python floats (`1e-07`, `inf`). */
function pyNumber(n: number): string {
  if (Number.isInteger(n)) return BigInt(n).toString();
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf';
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Python's `repr(str)`: single quotes, or double ones when that saves escaping a `'`. */
function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t']/g, (c) => ESCAPES[c] ?? (quote === "'" ? "\\'" : c));
  return quote + body + quote;
}
