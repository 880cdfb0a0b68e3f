/** Agents (backend-api.md §13): the list (with tokens) and the connect health check. */
import { listResponse } from '../context.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { notFound } from '../errors.ts';
import type { RouteModule } from './index.ts';

const routes: RouteModule = (app, ctx) => {
  const agents = ctx.collections.agents;

  app.get('/agents/', (req) => listResponse(ctx, req, agents));

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
