/**
 * The Agent API's own shapes (backend-api.md §14; devserver agent/routes.ts, sdk clients/agent/):
 * cluster resources, the agent's policy, containers, GPU and system status. The agent *records*
 * the backend lists are in agents.ts.
 */
import { z } from 'zod';
import { id, jsonObject, timestamp } from './json.ts';

/** `total` / `used` / `available` of one resource (CPUs, bytes of memory). */
export const resourceCounterSchema = z.looseObject({
  total: z.number(),
  used: z.number(),
  available: z.number(),
});
export type ResourceCounter = z.infer<typeof resourceCounterSchema>;

export const gpuDeviceSchema = z.looseObject({
  index: z.number().int(),
  name: z.string(),
  uuid: z.string(),
  utilization_gpu: z.number().nullable(),
  /** MB. */
  memory_used: z.number(),
  /** MB. */
  memory_total: z.number(),
});
export type GpuDevice = z.infer<typeof gpuDeviceSchema>;

export const clusterNodeSchema = z.looseObject({
  node_id: z.string(),
  host_name: z.string().nullable(),
  ip: z.string().nullable(),
  is_head_node: z.boolean(),
  state: z.enum(['ALIVE', 'DEAD']),
  accelerator_type: z.string().nullable(),
  cpu: resourceCounterSchema,
  memory: resourceCounterSchema,
  gpus: z.array(gpuDeviceSchema),
});
export type ClusterNode = z.infer<typeof clusterNodeSchema>;

/** `GET resources/cluster/?use_cache=true|false`: the cluster's resources now. */
export const clusterResourcesSchema = z.looseObject({
  collected_at: timestamp,
  /** True when the answer comes from a cache older than the policy's `resource_cache_ttl_seconds`. */
  stale: z.boolean(),
  cpu: resourceCounterSchema,
  memory: resourceCounterSchema,
  gpu: z.looseObject({
    total_gpus: z.number(),
    available_gpus: z.number(),
    total_memory_bytes: z.number(),
    available_memory_bytes: z.number(),
    max_utilization: z.number(),
    avg_utilization: z.number(),
  }),
  object_store: resourceCounterSchema.nullable(),
  running_jobs: z.number().int(),
  total_serve_replicas: z.number().int(),
  node_counts: z.looseObject({ total: z.number().int(), alive: z.number().int(), dead: z.number().int() }),
  nodes: z.array(clusterNodeSchema),
});
export type ClusterResources = z.infer<typeof clusterResourcesSchema>;

/**
 * The agent's policy (`resources/policy/`): the gatekeeping policy and the runtime policy are one
 * object there (the Python SDK's `get_gatekeeping_policy` and `get_runtime_policy` read the same
 * route). `enabled` and `gatekeeping_enabled` are the same switch under its two names.
 */
export const AGENT_POLICY_FIELDS = {
  enabled: z.boolean(),
  gatekeeping_enabled: z.boolean(),
  fail_closed: z.boolean(),
  max_replicas: z.number().int().min(1),
  allow_fractional_gpus: z.boolean(),
  /** Queue dispatch slots; 0 = unlimited. */
  max_concurrent_jobs: z.number().int().min(0),
  max_concurrent_serve_replicas: z.number().int().min(0),
  cpu_max_utilization_percent: z.number().min(0).max(100),
  memory_max_utilization_percent: z.number().min(0).max(100),
  gpu_max_utilization_percent: z.number().min(0).max(100),
  gpu_max_memory_percent: z.number().min(0).max(100),
  /** The gatekeeper's running-Ray-jobs backstop; 0 = off. */
  max_concurrent_ray_jobs: z.number().int().min(0),
  resource_cache_ttl_seconds: z.number().min(0).max(86_400),
} as const;

export const agentPolicySchema = z.looseObject(AGENT_POLICY_FIELDS);
export type AgentPolicy = z.infer<typeof agentPolicySchema>;

/** `PATCH resources/policy/`: any of the policy's fields; unknown keys are refused by name. */
export const agentPolicyUpdateSchema = z.strictObject(AGENT_POLICY_FIELDS).partial();
export type AgentPolicyUpdate = z.infer<typeof agentPolicyUpdateSchema>;

/** `GET gpu_status/`: the GPUs of every node, and their sum. */
export const gpuStatusSchema = z.looseObject({
  total_gpus: z.number(),
  available_gpus: z.number(),
  nodes: z.array(z.looseObject({ node_id: z.string(), gpus: z.array(gpuDeviceSchema) })),
});
export type GpuStatus = z.infer<typeof gpuStatusSchema>;

/** A container the agent runs for a plugin release (`containers/`). */
export const agentContainerSchema = z.looseObject({
  id,
  plugin_release: z.string().nullable(),
  plugin: z.string().nullable(),
  version: z.string().nullable(),
  model: id.nullable(),
  kind: z.string().nullable(),
  backend_container_id: id.nullable(),
  params: jsonObject,
  envs: z.record(z.string(), z.string()),
  metadata: jsonObject,
  labels: z.array(z.string()),
  /** `running` once created; whatever a PATCH sets after that (`stopped`, ...). */
  status: z.string(),
  created: timestamp,
  modified: timestamp,
});
export type AgentContainer = z.infer<typeof agentContainerSchema>;

/** `POST containers/`: a release as `code@version` (with `plugin` / `version` split out, as the Python SDK sends it). */
export const agentContainerCreateSchema = z.object({
  plugin_release: z.string().min(1).max(200),
  plugin: z.string().max(100).optional(),
  version: z.string().max(100).optional(),
  model: id.optional(),
  params: jsonObject.optional(),
  envs: z.record(z.string().max(200), z.string().max(10_000)).optional(),
  metadata: jsonObject.optional(),
  labels: z.array(z.string().max(200)).max(100).optional(),
  kind: z.string().max(100).optional(),
  backend_container_id: id.optional(),
});
export type AgentContainerCreate = z.infer<typeof agentContainerCreateSchema>;

/** `PATCH containers/<id>`. */
export const agentContainerUpdateSchema = z.object({ status: z.string().min(1).max(50).optional() });
export type AgentContainerUpdate = z.infer<typeof agentContainerUpdateSchema>;

/** `GET system/status/`: the agent service and what it is connected to. */
export const systemStatusSchema = z.looseObject({
  status: z.string(),
  version: z.string(),
  uptime_seconds: z.number(),
  services: z.record(z.string(), z.looseObject({ status: z.string() })),
});
export type SystemStatus = z.infer<typeof systemStatusSchema>;
