/**
 * The agent's capacity check (backend-api.md §14.3): what a deployment asks for against what
 * this machine has, minus what the running serve applications hold. Pure functions, so the rules
 * can be tested without a server.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { RayNodeResources } from 'synapse-sdk';
import { validateBody } from './validation.ts';

export interface Resources {
  cpus: number;
  gpus: number;
  memoryBytes: number;
}

/** This machine: logical CPUs, total memory, no GPU; each overridable. */
export function machineCapacity(override: Partial<Resources> = {}): Resources {
  return {
    cpus: override.cpus ?? availableParallelism(),
    gpus: override.gpus ?? 0,
    memoryBytes: override.memoryBytes ?? totalmem(),
  };
}

/** What a serve application holds, as stored: its run params, its agent report, its replicas. */
export interface ServeAppUsage {
  name: string;
  num_replicas?: unknown;
  params?: unknown;
  data?: unknown;
}

function numberIn(sources: unknown[], key: string, fallback: number): number {
  for (const source of sources) {
    const value = (source as Record<string, unknown> | null)?.[key];
    if (value !== undefined && value !== null && Number.isFinite(Number(value))) return Number(value);
  }
  return fallback;
}

/**
 * Per replica, `num_cpus` (default 1, as the capacity gate assumes), `num_gpus` (default 0) and `memory`
 * in bytes (default 0), read from the app's `params`, else its `data`; times `num_replicas`.
 */
export function reservedBy(app: ServeAppUsage): Resources {
  const sources = [app.params, app.data];
  const replicas = numberIn([app], 'num_replicas', 1);
  return {
    cpus: replicas * numberIn(sources, 'num_cpus', 1),
    gpus: replicas * numberIn(sources, 'num_gpus', 0),
    memoryBytes: replicas * numberIn(sources, 'memory', 0),
  };
}

/** Sums of fractional resources drift (0.1 + 0.2); nine decimals are plenty for CPUs and GPUs. */
const round = (n: number) => Math.round(n * 1e9) / 1e9;

/**
 * Capacity left by the running apps. The app named `replacing` counts as free: deploying it
 * again replaces it, so a same-size redeploy never fails for lack of its own resources.
 */
export function freeCapacity(capacity: Resources, apps: ServeAppUsage[], replacing?: string): Resources {
  const free = { ...capacity };
  for (const app of apps) {
    if (app.name === replacing) continue;
    const held = reservedBy(app);
    free.cpus -= held.cpus;
    free.gpus -= held.gpus;
    free.memoryBytes -= held.memoryBytes;
  }
  return {
    cpus: Math.max(0, round(free.cpus)),
    gpus: Math.max(0, round(free.gpus)),
    memoryBytes: Math.max(0, Math.round(free.memoryBytes)),
  };
}

export interface FeasibilityRequest {
  kind: string;
  num_cpus: number;
  num_gpus: number;
  memory_bytes: number | null;
  replicas: number;
  metadata: Record<string, unknown>;
}

/** The request body with the capacity gate's defaults (`inference.md` §7.2); 422 when malformed. */
export function parseFeasibilityRequest(body: unknown): FeasibilityRequest {
  const valid = validateBody(body, {
    kind: { kind: 'string', required: true },
    num_cpus: { kind: 'number', min: 0 },
    num_gpus: { kind: 'number', min: 0 },
    memory_bytes: { kind: 'int', min: 0, nullable: true },
    replicas: { kind: 'int', min: 1 },
    metadata: { kind: 'object' },
  });
  return {
    kind: valid.kind as string,
    num_cpus: (valid.num_cpus ?? 1) as number,
    num_gpus: (valid.num_gpus ?? 0) as number,
    memory_bytes: (valid.memory_bytes ?? null) as number | null,
    replicas: (valid.replicas ?? 1) as number,
    metadata: (valid.metadata ?? {}) as Record<string, unknown>,
  };
}

export interface FeasibilityResult {
  allowed: boolean;
  reasons: string[];
  requested: { num_cpus: number; num_gpus: number; memory_bytes: number };
  available: { num_cpus: number; num_gpus: number; memory_bytes: number };
}

/** Numbers as Python prints floats: always with a decimal (`2.0`, `0.5`). */
function pyFloat(n: number): string {
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

function shortfall(what: string, requested: number, available: number): string {
  return `insufficient ${what}: requested ${pyFloat(requested)}, available ${pyFloat(available)}`;
}

const EPSILON = 1e-9;

/** Allowed iff every requested total (replicas × per replica) fits; one reason per shortfall. */
export function checkFeasibility(request: FeasibilityRequest, free: Resources): FeasibilityResult {
  const requested = {
    num_cpus: round(request.replicas * request.num_cpus),
    num_gpus: round(request.replicas * request.num_gpus),
    memory_bytes: request.replicas * (request.memory_bytes ?? 0),
  };
  const reasons: string[] = [];
  if (requested.num_cpus > free.cpus + EPSILON) reasons.push(shortfall('CPU', requested.num_cpus, free.cpus));
  if (requested.num_gpus > free.gpus + EPSILON) reasons.push(shortfall('GPU', requested.num_gpus, free.gpus));
  if (request.memory_bytes !== null && requested.memory_bytes > free.memoryBytes) {
    reasons.push(shortfall('memory', requested.memory_bytes, free.memoryBytes));
  }
  return {
    allowed: reasons.length === 0,
    reasons,
    requested,
    available: { num_cpus: free.cpus, num_gpus: free.gpus, memory_bytes: free.memoryBytes },
  };
}

export const GATEKEEPING_POLICY = {
  enabled: true,
  fail_closed: true,
  max_replicas: 8,
  allow_fractional_gpus: true,
};

/**
 * The agent's capacity when it runs on Ray: what the cluster has free now (its nodes summed),
 * plus what the running serve applications hold there, since `freeCapacity` subtracts those
 * again, and so still counts the app being replaced as free.
 */
export function rayCapacity(nodes: RayNodeResources[], apps: ServeAppUsage[]): Resources {
  const free = (key: string) =>
    nodes.reduce((sum, n) => sum + Math.max(0, (n.total[key] ?? 0) - (n.used[key] ?? 0)), 0);
  const held = apps.map(reservedBy);
  const sum = (pick: (r: Resources) => number) => held.reduce((total, r) => total + pick(r), 0);
  return {
    cpus: round(free('CPU') + sum((r) => r.cpus)),
    gpus: round(free('GPU') + sum((r) => r.gpus)),
    memoryBytes: Math.round(free('memory') + sum((r) => r.memoryBytes)),
  };
}
