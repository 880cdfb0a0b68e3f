/**
 * Serve applications (backend-api.md §12, §14.4): one record per (name, agent), shared by the
 * backend routes, `deployment` runs and the agent's Ray Serve view.
 */
import type { DevContext } from './context.ts';
import type { Doc } from './db/collection.ts';
import { addCondition, emptyWhere } from './db/filters.ts';

/** The application of this name on this agent (null: on no agent). */
export function findServeApp(ctx: DevContext, name: string, agent: number | null): Promise<Doc | null> {
  const where = emptyWhere();
  addCondition(where, `doc->>'name' = $?`, name);
  if (agent === null) addCondition(where, `doc->'agent' = 'null'::jsonb`);
  else addCondition(where, `doc->>'agent' = $?`, String(agent));
  return ctx.collections.serve_applications.findOne(where);
}

/** Creates the application, or updates the one with the same name on the same agent. */
export async function upsertServeApp(
  ctx: DevContext,
  values: Record<string, unknown> & { name: string; agent: number | null },
): Promise<Doc> {
  const apps = ctx.collections.serve_applications;
  const existing = await findServeApp(ctx, values.name, values.agent);
  if (!existing) return apps.create(values);
  return (await apps.update(existing.id, { ...values, modified: new Date().toISOString() }))!;
}

/**
 * Stops an application: its replicas, when this server hosts serving, and its record (as Ray
 * Serve forgets a deleted application). The agent's DELETE and the dashboard's Stop use it.
 */
export async function stopServeApp(ctx: DevContext, app: Doc): Promise<void> {
  await ctx.serveHost?.backend.delete(app.name);
  await ctx.collections.serve_applications.remove(app.id);
}

/** The agent's view of an application (Ray Serve status shape). */
export function agentServeApp(app: Doc): Record<string, unknown> {
  const data = (app.data ?? {}) as Record<string, unknown>;
  const running = app.status === 'RUNNING';
  const replicas = Number(app.num_replicas ?? 1);
  return {
    name: app.name,
    status: app.status,
    route_prefix: app.route_prefix,
    message: data.message ?? '',
    last_deployed_time_s: Date.parse(app.modified ?? app.created) / 1000,
    docs_path: data.docs_path ?? null,
    deployments: data.deployments ?? [
      {
        name: 'Inference',
        status: running ? 'HEALTHY' : app.status === 'DEPLOYING' ? 'UPDATING' : 'UNHEALTHY',
        message: '',
        replica_states: { [running ? 'RUNNING' : 'STARTING']: replicas },
      },
    ],
  };
}
