/**
 * `LocalServeBackend` (inference.md §2.2): one HTTP gateway for every app on this machine, routing
 * by route prefix. An app's `num_replicas` replicas are worker processes when the deployment's
 * module is known (else instances in this process); requests with the same
 * `serve_multiplexed_model_id` always reach the same replica, so each replica caches a subset of
 * the models.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { MULTIPLEX_HEADER } from 'synapse-core';
import type { AgentServeApplication } from '../clients/agent/index.ts';
import { ENV, serveAddress } from '../environment.ts';
import { sdkModuleFile, TYPESCRIPT_NODE_OPTIONS } from '../runtime.ts';
import type { ServeApp, ServeBackend } from './backend.ts';
import {
  type BaseServeDeployment,
  invokeServeHandler,
  type ServeRequest,
  type ServeResponse,
  type ServeRoute,
} from './deployment.ts';

// The header is the token format's (synapse-core); re-exported where the SDK always had it.
export { MULTIPLEX_HEADER } from 'synapse-core';

/** Gateway → worker messages. */
export type WorkerRequest =
  | {
      type: 'init';
      modulePath: string;
      exportName: string;
      initArgs: unknown[];
      maxModelsPerReplica?: number;
    }
  | {
      type: 'request';
      id: number;
      handler: string;
      body: unknown;
      request: ServeRequest;
      multiplexedModelId: string | null;
    }
  | { type: 'stop' };

/** Worker → gateway messages. */
export type WorkerReply =
  | { type: 'ready'; pid: number }
  | { type: 'init-error'; message: string }
  | ({ type: 'response'; id: number } & ServeResponse);

export interface LocalServeBackendOptions {
  /** Default: env `RAY_SERVE_ADDRESS`, else `http://localhost:8100`. */
  address?: string;
  /** Overrides the address's port (0 = any free port). */
  port?: number;
  /** Overrides the address's host. */
  host?: string;
  /** Milliseconds a worker replica may take to construct its deployment (default 60 s). */
  startTimeoutMs?: number;
}

interface Replica {
  pid: number;
  call(
    handler: string,
    body: unknown,
    request: ServeRequest,
    multiplexedModelId: string | null,
  ): Promise<ServeResponse>;
  stop(): Promise<void>;
}

interface AppState {
  app: ServeApp;
  status: 'DEPLOYING' | 'RUNNING' | 'DEPLOY_FAILED' | 'UNHEALTHY' | 'DELETING';
  message: string;
  deployedAt: number;
  replicas: Replica[];
  next: number;
}

const WORKER_FILE = sdkModuleFile('./worker', import.meta.url);

class InProcessReplica implements Replica {
  readonly pid = process.pid;
  constructor(private readonly instance: BaseServeDeployment) {}
  call(handler: string, body: unknown, request: ServeRequest, modelId: string | null) {
    return invokeServeHandler(this.instance, handler, body, request, modelId);
  }
  async stop() {
    await this.instance.disposeModels?.().catch(() => {});
  }
}

class WorkerReplica implements Replica {
  pid = 0;
  #seq = 0;
  readonly #pending = new Map<number, (res: ServeResponse) => void>();
  #exited: Promise<void>;

  /** `scratchDir` is the replica's own folder (its downloaded models), removed once it exited. */
  constructor(
    private readonly child: ChildProcess,
    scratchDir: string,
    onUnexpectedExit: () => void,
  ) {
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() =>
      rm(scratchDir, { recursive: true, force: true }).catch(() => {}),
    );
    child.on('message', (raw) => {
      const msg = raw as WorkerReply;
      if (msg.type !== 'response') return;
      const done = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      done?.({ status: msg.status, body: msg.body });
    });
    child.once('exit', (code, signal) => {
      for (const done of this.#pending.values())
        done({ status: 500, body: { detail: `Replica process exited (${signal ?? code})` } });
      this.#pending.clear();
      if (!this.stopping) onUnexpectedExit();
    });
  }

  stopping = false;

  static async start(app: ServeApp, timeoutMs: number, onUnexpectedExit: () => void): Promise<WorkerReplica> {
    // The replica's downloaded models go to a folder of its own, removed here when the process
    // exits, however it exits: a crashed or killed replica leaves nothing in the temp dir.
    const scratchDir = await mkdtemp(join(tmpdir(), 'synapse-replica-'));
    const child = fork(WORKER_FILE, [], {
      execArgv: [...TYPESCRIPT_NODE_OPTIONS],
      env: { ...process.env, [ENV.serveScratchDir.name]: scratchDir },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const replica = new WorkerReplica(child, scratchDir, onUnexpectedExit);
    const max = Number(app.serveOptions.max_models_per_replica) || undefined;
    const init: WorkerRequest = {
      type: 'init',
      modulePath: app.modulePath as string,
      exportName: app.exportName ?? app.deployment.name,
      initArgs: app.initArgs,
      maxModelsPerReplica: max,
    };
    try {
      replica.pid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Replica did not start in time')), timeoutMs);
        child.on('message', (raw) => {
          const msg = raw as WorkerReply;
          if (msg.type === 'ready') {
            clearTimeout(timer);
            resolve(msg.pid);
          } else if (msg.type === 'init-error') {
            clearTimeout(timer);
            reject(new Error(msg.message));
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`Replica process exited during start (code ${code})`));
        });
        child.once('error', reject);
        child.send(init);
      });
    } catch (e) {
      await replica.stop();
      throw e;
    }
    return replica;
  }

  call(handler: string, body: unknown, request: ServeRequest, modelId: string | null) {
    return new Promise<ServeResponse>((resolve) => {
      if (!this.child.connected) {
        resolve({ status: 503, body: { detail: 'Replica is not running' } });
        return;
      }
      const id = ++this.#seq;
      this.#pending.set(id, resolve);
      const msg: WorkerRequest = { type: 'request', id, handler, body, request, multiplexedModelId: modelId };
      this.child.send(msg, (err) => {
        if (!err) return;
        this.#pending.delete(id);
        resolve({ status: 503, body: { detail: 'Replica is not running' } });
      });
    });
  }

  /** Resolves once the process exited and its folder is removed. */
  async stop() {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.#exited;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies WorkerRequest);
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

const trimSlash = (p: string) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);

function normalizePrefix(prefix: string): string {
  return trimSlash(prefix.startsWith('/') ? prefix : `/${prefix}`);
}

/** A stable replica index for a model id: the same model always lands on the same replica. */
function replicaIndexFor(modelId: string, replicas: number): number {
  return createHash('sha1').update(modelId).digest().readUInt32BE(0) % replicas;
}

export class LocalServeBackend implements ServeBackend {
  readonly #options: LocalServeBackendOptions;
  readonly #apps = new Map<string, AppState>();
  #server: FastifyInstance | null = null;
  #starting: Promise<void> | null = null;
  #url: string | null = null;
  #inFlight = 0;
  #closing = false;
  #idle: Array<() => void> = [];

  constructor(options: LocalServeBackendOptions = {}) {
    this.#options = options;
  }

  /** The gateway's base URL once `init()` has resolved. */
  get url(): string {
    if (!this.#url) throw new Error('Serve gateway is not started; call init() first');
    return this.#url;
  }

  init(_options?: Record<string, unknown>): Promise<void> {
    this.#starting ??= this.#listen().catch((e) => {
      this.#starting = null;
      throw e;
    });
    return this.#starting;
  }

  async #listen(): Promise<void> {
    const address = new URL(this.#options.address ?? serveAddress(process.env));
    const host = this.#options.host ?? address.hostname.replace(/^\[|\]$/g, '');
    const port = this.#options.port ?? (address.port ? Number(address.port) : 8100);
    const server = Fastify({ logger: false, bodyLimit: 256 * 1024 * 1024 });
    server.removeContentTypeParser('application/json');
    server.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
      if (!text) return done(null, undefined);
      try {
        done(null, JSON.parse(text as string));
      } catch {
        done(Object.assign(new Error('Invalid JSON body'), { statusCode: 400 }), undefined);
      }
    });
    server.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, buf, done) => done(null, buf));
    server.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      void reply.code(status).send({ detail: err.message });
    });
    server.setNotFoundHandler((_req, reply) => {
      void reply.code(404).send({ detail: 'Not Found' });
    });
    // In-flight accounting for a graceful close: a response's socket close ends its request.
    server.addHook('onRequest', (_req, reply, done) => {
      this.#inFlight++;
      reply.raw.once('close', () => {
        if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
      });
      done();
    });
    // While closing, responses end their keep-alive connections so the server can stop.
    server.addHook('onSend', (_req, reply, payload, done) => {
      if (this.#closing) void reply.header('connection', 'close');
      done(null, payload);
    });
    server.get('/-/healthz', async (_req, reply) => reply.type('text/plain').send('success'));
    server.get('/-/routes', async () => {
      const routes: Record<string, string> = {};
      for (const [name, state] of this.#apps)
        if (state.status === 'RUNNING') routes[normalizePrefix(state.app.routePrefix)] = name;
      return routes;
    });
    server.get<{ Params: { name: string } }>('/-/apps/:name', async (req, reply) => {
      const status = await this.status(req.params.name);
      if (!status) return reply.code(404).send({ detail: 'Not Found' });
      return reply.code(status.status === 'RUNNING' ? 200 : 503).send(status);
    });
    server.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: '/*',
      handler: (req, reply) => this.#handle(req, reply),
    });
    await server.listen({ host, port });
    const bound = server.server.address() as AddressInfo;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.#url = `http://${shownHost}:${bound.port}`;
    this.#server = server;
  }

  #match(path: string): { state: AppState; rest: string } | null {
    let best: { state: AppState; rest: string; length: number } | null = null;
    for (const state of this.#apps.values()) {
      const prefix = normalizePrefix(state.app.routePrefix);
      const matches = prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
      if (!matches || (best && best.length >= prefix.length)) continue;
      const rest = prefix === '/' ? path : path.slice(prefix.length);
      best = { state, rest: rest || '/', length: prefix.length };
    }
    return best;
  }

  async #handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    {
      const [rawPath] = req.url.split('?');
      const path = decodeURIComponent(rawPath);
      const found = this.#match(path);
      if (!found) return void reply.code(404).send({ detail: 'Not Found' });
      const { state, rest } = found;
      if (state.status !== 'RUNNING' || state.replicas.length === 0) {
        return void reply
          .code(503)
          .send({ detail: `Application ${state.app.name} is not running (${state.status})` });
      }
      const routes: ServeRoute[] = state.app.deployment.routes ?? [];
      const sub = trimSlash(rest);
      const route = routes.find((r) => r.method === req.method && trimSlash(r.path) === sub);
      if (!route) return void reply.code(404).send({ detail: 'Not Found' });
      const header = req.headers[MULTIPLEX_HEADER];
      const modelId = (Array.isArray(header) ? header[0] : header) || null;
      const { replicas } = state;
      const index =
        modelId !== null ? replicaIndexFor(modelId, replicas.length) : state.next++ % replicas.length;
      const request: ServeRequest = {
        method: req.method,
        path: rest,
        query: { ...(req.query as Record<string, unknown>) },
        headers: { ...req.headers },
      };
      const res = await replicas[index].call(route.handler, req.body, request, modelId);
      reply
        .code(res.status)
        .type('application/json')
        .send(JSON.stringify(res.body ?? null));
    }
  }

  async run(app: ServeApp): Promise<void> {
    const previous = this.#apps.get(app.name);
    const prefix = normalizePrefix(app.routePrefix);
    for (const [name, other] of this.#apps) {
      if (name !== app.name && normalizePrefix(other.app.routePrefix) === prefix)
        throw new Error(`Route prefix ${prefix} is already used by serve app ${name}`);
    }
    const state: AppState = {
      app,
      status: 'DEPLOYING',
      message: '',
      deployedAt: Date.now() / 1000,
      replicas: [],
      next: 0,
    };
    this.#apps.set(app.name, state);
    if (previous) await Promise.all(previous.replicas.map((r) => r.stop()));
    const count = Math.max(1, Math.trunc(Number(app.serveOptions.num_replicas ?? 1)) || 1);
    try {
      await this.init();
      const started = await Promise.allSettled(
        Array.from({ length: count }, () => this.#startReplica(app, state)),
      );
      const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        await Promise.all(replicas.map((r) => r.stop()));
        throw failed.reason;
      }
      if (this.#apps.get(app.name) !== state) {
        // Deleted or replaced while starting.
        await Promise.all(replicas.map((r) => r.stop()));
        return;
      }
      state.replicas = replicas;
      state.status = 'RUNNING';
    } catch (e) {
      state.status = 'DEPLOY_FAILED';
      state.message = (e as Error)?.message ?? String(e);
      throw e;
    }
  }

  async #startReplica(app: ServeApp, state: AppState): Promise<Replica> {
    if (app.modulePath) {
      return WorkerReplica.start(app, this.#options.startTimeoutMs ?? 60_000, () => {
        if (this.#apps.get(app.name) === state && state.status === 'RUNNING') {
          state.status = 'UNHEALTHY';
          state.message = 'A replica process exited unexpectedly';
        }
      });
    }
    const Concrete = app.deployment as unknown as new (...args: unknown[]) => BaseServeDeployment;
    const instance = new Concrete(...app.initArgs);
    const max = Number(app.serveOptions.max_models_per_replica);
    if (max) instance.setMaxModelsPerReplica?.(max);
    return new InProcessReplica(instance);
  }

  async delete(name: string): Promise<void> {
    const state = this.#apps.get(name);
    if (!state) return;
    state.status = 'DELETING';
    this.#apps.delete(name);
    await Promise.all(state.replicas.map((r) => r.stop()));
  }

  async status(name: string): Promise<AgentServeApplication | null> {
    const state = this.#apps.get(name);
    if (!state) return null;
    const deploymentStatus = { RUNNING: 'HEALTHY', DEPLOYING: 'UPDATING', DELETING: 'UPDATING' }[
      state.status as string
    ];
    return {
      name,
      status: state.status,
      route_prefix: normalizePrefix(state.app.routePrefix),
      message: state.message,
      last_deployed_time_s: state.deployedAt,
      docs_path: null,
      deployments: [
        {
          name: state.app.deployment.name,
          status: deploymentStatus ?? 'UNHEALTHY',
          message: state.message,
          replica_states: state.replicas.length ? { RUNNING: state.replicas.length } : {},
        },
      ],
    };
  }

  /** The pids of an app's replicas (this process's pid for in-process replicas). */
  replicaPids(name: string): number[] {
    return this.#apps.get(name)?.replicas.map((r) => r.pid) ?? [];
  }

  /** Stops accepting requests, waits for the ones in flight, then stops every app's replicas. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.#starting = null;
    this.#url = null;
    if (server) {
      this.#closing = true;
      const closed = server.close();
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      server.server.closeIdleConnections();
      await closed;
      this.#closing = false;
    }
    await Promise.all([...this.#apps.keys()].map((name) => this.delete(name)));
  }
}
