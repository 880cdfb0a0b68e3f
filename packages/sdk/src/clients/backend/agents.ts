/** Agents (AgentsClientMixin; client.md §8.5, backend-api.md §10.3; contract: synapse-core agents.ts). */
import type { AgentRecord } from 'synapse-core';
import { paginate } from '../pagination.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

/** An agent as the SDK returns it: the wire record with `token` filled in and `is_connected`. */
export type Agent = AgentRecord & {
  token: string;
  /** Computed by the SDK: `status` is `connected` (any case). */
  is_connected: boolean;
};

export interface AgentsClientMixin {
  /** The first page of agents, each with `token` (taken from the install script URL if absent) and `is_connected`. */
  listAgents(params?: QueryParams): Promise<Agent[]>;
  healthCheckAgent(agentToken: string): Promise<unknown>;
}

const AGENT_TOKEN = /agents\/([a-f0-9]{40})\/node_install_script/;

/** Adds what older servers leave out (`token`) and what the SDK computes (`is_connected`). */
function withAgentFields(agent: AgentRecord): Agent {
  const token = agent.token || AGENT_TOKEN.exec(agent.node_install_script ?? '')?.[1];
  return {
    ...agent,
    token,
    is_connected: String(agent.status ?? '').toLowerCase() === 'connected',
  } as Agent;
}

export const agentsMethods: AgentsClientMixin & ThisType<BackendClient> = {
  async listAgents(params) {
    const [agents] = await paginate(this, 'agents/', params, { schema: 'agent' });
    return (agents as AgentRecord[]).map(withAgentFields);
  },

  healthCheckAgent(agentToken) {
    return this.post(`agents/${encodeURIComponent(agentToken)}/connect/`);
  },
};
