/**
 * The Agent API (backend-api.md §14), played by the devserver's own agent: its release cache,
 * runs, Ray jobs (the job records), Ray Serve applications (the serve application records) and
 * capacity all share the backend's state. Auth: the raw agent token in `Authorization`.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import websocket from '@fastify/websocket';
import type { FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { agentContainerCreateSchema, agentContainerUpdateSchema, releaseCode } from 'synapse-core';
import { authenticateAgent } from '../auth.ts';
import { type DevContext, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { ApiError, notFound } from '../errors.ts';
import { consoleLines, stopJob } from '../jobs.ts';
import { findRelease, type RunOutcome, runAction } from '../plugin-run.ts';
import type { RouteModule } from '../routes/index.ts';
import { agentServeApp, findServeApp, stopServeApp } from '../serve-apps.ts';
import {
  checkFeasibility,
  freeCapacity,
  machineCapacity,
  parseFeasibilityRequest,
  rayCapacity,
  type ServeAppUsage,
} from './feasibility.ts';
import { streamJobLogs } from './log-socket.ts';
import {
  clusterSnapshot,
  gpuStatus,
  machineNode,
  type NodeUsage,
  parseUseCache,
  rayNodes,
  readPolicy,
  updatePolicy,
} from './resources.ts';
import { validateBody, zodUnprocessable } from './validation.ts';

/** This package's version, as the agent's system status reports its own. */
const VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/** Where Ray's state is answered: this API's `ray/` paths, and the Python SDK's unprefixed ones. */
const RAY_PREFIXES = ['/ray', ''];

/** The authenticated agent of each request. */
const agents = new WeakMap<FastifyRequest, number>();

function agentOf(req: FastifyRequest): number {
  return agents.get(req)!;
}

/** Ids of the releases this agent has fetched, in the settings table so they survive a restart. */
async function cachedReleases(ctx: DevContext, agent: number): Promise<number[]> {
  const [row] = await ctx.db.query<{ value: number[] }>('SELECT value FROM settings WHERE key = $1', [
    `agent_releases:${agent}`,
  ]);
  return row?.value ?? [];
}

async function setCachedReleases(ctx: DevContext, agent: number, ids: number[]): Promise<void> {
  await ctx.db.query(
    'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
    [`agent_releases:${agent}`, JSON.stringify(ids)],
  );
}

async function cacheRelease(ctx: DevContext, agent: number, release: Doc): Promise<void> {
  const ids = await cachedReleases(ctx, agent);
  if (!ids.includes(release.id as number))
    await setCachedReleases(ctx, agent, [...ids, release.id as number]);
}

/** A release by id or `code@version`. */
async function lookupRelease(ctx: DevContext, lookup: string): Promise<Doc | null> {
  if (/^\d+$/.test(lookup)) return ctx.collections.plugin_releases.get(lookup);
  const at = lookup.lastIndexOf('@');
  return at > 0 ? findRelease(ctx, lookup.slice(0, at), lookup.slice(at + 1)) : null;
}

async function cachedRelease(ctx: DevContext, agent: number, lookup: string): Promise<Doc> {
  const release = await lookupRelease(ctx, lookup);
  if (!release || !(await cachedReleases(ctx, agent)).includes(release.id as number)) throw notFound();
  return release;
}

/** The agent answers `{job_id}` for job actions and the action's own result otherwise. */
function runResponse(outcome: RunOutcome): unknown {
  return 'job' in outcome ? { job_id: outcome.job.id } : outcome.result;
}

/** A job record as Ray's Jobs API shows it. */
function rayJob(job: Doc): Record<string, unknown> {
  return {
    submission_id: job.id,
    job_id: String(job.id).replace(/-/g, '').slice(0, 8),
    status: job.status,
    entrypoint: 'synapse-entrypoint',
    message: '',
    start_time: Date.parse(job.created),
    end_time: job.completed ? Date.parse(job.completed) : null,
    metadata: { job_id: job.id, action: job.action },
    runtime_env: {},
  };
}

async function agentJob(ctx: DevContext, agent: number, id: string): Promise<Doc> {
  const job = await ctx.collections.jobs.get(id);
  if (job?.agent !== agent) throw notFound();
  return job;
}

function agentDocs(ctx: DevContext, name: 'jobs' | 'serve_applications', agent: number, statuses?: string[]) {
  const where = emptyWhere();
  addCondition(where, `doc->>'agent' = $?`, String(agent));
  if (statuses) addCondition(where, `doc->>'status' = ANY($?)`, statuses);
  return ctx.collections[name].find(where);
}

async function agentServeAppOr404(ctx: DevContext, agent: number, name: string): Promise<Doc> {
  const app = await findServeApp(ctx, name, agent);
  if (!app) throw notFound();
  return app;
}

/** The one node of this cluster: the local machine. */
function localNode(ctx: DevContext): Record<string, unknown> {
  const capacity = machineCapacity(ctx.capacity);
  return {
    node_id: createHash('md5').update(hostname()).digest('hex'),
    node_ip: '127.0.0.1',
    node_name: hostname(),
    state: 'ALIVE',
    is_head_node: true,
    resources_total: { CPU: capacity.cpus, GPU: capacity.gpus, memory: capacity.memoryBytes },
  };
}

/** Servers whose upgrades a mount of these routes already answers. */
const upgrading = new WeakSet<object>();

const routes: RouteModule = async (app, ctx) => {
  const releases = ctx.collections.plugin_releases;

  // The plugin routes each upgrade of the server it listens to, and these routes are mounted twice
  // (with and without `/api`): only the first mount listens, the other only upgrades its own route.
  const listens = !upgrading.has(app.server);
  upgrading.add(app.server);
  await app.register(websocket, listens ? {} : { options: { server: new EventEmitter() as never } });
  // A WebSocket upgrade refused before the plugin saw it (an injected fault) must not keep its
  // connection; requests naming another protocol (h2c, say) are ordinary requests here.
  app.addHook('onResponse', async (req) => {
    if (req.headers.upgrade?.toLowerCase() === 'websocket') req.raw.socket.destroy();
  });

  app.addHook('onRequest', async (req) => {
    if ((req.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    agents.set(req, await authenticateAgent(ctx, req));
  });

  app.get('/health/', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.post('/resources/feasibility/', async (req) => {
    const request = parseFeasibilityRequest(req.body);
    const apps = await agentDocs(ctx, 'serve_applications', agentOf(req), ['RUNNING', 'DEPLOYING']);
    const replacing = request.metadata.plugin_code;
    const usage = apps as Array<Doc & ServeAppUsage>;
    const capacity = ctx.ray
      ? rayCapacity(await ctx.ray.nodeResources(), usage)
      : machineCapacity(ctx.capacity);
    const free = freeCapacity(capacity, usage, typeof replacing === 'string' ? replacing : undefined);
    const result = checkFeasibility(request, free);
    // Gatekeeping switched off: the agent answers, and lets everything through.
    if (!(await readPolicy(ctx, agentOf(req))).enabled) return { ...result, allowed: true, reasons: [] };
    return result;
  });

  // The path the platform's Python SDK reads and patches (get/update_gatekeeping_policy and
  // get/update_runtime_policy): one policy object. The old `resources/gatekeeping_policy/` is gone.
  app.get('/resources/policy/', async (req) => readPolicy(ctx, agentOf(req)));
  app.patch('/resources/policy/', async (req) => updatePolicy(ctx, agentOf(req), req.body));

  /** The cluster's nodes: Ray's when the agent runs on a Ray cluster, else this machine. */
  async function clusterNodes(agent: number): Promise<NodeUsage[]> {
    if (ctx.ray) return rayNodes(await ctx.ray.nodeResources());
    const apps = await agentDocs(ctx, 'serve_applications', agent, ['RUNNING', 'DEPLOYING']);
    return [machineNode(ctx, apps as Array<Doc & ServeAppUsage>)];
  }

  app.get('/resources/cluster/', async (req) => {
    parseUseCache((req.query as Record<string, unknown>).use_cache);
    const agent = agentOf(req);
    const running = await agentDocs(ctx, 'jobs', agent, ['RUNNING']);
    const apps = await agentDocs(ctx, 'serve_applications', agent, ['RUNNING', 'DEPLOYING']);
    const serveReplicas = apps.reduce((sum, a) => sum + (Number(a.num_replicas) || 1), 0);
    return clusterSnapshot(await clusterNodes(agent), { runningJobs: running.length, serveReplicas });
  });

  app.get('/gpu_status/', async (req) => gpuStatus(await clusterNodes(agentOf(req))));

  app.get('/system/status/', async () => ({
    status: 'ok',
    version: VERSION,
    uptime_seconds: Math.round(process.uptime()),
    services: {
      api: { status: 'running' },
      ray: { status: ctx.ray ? 'connected' : 'local' },
      database: { status: 'running' },
    },
  }));

  const containers = ctx.collections.agent_containers;
  const containerOf = async (req: FastifyRequest) => {
    const container = await getOr404(containers, (req.params as { id: string }).id);
    if (container.agent !== agentOf(req)) throw notFound();
    return container;
  };

  app.get('/containers/', async (req) => {
    const where = emptyWhere();
    addCondition(where, `doc->>'agent' = $?`, String(agentOf(req)));
    return listResponse(ctx, req, containers, { where });
  });

  app.post('/containers/', async (req, reply) => {
    if (req.isMultipart()) {
      throw new ApiError(400, {
        detail: 'The local agent runs containers of published releases only: send plugin_release.',
      });
    }
    const parsed = agentContainerCreateSchema.safeParse(req.body);
    if (!parsed.success) throw zodUnprocessable(parsed.error);
    const body = parsed.data;
    const at = body.plugin_release.lastIndexOf('@');
    const code = at > 0 ? body.plugin_release.slice(0, at) : '';
    const version = at > 0 ? body.plugin_release.slice(at + 1) : '';
    if (!(await findRelease(ctx, code, version))) {
      throw new ApiError(422, {
        detail: [{ type: 'value_error', loc: ['body', 'plugin_release'], msg: 'No such plugin release' }],
      });
    }
    const created = await containers.create({ ...body, plugin: code, version, agent: agentOf(req) });
    return reply.code(201).send(created);
  });

  app.get('/containers/:id', async (req) => containerOf(req));

  app.patch('/containers/:id', async (req) => {
    const container = await containerOf(req);
    const parsed = agentContainerUpdateSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw zodUnprocessable(parsed.error);
    return containers.update(container.id, { ...parsed.data, modified: new Date().toISOString() });
  });

  app.delete('/containers/:id', async (req, reply) => {
    await containers.remove((await containerOf(req)).id);
    return reply.code(204).send();
  });

  app.get('/plugin_releases/', async (req) => {
    const where = emptyWhere();
    addCondition(where, 'id = ANY($?)', await cachedReleases(ctx, agentOf(req)));
    return listResponse(ctx, req, releases, { where });
  });

  app.get('/plugin_releases/:lookup', async (req) =>
    present(ctx, req, await cachedRelease(ctx, agentOf(req), (req.params as { lookup: string }).lookup)),
  );

  app.delete('/plugin_releases/:lookup', async (req, reply) => {
    const agent = agentOf(req);
    const release = await cachedRelease(ctx, agent, (req.params as { lookup: string }).lookup);
    const ids = await cachedReleases(ctx, agent);
    await setCachedReleases(
      ctx,
      agent,
      ids.filter((id) => id !== release.id),
    );
    return reply.code(204).send();
  });

  app.post('/plugin_releases/', async (req, reply) => {
    const body = validateBody(req.body, {
      plugin: { kind: 'string', required: true },
      version: { kind: 'string', nullable: true },
    });
    const release = await findRelease(ctx, body.plugin as string, (body.version ?? undefined) as string);
    if (!release) throw notFound('Plugin release not found.');
    await cacheRelease(ctx, agentOf(req), release);
    return reply.code(201).send(present(ctx, req, release));
  });

  app.post('/plugin_releases/:lookup/run/', async (req) => {
    const body = validateBody(req.body, {
      action: { kind: 'string', required: true },
      params: { kind: 'object', nullable: true },
      job_id: { kind: 'string', nullable: true },
    });
    const release = await lookupRelease(ctx, (req.params as { lookup: string }).lookup);
    if (!release) throw notFound('Plugin release not found.');
    const agent = agentOf(req);
    await cacheRelease(ctx, agent, release);
    const outcome = await runAction(ctx, {
      pluginCode: release.plugin_code,
      releaseCode: release.code,
      plugin: release.plugin,
      release,
      config: release.config ?? {},
      action: body.action as string,
      params: (body.params ?? {}) as Record<string, unknown>,
      agent,
      jobId: (body.job_id ?? undefined) as string | undefined,
    });
    return runResponse(outcome);
  });

  app.post('/plugin_releases/run_debug/', async (req) => {
    const body = validateBody(req.body, {
      action: { kind: 'string', required: true },
      params: { kind: 'object', nullable: true },
      plugin_path: { kind: 'string', nullable: true },
      config: { kind: 'object', nullable: true },
      job_id: { kind: 'string', nullable: true },
    });
    const config = (body.config ?? {}) as Record<string, unknown>;
    const code = typeof config.code === 'string' ? config.code : 'debug';
    const outcome = await runAction(ctx, {
      pluginCode: code,
      releaseCode: releaseCode(code, typeof config.version === 'string' ? config.version : 'debug'),
      plugin: null,
      release: null,
      config,
      action: body.action as string,
      params: (body.params ?? {}) as Record<string, unknown>,
      agent: agentOf(req),
      jobId: (body.job_id ?? undefined) as string | undefined,
      debug: true,
    });
    return runResponse(outcome);
  });

  // Ray's state is answered under `ray/` (this API's paths) and without it (the paths the
  // platform's Python SDK 2026.2 calls: `jobs/`, `nodes/`, `serve_applications/<name>/`, ...).
  type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  const ray = Object.fromEntries(
    (['get', 'post', 'delete'] as const).map((method) => [
      method,
      (path: string, handler: Handler) => {
        for (const prefix of RAY_PREFIXES)
          app.route({ method: method.toUpperCase() as HTTPMethods, url: `${prefix}${path}`, handler });
      },
    ]),
  ) as Record<'get' | 'post' | 'delete', (path: string, handler: Handler) => void>;

  ray.get('/jobs/', async (req) => (await agentDocs(ctx, 'jobs', agentOf(req))).map(rayJob));

  ray.get('/jobs/:id', async (req) =>
    rayJob(await agentJob(ctx, agentOf(req), (req.params as { id: string }).id)),
  );

  // One route serves both forms (trailing slashes are ignored): a WebSocket upgrade streams.
  for (const prefix of RAY_PREFIXES)
    app.route({
      method: 'GET',
      url: `${prefix}/jobs/:id/logs`,
      handler: async (req) => {
        const job = await agentJob(ctx, agentOf(req), (req.params as { id: string }).id);
        return { logs: consoleLines(job.console_logs).join('\n') };
      },
      wsHandler: (socket, req) => streamJobLogs(ctx, socket, agentOf(req), (req.params as { id: string }).id),
    });

  // The HTTP streaming variant the Python SDK's `stream_tail_job_logs` reads: the same frames as
  // the WebSocket, as server-sent events (`data: {...}`).
  ray.get('/jobs/:id/logs/stream/', async (req, reply) => {
    const job = await agentJob(ctx, agentOf(req), (req.params as { id: string }).id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    await streamJobLogs(
      ctx,
      {
        send: (frame) => res.write(`data: ${frame}\n\n`),
        close: () => res.end(),
        once: (_event, listener) => res.once('close', listener),
      },
      agentOf(req),
      job.id as string,
    );
  });

  ray.post('/jobs/:id/stop/', async (req) => {
    const job = await agentJob(ctx, agentOf(req), (req.params as { id: string }).id);
    return { stopped: await stopJob(ctx, job.id as string) };
  });

  ray.get('/nodes/', async () => [localNode(ctx)]);

  ray.get('/nodes/:id', async (req) => {
    const node = localNode(ctx);
    if ((req.params as { id: string }).id !== node.node_id) throw notFound();
    return node;
  });

  ray.get('/tasks/', async () => []);

  ray.get('/tasks/:id', async () => {
    throw notFound();
  });

  ray.get('/serve_applications/', async (req) =>
    (await agentDocs(ctx, 'serve_applications', agentOf(req))).map(agentServeApp),
  );

  ray.get('/serve_applications/:name', async (req) =>
    agentServeApp(await agentServeAppOr404(ctx, agentOf(req), (req.params as { name: string }).name)),
  );

  ray.delete('/serve_applications/:name', async (req, reply) => {
    await stopServeApp(
      ctx,
      await agentServeAppOr404(ctx, agentOf(req), (req.params as { name: string }).name),
    );
    return reply.code(204).send();
  });
};
export default routes;
