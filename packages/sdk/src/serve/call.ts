/**
 * The one way to call a deployed serve app (inference.md §5, §6; backend-api.md §10.3): the
 * multiplexing token, the method, path and body, and the error mapping. `inferRemote` (a plugin's
 * `inference` action) and the local platform's `inference` runs both go through `callServeApp`,
 * so the two cannot drift apart. The release checksum and route prefix are the run protocol's
 * (synapse-core), re-exported here where the SDK always exported them.
 */
import { MULTIPLEX_HEADER } from 'synapse-core';
import { ClientConnectionError } from '../clients/errors.ts';
import { BaseClient, type HttpMethod } from '../clients/http.ts';
import { createServeMultiplexedModelId } from './multiplex-token.ts';

export { releaseChecksum, releaseRoutePrefix } from 'synapse-core';

/** Connect 5 s, read 300 s: inference may take long, an unreachable gateway should not. */
export const SERVE_TIMEOUT = { connect: 5, read: 300 } as const;

export const SERVE_HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** What the multiplexing token (§5) is signed with: the caller's user token and the backend it names. */
export interface ServeModelSelection {
  model: number | string;
  token: string;
  backendUrl: string;
  tenant?: string;
}

export interface ServeCall {
  /** The serve gateway, e.g. `http://localhost:8100` (trailing slashes ignored). */
  gateway: string;
  /** The app's route prefix, `/<release checksum>`. */
  routePrefix: string;
  /** Any case; default `post`. */
  method?: string;
  /** Under the route prefix; default `/`. */
  path?: string;
  /** The request body (not sent for GET). */
  json?: unknown;
  /** The model the request selects; without it no multiplexing header is sent. */
  model?: ServeModelSelection;
}

/** The serve gateway client: errors read `Serve ...`; no retries (inference is not idempotent). */
class ServeClient extends BaseClient {
  constructor(address: string) {
    super(address, 'Serve', { ...SERVE_TIMEOUT }, { retry: { total: 0 } });
  }
}

/** The method upper-case; `Error` naming the method when it is not one a serve route can have. */
export function serveMethod(method: string | undefined): HttpMethod {
  const upper = (method ?? 'post').toUpperCase() as HttpMethod;
  if (!SERVE_HTTP_METHODS.includes(upper)) {
    throw new Error(`method: Input should be one of ${SERVE_HTTP_METHODS.join(', ')}`);
  }
  return upper;
}

/**
 * Sends one request to a deployed serve app and answers its parsed JSON (text when not JSON).
 * A non-2xx answer throws the client error of its status (`NotFoundError`, `ServerError`, ...,
 * with the app's `detail`); an unreachable gateway throws
 * `ClientConnectionError('Unable to connect to serve application')`.
 */
export async function callServeApp(call: ServeCall): Promise<unknown> {
  const method = serveMethod(call.method);
  const path = call.path ?? '/';
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (call.model) {
    const { model, token, backendUrl, tenant } = call.model;
    headers[MULTIPLEX_HEADER] = createServeMultiplexedModelId(model, token, backendUrl, tenant);
  }
  const client = new ServeClient(call.gateway.replace(/\/+$/, ''));
  try {
    return await client.request(method, `${call.routePrefix}${path.startsWith('/') ? path : `/${path}`}`, {
      headers,
      data: method === 'GET' ? undefined : call.json,
    });
  } catch (err) {
    if (err instanceof ClientConnectionError) {
      throw new ClientConnectionError('Unable to connect to serve application', { cause: err });
    }
    throw err;
  } finally {
    await client.close();
  }
}
