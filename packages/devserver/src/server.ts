/**
 * The local platform: the backend's v1 surface and the agent API on one Fastify server, backed
 * by the embedded database and a media folder (backend-api.md §15).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import {
  type ExtractionLimits,
  LocalServeBackend,
  RayClient,
  RayServeBackend,
  resolveExtractionLimits,
} from 'synapse-sdk';
import { reconcileInterruptedRuns } from './agent/interrupted-runs.ts';
import { JobRunner } from './agent/job-runner.ts';
import agentRoutes from './agent/routes.ts';
import { ServeHost } from './agent/serve-host.ts';
import { TaskRunner } from './agent/task-runner.ts';
import { authenticate, type Bootstrap, bootstrap } from './auth.ts';
import { type CapacityOverride, createCollections, type DevContext } from './context.ts';
import { openDatabase } from './db/database.ts';
import { ApiError } from './errors.ts';
import { Faults } from './faults.ts';
import { MediaStore, mediaSigningKey, mediaUrlTtl } from './media.ts';
import { ROUTES } from './routes/index.ts';
import { SecretRegistry } from './secrets.ts';
import { createServerState } from './server-state.ts';
import { createTenancy, DEFAULT_TENANT } from './tenancy.ts';
import uiRoutes from './ui/index.ts';
import { DashboardSessions } from './ui/session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** A JSON body as it came (the request recorder keeps it, not a copy of the parsed body). */
    jsonText?: string;
  }
}

export interface DevServerOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Keep state here (database and files). Without it, state lives in memory and a temp folder. */
  dataDir?: string;
  /** Use a real PostgreSQL (`postgres://...`) instead of the embedded database. */
  databaseUrl?: string;
  /**
   * The URL clients use to reach the server (behind a reverse proxy, the proxy's); every link the
   * server hands out uses it. Without it, links follow each request's `X-Forwarded-Host` /
   * `X-Forwarded-Proto` or `Host`, and the listen address `http://<host>:<port>` is the fallback.
   */
  publicUrl?: string;
  /** Enable `_emulator/faults` (never on unless asked). */
  faults?: boolean;
  /** Log each request (pino) to stdout. */
  logRequests?: boolean;
  /** The agent's capacity; default this machine's logical CPUs and memory, and no GPU. */
  capacity?: CapacityOverride;
  /** Delay (ms) before a deployed serve application turns RUNNING; default 0. */
  deploymentDelayMs?: number;
  /**
   * Base URL of a serve gateway (e.g. `http://localhost:8100`): `inference` runs of a release
   * with a RUNNING serve application are forwarded there instead of answering their fixture.
   */
  serveGatewayUrl?: string;
  /** Run `job` actions of published releases as local processes; default true. Off, jobs stay PENDING. */
  runJobs?: boolean;
  /**
   * A Ray dashboard URL: `job` actions run there as Ray jobs instead of local processes, the
   * capacity gate answers from the cluster's free resources, and with `serve`, deployments go
   * to Ray Serve, whose proxy listens on `serve.port` (default 8100).
   */
  rayAddress?: string;
  /**
   * Host deployments: a serve gateway in this server (port 0 picks a free one) runs the serve
   * deployment of each `deployment` run, and `inference` runs are forwarded to it.
   */
  serve?: { port?: number };
  /**
   * Require a login for the dashboard (default true). `false` is accepted only when the server
   * binds a loopback address: anyone who can reach the port could read every page otherwise.
   */
  dashboardAuth?: boolean;
  /**
   * Limits for unpacking plugin release archives (entries, total uncompressed bytes, compression
   * ratio); unset ones keep the SDK's `DEFAULT_EXTRACTION_LIMITS`. Raise them for a release that
   * is legitimately larger or more compressible.
   */
  extractionLimits?: ExtractionLimits;
  /**
   * Lifetime (seconds) of the signed `/media/...` URLs the API hands out; default 3600 (one
   * hour), at most a week. Without a valid signature a media request needs a token.
   */
  mediaUrlTtlSeconds?: number;
}

export interface DevServer {
  /** Base URL of the backend API. */
  url: string;
  /** Base URL of the agent API. */
  agentUrl: string;
  credentials: Bootstrap;
  /**
   * The file (mode 0600, in the data dir) with the dashboard login's email and password, written
   * on the start that created the user; null for in-memory servers or when it is not there.
   */
  loginFile: string | null;
  ctx: DevContext;
  app: FastifyInstance;
  close(): Promise<void>;
}

const MULTIPART_LIMIT = 8 * 1024 ** 3;
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Loopback addresses: the only binds on which the dashboard login may be turned off. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127(?:\.\d{1,3}){3}$/.test(h);
}

/** Writes the login file on the start that created the user (its password is known only then). */
async function writeLoginFile(dataDir: string, credentials: Bootstrap): Promise<string | null> {
  const path = join(dataDir, 'login.json');
  if (credentials.password) {
    const login = { email: credentials.email, password: credentials.password };
    await writeFile(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  }
  return (await stat(path).catch(() => null)) ? path : null;
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  // A bad limit fails the start, not the first run that unpacks a release.
  const extractionLimits = resolveExtractionLimits(opts.extractionLimits);
  const host = opts.host ?? '127.0.0.1';
  if (opts.dashboardAuth === false && !isLoopbackHost(host)) {
    throw new Error(
      `The dashboard login can be turned off (--no-dashboard-login, dashboardAuth: false) only on a loopback address; this server would bind ${host}. Bind 127.0.0.1, or keep the login.`,
    );
  }
  // Options are checked before anything is opened or created.
  const mediaUrlTtlSeconds = mediaUrlTtl(opts.mediaUrlTtlSeconds);
  const ephemeral = !opts.dataDir;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), 'synapse-dev-'));
  // What this start opened so far, closed newest first when a later step fails (a port in use, a
  // bad database URL): a failed start leaves no folder, database handle or listener behind.
  const opened: Array<() => Promise<unknown>> = [];
  if (ephemeral) opened.push(() => rm(dataDir, { recursive: true, force: true }));
  try {
    const db = await openDatabase({
      dataDir: ephemeral ? undefined : join(dataDir, 'db'),
      databaseUrl: opts.databaseUrl,
    });
    opened.push(() => db.close());

    const app = Fastify({
      // A signed URL is a credential until it expires: request logs keep the path, not the signature.
      logger: opts.logRequests
        ? {
            serializers: {
              req: (req: { method: string; url: string }) => ({
                method: req.method,
                url: req.url.replace(/([?&]signature=)[^&#]*/gi, '$1<redacted>'),
              }),
            },
          }
        : false,
      bodyLimit: 256 * 1024 * 1024,
      routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 },
    });
    opened.push(() => app.close());
    const tenancy = createTenancy();
    const ctx: DevContext = {
      db,
      collections: createCollections(db, tenancy),
      tenancy,
      media: new MediaStore(join(dataDir, 'media'), {
        tenancy,
        signingKey: await mediaSigningKey(db),
        urlTtlSeconds: mediaUrlTtlSeconds,
      }),
      secrets: new SecretRegistry(),
      dashboardSessions: opts.dashboardAuth === false ? null : new DashboardSessions(),
      faults: opts.faults ? new Faults() : null,
      publicUrl: '',
      publicUrlConfigured: opts.publicUrl !== undefined,
      dataDir,
      hooks: {},
      state: createServerState(),
      capacity: opts.capacity,
      deploymentDelayMs: opts.deploymentDelayMs,
      serveGatewayUrl: opts.serveGatewayUrl?.replace(/\/+$/, ''),
      extractionLimits,
    };

    // Lenient like the platform: an empty JSON body is no body, not an error.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      if (body === '') return done(null, undefined);
      req.jsonText = body as string;
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(new ApiError(400, { detail: `JSON parse error - ${(err as Error).message}` }), undefined);
      }
    });
    await app.register(multipart, {
      limits: { fileSize: MULTIPART_LIMIT, fieldSize: 64 * 1024 * 1024 },
      // Larger stream buffers: fewer, bigger writes for chunked uploads (the default is 16 KiB).
      highWaterMark: 1024 * 1024,
      fileHwm: 1024 * 1024,
    });

    app.setErrorHandler((error: FastifyError | ApiError, req, reply) => {
      if (error instanceof ApiError)
        return reply.code(error.statusCode).headers(error.headers).send(error.body);
      const status = (error as FastifyError).statusCode ?? 500;
      if (status >= 500) {
        req.log.error(error);
        return reply.code(500).send({ detail: 'Internal server error.' });
      }
      const detail =
        error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.name === 'SyntaxError'
          ? `JSON parse error - ${error.message}`
          : error.message;
      return reply.code(status).send({ detail });
    });
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not found.' }));

    // Requests being handled, for the faults that answer only under load (`max_in_flight`).
    let inFlight = 0;
    app.addHook('onRequest', async (req, reply) => {
      const path = req.url.split('?')[0].replace(/^\/api(?=\/)/, '');
      let fault = null;
      if (ctx.faults && !path.startsWith('/_emulator')) {
        inFlight++;
        reply.raw.once('close', () => inFlight--);
        fault = ctx.faults.take(path, inFlight);
      }
      if (fault?.hang_ms) await new Promise((r) => setTimeout(r, fault.hang_ms));
      if (fault?.status) {
        return reply
          .code(fault.status)
          .headers(fault.headers ?? {})
          .send(fault.body ?? { detail: 'Injected fault.' });
      }
      const isPublic = (req.routeOptions.config as { public?: boolean } | undefined)?.public;
      if (!isPublic && !path.startsWith('/agent/') && req.routeOptions.url) {
        const principal = await authenticate(ctx, req);
        // The emulator's own surface (reset, fixtures, users) administers the whole platform, not
        // one tenant: it is for the default tenant's admins, and acts outside any tenant's scope.
        if (!path.startsWith('/_emulator')) req.principal = principal;
        else if (!principal.isAdmin || principal.tenant !== DEFAULT_TENANT) {
          throw new ApiError(403, {
            detail: "The emulator's own routes are for the default tenant's admin.",
          });
        }
      }
    });

    // Each authenticated request's handler (API or dashboard) runs inside its tenant's scope.
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function (this: unknown, req, reply) {
        const principal = req.principal;
        return principal
          ? tenancy.run(principal, () => handler.call(this as never, req, reply))
          : handler.call(this as never, req, reply);
      };
    });

    // On Ray, the capacity gate answers from the cluster's free resources.
    if (opts.rayAddress) ctx.ray = new RayClient(opts.rayAddress);

    // A known path asked with a method it does not serve answers 405, as the platform does.
    const methodsByUrl = new Map<string, Set<string>>();
    // A public path (health, the dashboard) says 405 to anyone, not 401 first.
    const publicUrls = new Set<string>();
    app.addHook('onRoute', (route) => {
      const methods = methodsByUrl.get(route.url) ?? new Set<string>();
      for (const method of [route.method].flat()) methods.add(method);
      methodsByUrl.set(route.url, methods);
      if ((route.config as { public?: boolean } | undefined)?.public) publicUrls.add(route.url);
    });

    for (const prefix of ['', '/api']) {
      await app.register(
        async (scope) => {
          scope.get('/health/', { config: { public: true } }, async () => ({}));
          for (const register of ROUTES) await register(scope, ctx);
          await scope.register(async (agent) => agentRoutes(agent, ctx), { prefix: '/agent' });
        },
        { prefix },
      );
    }
    await app.register(async (ui) => uiRoutes(ui, ctx), { prefix: '/ui' });

    for (const [url, methods] of [...methodsByUrl]) {
      const missing = HTTP_METHODS.filter((m) => !methods.has(m));
      if (missing.length === 0) continue;
      app.route({
        method: missing,
        url,
        config: { public: publicUrls.has(url) },
        handler: (req, reply) => reply.code(405).send({ detail: `Method "${req.method}" not allowed.` }),
      });
    }

    // Before the first request: the runs of a previous server process end, so none stays live forever.
    await reconcileInterruptedRuns(ctx, { runsJobs: opts.runJobs !== false, redeploys: Boolean(opts.serve) });

    const address = await app.listen({ port: opts.port ?? 0, host });
    const port = new URL(address).port;
    ctx.publicUrl = (opts.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(
      /\/+$/,
      '',
    );
    const credentials = await bootstrap(ctx);
    // Tokens issued on earlier starts, and the login password while this start still knows it.
    await ctx.secrets.load(db);
    ctx.secrets.add(credentials.password);
    const loginFile = ephemeral ? null : await writeLoginFile(dataDir, credentials);
    if (opts.serve) {
      // Ray Serve listens where `serve.port` says (its proxy has no "any free port").
      const backend = opts.rayAddress
        ? new RayServeBackend({
            dashboardAddress: opts.rayAddress,
            address: `http://${host}:${opts.serve.port || 8100}`,
          })
        : new LocalServeBackend({ host, port: opts.serve.port ?? 0 });
      opened.push(() => backend.close());
      await backend.init();
      ctx.serveHost = new ServeHost(ctx, backend);
      await ctx.serveHost.restore();
      ctx.serveGatewayUrl ??= backend.url;
    }
    const jobRunner = opts.runJobs === false ? null : new JobRunner(ctx, { rayAddress: opts.rayAddress });
    if (jobRunner) ctx.hooks.onJobCreated = (job) => jobRunner.start(job);
    // The same switch: a server that runs no jobs runs no plugin code at all.
    if (jobRunner) ctx.taskRunner = new TaskRunner(ctx);

    return {
      url: ctx.publicUrl,
      agentUrl: `${ctx.publicUrl}/agent`,
      credentials,
      loginFile,
      ctx,
      app,
      async close() {
        // Running jobs report to this server until they are stopped.
        await jobRunner?.close();
        await ctx.taskRunner?.close();
        await ctx.serveHost?.backend.close();
        await app.close();
        await db.close();
        if (ephemeral) await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw err;
  }
}
