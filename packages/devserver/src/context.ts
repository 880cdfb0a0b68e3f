/** What every route module receives: the database, one collection per resource, files, settings. */

import type { FastifyRequest } from 'fastify';
import type { ExtractionLimits, RayClient } from 'synapse-sdk';
import type { ServeHost } from './agent/serve-host.ts';
import type { TaskRunner } from './agent/task-runner.ts';
import { Collection, type Doc } from './db/collection.ts';
import type { Database } from './db/database.ts';
import { compileFilters, type Query, type Where } from './db/filters.ts';
import type { Collections } from './db/records.ts';
import { RESOURCES } from './db/resources.ts';
import { ApiError } from './errors.ts';
import type { Faults } from './faults.ts';
import { type MediaStore, renderMediaUrls } from './media.ts';
import type { SecretRegistry } from './secrets.ts';
import type { ServerState } from './server-state.ts';
import type { Tenancy } from './tenancy.ts';
import type { DashboardSessions } from './ui/session.ts';

export interface DevContext {
  db: Database;
  collections: Collections;
  media: MediaStore;
  /** Every secret this server knows, and the masking of what it stores for display and shows. */
  secrets: SecretRegistry;
  /** The dashboard's login sessions; null when the login is off (`dashboardAuth: false`, loopback only). */
  dashboardSessions: DashboardSessions | null;
  /** Who the current request acts for (its tenant scopes every collection). */
  tenancy: Tenancy;
  faults: Faults | null;
  /** Absolute base URL clients reach this server at, without a trailing slash. */
  publicUrl: string;
  /**
   * `publicUrl` was configured (`publicUrl` option, `synapse dev --public-url`): links always use
   * it. Otherwise each response's links use the address the request came to (see `requestBaseUrl`).
   */
  publicUrlConfigured: boolean;
  /** Where the devserver keeps its state (files, tmp). */
  dataDir: string;
  /** Hooks other parts (the agent, executors) attach to. */
  hooks: DevHooks;
  /** This server's event channels, caches and work in flight (never shared with another server). */
  state: ServerState;
  /** The emulated agent's capacity, overriding what this machine has (agent feasibility). */
  capacity?: CapacityOverride;
  /** The Ray cluster the agent runs on: its free resources answer feasibility checks. */
  ray?: RayClient;
  /** How long a `deployment` run keeps its serve application DEPLOYING before RUNNING (ms). */
  deploymentDelayMs?: number;
  /** Serve gateway that `inference` runs are forwarded to when their app is RUNNING (no trailing slash). */
  serveGatewayUrl?: string;
  /** The agent's serve runtime, when this server hosts deployments itself. */
  serveHost?: ServeHost;
  /** Runs `task` and `restapi` actions of published releases (absent: they answer their fixture). */
  taskRunner?: TaskRunner;
  /** Limits for unpacking release archives; unset ones keep the SDK's `DEFAULT_EXTRACTION_LIMITS`. */
  extractionLimits?: ExtractionLimits;
}

export interface CapacityOverride {
  cpus?: number;
  gpus?: number;
  memoryBytes?: number;
}

export interface DevHooks {
  /** Called after `plugins/<x>/run/` creates a job for a `job` action. */
  onJobCreated?: (job: Doc) => void;
}

export function createCollections(db: Database, tenancy: Tenancy): Collections {
  return Object.fromEntries(
    Object.entries(RESOURCES).map(([name, def]) => [name, new Collection(db, def, tenancy)]),
  ) as Collections;
}

export const MAX_PAGE_SIZE = 100;

function queryOf(req: FastifyRequest): Query {
  return req.query as Query;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The (first) value of a query parameter. */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  return first(queryOf(req)[name]);
}

/** `fields=a,b` keeps only those top-level keys (unknown names ignored). */
export function selectFields(req: FastifyRequest, doc: Doc): Record<string, unknown> {
  const raw = queryOf(req).fields;
  if (!raw) return doc;
  const fields = new Set(
    (Array.isArray(raw) ? raw : [raw])
      .flatMap((f) => f.split(','))
      .map((f) => f.trim())
      .filter(Boolean),
  );
  return Object.fromEntries(Object.entries(doc).filter(([k]) => fields.has(k)));
}

/** `expand=x,y` (or repeated) as a set of names. */
export function expansions(req: FastifyRequest): Set<string> {
  const raw = queryOf(req).expand;
  return new Set(
    (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap((e) => e.split(',')).map((e) => e.trim()),
  );
}

/** A host (name, IPv4 or bracketed IPv6, optional port) as a Host header may carry it. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The first value of a header that may be repeated or comma-separated (proxies append). */
function firstHeader(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  const first = raw?.split(',')[0]?.trim();
  return first ? first : undefined;
}

/**
 * The base URL the client reached this server at, for the links a response carries (next pages,
 * chunked-upload and media URLs), as a platform behind a reverse proxy builds them: the configured
 * public URL when there is one; else `X-Forwarded-Host` / `X-Forwarded-Proto` when a proxy sent
 * them, else the `Host` header; else the listen address. A host that is not a plain host[:port]
 * is ignored (the listen address is used), so a forged header cannot put a path or a scheme in a link.
 */
export function requestBaseUrl(ctx: DevContext, req: FastifyRequest): string {
  if (ctx.publicUrlConfigured) return ctx.publicUrl;
  const host = firstHeader(req.headers['x-forwarded-host']) ?? firstHeader(req.headers.host);
  if (!host || host.length > 260 || !HOST.test(host)) return ctx.publicUrl;
  const forwardedProto = firstHeader(req.headers['x-forwarded-proto'])?.toLowerCase();
  const proto =
    forwardedProto === 'https' || forwardedProto === 'http'
      ? forwardedProto
      : ctx.publicUrl.startsWith('https:')
        ? 'https'
        : 'http';
  return `${proto}://${host}`;
}

/** A detail response: `fields` applied, media references made absolute, signed URLs. */
export function present(ctx: DevContext, req: FastifyRequest, doc: Doc): unknown {
  return renderMediaUrls(selectFields(req, doc), requestBaseUrl(ctx, req), ctx.media);
}

function pageLink(ctx: DevContext, req: FastifyRequest, page: number | null): string {
  const base = requestBaseUrl(ctx, req);
  const url = new URL(req.url, base);
  if (page === null || page === 1) url.searchParams.delete('page');
  else url.searchParams.set('page', String(page));
  return `${base}${url.pathname}${url.search}`;
}

export interface ListOptions {
  /** Extra conditions beyond the query-string filters. */
  where?: Where;
  /** Query parameters the route filters on itself (in `where`), left out of the generic filters. */
  handled?: string[];
  /** Turns stored documents into wire objects (expansions, derived fields). */
  serialize?: (docs: Doc[]) => Promise<Doc[]> | Doc[];
}

/** The paginated list response of a collection: `{count, next, previous, results}`. */
export async function listResponse(
  ctx: DevContext,
  req: FastifyRequest,
  coll: Collection,
  opts: ListOptions = {},
) {
  const query = queryOf(req);
  const pageRaw = first(query.page) ?? '1';
  const page = /^\d+$/.test(pageRaw) ? Number(pageRaw) : Number.NaN;
  if (!(page >= 1)) throw new ApiError(404, { detail: 'Invalid page.' });
  const sizeRaw = Number(first(query.page_size));
  const pageSize =
    Number.isInteger(sizeRaw) && sizeRaw > 0 ? Math.min(sizeRaw, MAX_PAGE_SIZE) : MAX_PAGE_SIZE;
  const { handled = [] } = opts;
  const filters = Object.fromEntries(Object.entries(query).filter(([key]) => !handled.includes(key)));
  const where = compileFilters(coll.def, filters, opts.where);
  const { count, results } = await coll.page(where, page, pageSize);
  if (results.length === 0 && page > 1) throw new ApiError(404, { detail: 'Invalid page.' });
  const docs = opts.serialize ? await opts.serialize(results) : results;
  return {
    count,
    next: page * pageSize < count ? pageLink(ctx, req, page + 1) : null,
    previous: page > 1 ? pageLink(ctx, req, page - 1) : null,
    results: docs.map((d) => present(ctx, req, d)),
  };
}

/** The object with this id, or 404 `{"detail": "Not found."}`. */
export async function getOr404(coll: Collection, id: number | string): Promise<Doc> {
  const doc = await coll.get(id);
  if (!doc) throw new ApiError(404, { detail: 'Not found.' });
  return doc;
}

/** Base URL for links the client follows, keeping the `/api` prefix when the request used it. */
export function apiBase(ctx: DevContext, req: FastifyRequest): string {
  const base = requestBaseUrl(ctx, req);
  return req.url.startsWith('/api/') ? `${base}/api` : base;
}

/** The `sdk/<family>/data/` view of a record (tasks, assignments, ground truth events): its id and data. */
export function dataListItem(doc: Doc): Doc {
  return { id: doc.id, data: doc.data ?? {} };
}

/**
 * The `sdk/<family>/files/` view of a record: its id and its data unit's files as a list of
 * file-info objects, each named by its file specification (`name`).
 */
export function filesListItem(doc: Doc, files: unknown): Doc {
  const entries = files && typeof files === 'object' && !Array.isArray(files) ? Object.entries(files) : [];
  return {
    id: doc.id,
    files: entries.map(([name, file]) =>
      file && typeof file === 'object' ? { name, ...(file as Doc) } : { name, url: file },
    ),
  };
}
