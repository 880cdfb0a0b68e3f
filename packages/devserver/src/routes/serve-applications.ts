/**
 * Serve applications (backend-api.md §12). Two create shapes, both upserting by (name, agent):
 * A registers what a deployment job reported (`{job, status, data}`), B declares an app of a
 * release (`{name, plugin_release, action, params, num_replicas}`).
 */
import {
  releaseChecksum,
  releaseRoutePrefix,
  SERVE_APPLICATION_STATUSES,
  type ServeApplicationStatus,
} from 'synapse-core';
import { type DevContext, getOr404, listResponse, present, queryParam } from '../context.ts';
import { addCondition, emptyWhere, parseValue } from '../db/filters.ts';
import { badRequest, invalidChoice, invalidPk, required } from '../errors.ts';
import { upsertServeApp } from '../serve-apps.ts';
import { type Body, isObject, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

function status(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (!SERVE_APPLICATION_STATUSES.includes(value as ServeApplicationStatus))
    throw invalidChoice('status', value);
  return value as string;
}

/** Shape A: name and route from the agent's report, release and agent from the job. */
async function fromJob(ctx: DevContext, body: Body) {
  const job = typeof body.job === 'string' ? await ctx.collections.jobs.get(body.job) : null;
  if (!job) throw invalidPk('job', body.job);
  if (!isObject(body.data)) throw required('data');
  const name = body.data.name;
  if (typeof name !== 'string' || !name) throw badRequest({ data: ['"name" is required.'] });
  const release = job.plugin_release ? await ctx.collections.plugin_releases.get(job.plugin_release) : null;
  return {
    name,
    agent: (job.agent ?? null) as number | null,
    job: job.id,
    status: status(body.status ?? body.data.status, 'RUNNING'),
    plugin_release: release?.id ?? null,
    plugin_code: release?.plugin_code ?? name.split('@')[0],
    route_prefix: body.data.route_prefix ?? releaseRoutePrefix(releaseChecksum(name)),
    params: job.params ?? {},
    data: body.data,
  };
}

/** Shape B: an application of a release, on the given agent (if any). */
async function fromRelease(ctx: DevContext, body: Body) {
  if (body.plugin_release === undefined || body.plugin_release === null) throw required('plugin_release');
  const release = await ctx.collections.plugin_releases.get(body.plugin_release as number);
  if (!release) throw invalidPk('plugin_release', body.plugin_release);
  const agent = body.agent ?? null;
  if (agent !== null && !(await ctx.collections.agents.get(agent as number))) throw invalidPk('agent', agent);
  if (body.params !== undefined && !isObject(body.params)) {
    throw badRequest({ params: ['Expected a dictionary of items.'] });
  }
  const replicas = body.num_replicas ?? 1;
  if (!Number.isInteger(replicas) || (replicas as number) < 1) {
    throw badRequest({ num_replicas: ['Ensure this value is greater than or equal to 1.'] });
  }
  const name = typeof body.name === 'string' && body.name ? body.name : (release.code as string);
  return {
    name,
    agent: agent as number | null,
    status: status(body.status, 'NOT_STARTED'),
    plugin_release: release.id,
    plugin_code: release.plugin_code,
    route_prefix: releaseRoutePrefix(releaseChecksum(release.code)),
    action: body.action ?? 'deployment',
    params: body.params ?? {},
    num_replicas: replicas,
  };
}

const routes: RouteModule = (app, ctx) => {
  const apps = ctx.collections.serve_applications;

  app.get('/serve_applications/', (req) => {
    const where = emptyWhere();
    const agent = queryParam(req, 'job__agent');
    if (agent) {
      // The app's own agent, or the agent of the job that deployed it.
      const id = parseValue('job__agent', 'int', agent);
      addCondition(
        where,
        `(doc->>'agent' = $? OR doc->>'job' IN (SELECT id FROM jobs WHERE doc->>'agent' = $?))`,
        id,
        id,
      );
    }
    return listResponse(ctx, req, apps, { where });
  });

  app.get('/serve_applications/:id/', async (req) =>
    present(ctx, req, await getOr404(apps, (req.params as { id: string }).id)),
  );

  app.post('/serve_applications/', async (req, reply) => {
    const body = objectBody(req.body);
    const values = body.job !== undefined ? await fromJob(ctx, body) : await fromRelease(ctx, body);
    return reply.code(201).send(present(ctx, req, await upsertServeApp(ctx, values)));
  });
};
export default routes;
