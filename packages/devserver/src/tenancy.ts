/**
 * Tenants (#11 item 4): every stored record carries the tenant it belongs to, and a request acts
 * for the tenant of the user whose token it carries. The principal travels with the request's
 * async work in an AsyncLocalStorage owned by the server (no process-wide "current tenant").
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Records made before tenants existed, and the bootstrap user's, belong to this one. */
export const DEFAULT_TENANT = 'default';

/** A tenant code is used in SQL parameters and media paths: keep it to a safe, bounded alphabet. */
export const TENANT_CODE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Who a backend request acts for. */
export interface Principal {
  userId: number;
  tenant: string;
  /** A tenant admin sees the tenant's agent tokens; other users do not. */
  isAdmin: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Whom the request acts for: set by backend auth (its token) or the dashboard (its session);
     * the route's handler runs inside that principal's tenant scope.
     */
    principal?: Principal;
  }
}

export type Tenancy = AsyncLocalStorage<Principal>;

export function createTenancy(): Tenancy {
  return new AsyncLocalStorage<Principal>();
}

/**
 * The tenant whose records the current work may touch, or null outside any request (startup,
 * the agent API, the emulator's own surface): such work sees every tenant.
 */
export function currentTenant(tenancy: Tenancy): string | null {
  return tenancy.getStore()?.tenant ?? null;
}

/** Media of a non-default tenant lives under its own prefix. */
export function tenantMediaPrefix(tenant: string): string {
  return tenant === DEFAULT_TENANT ? '' : `tenants/${tenant}/`;
}

/** The tenant a media-relative path belongs to (by its prefix). */
export function tenantOfMediaPath(relative: string): string {
  const m = /^tenants\/([^/]+)\//.exec(relative);
  return m ? m[1] : DEFAULT_TENANT;
}
