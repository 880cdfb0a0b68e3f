/** Agents (backend-api.md §10.3; routes/agents.ts, clients/backend/agents.ts). */
import { z } from 'zod';
import { id } from './json.ts';

/** An agent as the server lists it; older servers leave out `token` (see the client). */
export const agentSchema = z.looseObject({
  id,
  name: z.string(),
  url: z.string(),
  status: z.string(),
  token: z.string().optional(),
  node_install_script: z.string().optional(),
});
export type AgentRecord = z.infer<typeof agentSchema>;
