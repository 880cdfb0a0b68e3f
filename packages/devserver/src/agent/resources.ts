/**
 * The agent's resources and policy (backend-api.md §14.3): the cluster snapshot of
 * `resources/cluster/` (this machine, or the Ray cluster the agent runs on), GPU status, and the
 * policy of `resources/policy/`, kept per agent in the settings table.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type AgentPolicy,
  agentPolicyUpdateSchema,
  type ClusterNode,
  type ClusterResources,
  type GpuStatus,
  type ResourceCounter,
} from 'synapse-core';
import type { RayNodeResources } from 'synapse-sdk';
import type { DevContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { machineCapacity, type Resources, reservedBy, type ServeAppUsage } from './feasibility.ts';
import { zodUnprocessable } from './validation.ts';

/** The policy of an agent nobody has changed (emulator's choice; the runtime half is the Python SDK's defaults). */
export const DEFAULT_POLICY: AgentPolicy = {
  enabled: true,
  gatekeeping_enabled: true,
  fail_closed: true,
  max_replicas: 8,
  allow_fractional_gpus: true,
  max_concurrent_jobs: 3,
  max_concurrent_serve_replicas: 16,
  cpu_max_utilization_percent: 90,
  memory_max_utilization_percent: 90,
  gpu_max_utilization_percent: 90,
  gpu_max_memory_percent: 90,
  max_concurrent_ray_jobs: 0,
  resource_cache_ttl_seconds: 5,
};

const policyKey = (agent: number) => `agent_policy:${agent}`;

export async function readPolicy(ctx: DevContext, agent: number): Promise<AgentPolicy> {
  const [row] = await ctx.db.query<{ value: Partial<AgentPolicy> }>(
    'SELECT value FROM settings WHERE key = $1',
    [policyKey(agent)],
  );
  return { ...DEFAULT_POLICY, ...row?.value };
}

/**
 * `PATCH resources/policy/`: the given fields, checked (422 naming each bad or unknown field, as
 * the agent's FastAPI service answers), merged into the stored policy. `enabled` and
 * `gatekeeping_enabled` are one switch: setting either sets both.
 */
export async function updatePolicy(ctx: DevContext, agent: number, body: unknown): Promise<AgentPolicy> {
  const parsed = agentPolicyUpdateSchema.safeParse(body);
  if (!parsed.success) throw zodUnprocessable(parsed.error);
  const patch = { ...parsed.data };
  const switchValue = patch.gatekeeping_enabled ?? patch.enabled;
  if (switchValue !== undefined) {
    patch.enabled = switchValue;
    patch.gatekeeping_enabled = switchValue;
  }
  const policy = { ...(await readPolicy(ctx, agent)), ...patch };
  await ctx.db.query(
    'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
    [policyKey(agent), JSON.stringify(policy)],
  );
  return policy;
}

/** FastAPI's reading of a boolean query value; 422 naming `use_cache` otherwise. */
export function parseUseCache(raw: unknown): boolean {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return true;
  const text = String(value).toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(text)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(text)) return false;
  throw new ApiError(422, {
    detail: [
      {
        type: 'bool_parsing',
        loc: ['query', 'use_cache'],
        msg: 'Input should be a valid boolean, unable to interpret input',
        input: String(value).slice(0, 100),
      },
    ],
  });
}

const counter = (total: number, used: number): ResourceCounter => {
  const round = (n: number) => Math.round(n * 1e9) / 1e9;
  return {
    total: round(total),
    used: round(Math.min(used, total)),
    available: round(Math.max(0, total - used)),
  };
};

export interface NodeUsage {
  nodeId: string;
  hostName: string | null;
  ip: string | null;
  isHead: boolean;
  total: Resources;
  used: Resources;
}

/** The local machine as the cluster's one node, with what the running apps hold on it. */
export function machineNode(ctx: DevContext, apps: ServeAppUsage[]): NodeUsage {
  const total = machineCapacity(ctx.capacity);
  const used = apps.map(reservedBy).reduce(
    (sum, r) => ({
      cpus: sum.cpus + r.cpus,
      gpus: sum.gpus + r.gpus,
      memoryBytes: sum.memoryBytes + r.memoryBytes,
    }),
    { cpus: 0, gpus: 0, memoryBytes: 0 },
  );
  return {
    nodeId: createHash('md5').update(hostname()).digest('hex'),
    hostName: hostname(),
    ip: '127.0.0.1',
    isHead: true,
    total,
    used,
  };
}

/** Ray's nodes as the agent reports them: Ray's own totals and usage per node. */
export function rayNodes(nodes: RayNodeResources[]): NodeUsage[] {
  const pick = (r: Record<string, number>): Resources => ({
    cpus: r.CPU ?? 0,
    gpus: r.GPU ?? 0,
    memoryBytes: r.memory ?? 0,
  });
  return nodes.map((node, i) => ({
    nodeId: node.nodeId ?? `node-${i}`,
    hostName: null,
    ip: null,
    isHead: i === 0,
    total: pick(node.total),
    used: pick(node.used),
  }));
}

/** GPUs have no model here: each whole GPU of a node is one device, with no memory or utilisation known. */
function gpuDevices(node: NodeUsage) {
  return Array.from({ length: Math.floor(node.total.gpus) }, (_, index) => ({
    index,
    name: '',
    uuid: '',
    utilization_gpu: null,
    memory_used: 0,
    memory_total: 0,
  }));
}

export interface ClusterCounts {
  runningJobs: number;
  serveReplicas: number;
}

/** `GET resources/cluster/`: the nodes summed, each node with its own counters. */
export function clusterSnapshot(nodes: NodeUsage[], counts: ClusterCounts): ClusterResources {
  const sum = (pick: (n: NodeUsage) => number) => nodes.reduce((total, n) => total + pick(n), 0);
  const gpusTotal = sum((n) => n.total.gpus);
  const gpusUsed = sum((n) => n.used.gpus);
  const clusterNodes: ClusterNode[] = nodes.map((n) => ({
    node_id: n.nodeId,
    host_name: n.hostName,
    ip: n.ip,
    is_head_node: n.isHead,
    state: 'ALIVE',
    accelerator_type: null,
    cpu: counter(n.total.cpus, n.used.cpus),
    memory: counter(n.total.memoryBytes, n.used.memoryBytes),
    gpus: gpuDevices(n),
  }));
  return {
    collected_at: new Date().toISOString(),
    stale: false,
    cpu: counter(
      sum((n) => n.total.cpus),
      sum((n) => n.used.cpus),
    ),
    memory: counter(
      sum((n) => n.total.memoryBytes),
      sum((n) => n.used.memoryBytes),
    ),
    gpu: {
      total_gpus: gpusTotal,
      available_gpus: Math.max(0, Math.round((gpusTotal - gpusUsed) * 1e9) / 1e9),
      total_memory_bytes: 0,
      available_memory_bytes: 0,
      max_utilization: 0,
      avg_utilization: 0,
    },
    object_store: null,
    running_jobs: counts.runningJobs,
    total_serve_replicas: counts.serveReplicas,
    node_counts: { total: nodes.length, alive: nodes.length, dead: 0 },
    nodes: clusterNodes,
  };
}

/** `GET gpu_status/`: the same nodes, by GPU. */
export function gpuStatus(nodes: NodeUsage[]): GpuStatus {
  const total = nodes.reduce((sum, n) => sum + n.total.gpus, 0);
  const used = nodes.reduce((sum, n) => sum + n.used.gpus, 0);
  return {
    total_gpus: total,
    available_gpus: Math.max(0, Math.round((total - used) * 1e9) / 1e9),
    nodes: nodes.map((n) => ({ node_id: n.nodeId, gpus: gpuDevices(n) })),
  };
}
