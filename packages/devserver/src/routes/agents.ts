/**
 * Agents (backend-api.md §13): the list and the connect health check. An agent's token (also in
 * its install script URL) is shown only to an admin of the agent's tenant, who registers agents
 * and selects one for the CLI (#11 item 4); other users see `null`.
 */
import { listResponse } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { notFound } from '../errors.ts';
import type { RouteModule } from './index.ts';

const routes: RouteModule = (app, ctx) => {
  const agents = ctx.collections.agents;

  app.get('/agents/', (req) =>
    listResponse(ctx, req, agents, {
      // The list is already the caller's tenant's: being its admin is what remains to check.
      serialize: (docs: Doc[]) =>
        ctx.tenancy.getStore()?.isAdmin
          ? docs
          : docs.map((d) => ({ ...d, token: null, node_install_script: null })),
    }),
  );

  app.post('/agents/:token/connect/', async (req) => {
    const where = emptyWhere();
    addCondition(where, `doc->>'token' = $?`, (req.params as { token: string }).token);
    const agent = await agents.findOne(where);
    if (!agent) throw notFound();
    await agents.update(agent.id, { status: 'connected' });
    return { status: 'connected' };
  });
};
export default routes;
