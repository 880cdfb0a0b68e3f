/**
 * Downloads a URL that came from data (a data unit's file URL) without letting that data aim the
 * SDK at internal services (#11 item 5, server-side request forgery):
 * - http/https only; the origin must match an allow rule (the backend's own origin, hosts the
 *   user allowed);
 * - the host is resolved here and every address is judged (loopback, private, link-local and
 *   metadata, reserved, IPv4 hidden in IPv6); the connection then goes to the address that was
 *   judged (a pinned lookup), so a second DNS answer cannot swap it (DNS rebinding);
 * - redirects are followed by hand, each hop checked again like the first, at most 5;
 * - the body and the whole download (all hops) are bounded in size and time;
 * - connections are new per download unless the caller gives a `DownloadPool`, whose reused
 *   connections each go to the address judged for that hop (one pool per checked address).
 * Errors name the URL without credentials or query (signed URLs carry secrets there) and the rule.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressClass, classifyAddress } from './addresses.ts';
import { type HostRule, matchRule } from './allow-list.ts';

export { type AddressClass, type AddressScope, classifyAddress } from './addresses.ts';
export {
  AllowedHostError,
  type HostRule,
  MAX_ALLOWED_HOSTS,
  matchRule,
  originRule,
  parseHostRule,
  parseHostRules,
} from './allow-list.ts';

export const DEFAULT_MAX_REDIRECTS = 5;

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address of a host name (the default asks the system resolver, like a connect would). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface SafeDownloadOptions {
  /** The origins that may be fetched; nothing else is. */
  rules: readonly HostRule[];
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** The whole download, all redirect hops included, in milliseconds. */
  timeoutMs: number;
  maxRedirects?: number;
  resolve?: Resolver;
  signal?: AbortSignal;
  /** Keep-alive connections shared by many downloads (a bulk operation's); without it, none. */
  pool?: DownloadPool;
  /**
   * Return the first `maxBytes` of a larger body (a file's head, e.g. an image's size) instead of
   * refusing it; the rest is never read.
   */
  truncate?: boolean;
}

export interface SafeDownloadResult {
  /** The URL the body came from (after redirects), without credentials or query. */
  url: string;
  status: number;
  contentType: string | null;
  body: Buffer;
}

/** Which rule refused the download: each has its own message. */
export type SafeFetchRule =
  | 'url'
  | 'scheme'
  | 'host'
  | 'address'
  | 'dns'
  | 'redirect'
  | 'status'
  | 'size'
  | 'timeout'
  | 'network';

export class SafeFetchError extends Error {
  override name = 'SafeFetchError';
  constructor(
    /** The URL refused, without credentials, query or fragment. */
    readonly url: string,
    readonly rule: SafeFetchRule,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${detail} (${url})`, options);
  }
}

/** A URL fit for messages and logs: no user info, no query (signatures, tokens), no fragment. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString();
  } catch {
    return String(url)
      .split(/[?#]/)[0]!
      .replace(/\/\/[^/@]*@/, '//');
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** The one address this hop will connect to, after every address of the host was judged. */
async function checkedAddress(url: URL, rule: HostRule, resolve: Resolver): Promise<ResolvedAddress> {
  const shown = redactUrl(url);
  const host = bareHost(url);
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      throw new SafeFetchError(shown, 'dns', `host '${host}' could not be resolved (${code})`, {
        cause: err,
      });
    }
    if (addresses.length === 0) {
      throw new SafeFetchError(shown, 'dns', `host '${host}' has no address`);
    }
  }
  for (const { address } of addresses) {
    let cls: AddressClass;
    try {
      cls = classifyAddress(address);
    } catch {
      throw new SafeFetchError(
        shown,
        'address',
        `host '${host}' resolved to something that is not an address`,
      );
    }
    const named = host === address ? `address ${address}` : `host '${host}' resolves to ${address}`;
    if (cls.scope === 'forbidden') {
      throw new SafeFetchError(shown, 'address', `${named}, a ${cls.kind} address, which is never fetched`);
    }
    if (cls.scope === 'internal' && !rule.trustsInternal) {
      throw new SafeFetchError(
        shown,
        'address',
        `${named}, a ${cls.kind} address; internal addresses are fetched only from the backend's origin ` +
          `or an allowed host named with its port (e.g. localhost:9000)`,
      );
    }
  }
  return addresses[0]!;
}

/** A lookup that answers with the checked address only, whatever DNS says now. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

/**
 * Keep-alive connections for many downloads (a new connection per file costs the client and the
 * server more CPU than the download). Each hop is still judged; its request then goes through the
 * agent of that exact origin and checked address, whose sockets were all connected to that
 * address, so a reused socket never skips a check. Owned by the operation that made it: `close()`
 * ends its connections.
 */
export class DownloadPool {
  readonly #agents = new Map<string, http.Agent>();

  agentFor(url: URL, pinned: ResolvedAddress): http.Agent {
    const key = `${url.protocol}//${url.host} ${pinned.address}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
      agent = new Agent({ keepAlive: true, lookup: pinnedLookup(pinned) } as http.AgentOptions);
      this.#agents.set(key, agent);
    }
    return agent;
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

function requestOnce(
  url: URL,
  pinned: ResolvedAddress,
  signal: AbortSignal,
  pool: DownloadPool | undefined,
  retryStale = true,
): Promise<IncomingMessage> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request({
      protocol: url.protocol,
      hostname: bareHost(url),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      // Without a pool, a new connection: an unkeyed pooled socket would skip this hop's check.
      agent: pool ? pool.agentFor(url, pinned) : false,
      lookup: pinnedLookup(pinned),
      signal,
      headers: { accept: 'application/json, */*;q=0.5' },
    });
    req.once('response', resolve);
    req.once('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as this GET went out: once more, on a new one.
      if (retryStale && req.reusedSocket && err.code === 'ECONNRESET' && !signal.aborted) {
        resolve(requestOnce(url, pinned, signal, pool, false));
      } else {
        reject(err);
      }
    });
    req.end();
  });
}

async function readBounded(
  res: IncomingMessage,
  maxBytes: number,
  shown: string,
  truncate = false,
): Promise<Buffer> {
  const tooLarge = () =>
    new SafeFetchError(shown, 'size', `file exceeds the size limit of ${maxBytes} bytes`);
  const declared = Number(res.headers['content-length']);
  if (!truncate && Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      res.destroy();
      if (!truncate) throw tooLarge();
      chunks.push(chunk.subarray(0, chunk.byteLength - (size - maxBytes)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** GETs `input` under the rules above; throws `SafeFetchError` naming the rule that refused it. */
export async function safeDownload(input: string, options: SafeDownloadOptions): Promise<SafeDownloadResult> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const resolve = options.resolve ?? systemResolver;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new SafeFetchError(redactUrl(input), 'url', 'invalid URL');
  }
  for (let hop = 0; ; hop++) {
    // Credentials in a URL are never sent: the file is fetched without auth.
    url.username = '';
    url.password = '';
    const shown = redactUrl(url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      const scheme = url.protocol.replace(/:$/, '');
      throw new SafeFetchError(shown, 'scheme', `unsupported URL scheme '${scheme}' (only http and https)`);
    }
    const rule = matchRule(options.rules, url);
    if (!rule) {
      throw new SafeFetchError(
        shown,
        'host',
        `host '${url.host}' is not allowed (only the backend's origin and the allowed hosts are fetched)`,
      );
    }
    let res: IncomingMessage;
    try {
      const pinned = await checkedAddress(url, rule, resolve);
      res = await requestOnce(url, pinned, signal, options.pool);
    } catch (err) {
      throw failure(err, shown, deadline, options.timeoutMs);
    }
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode ?? 0) && location) {
      res.destroy();
      if (hop >= maxRedirects) {
        throw new SafeFetchError(shown, 'redirect', `more than ${maxRedirects} redirects`);
      }
      try {
        url = new URL(location, url);
      } catch {
        throw new SafeFetchError(shown, 'redirect', 'redirect to an invalid URL');
      }
      continue;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      res.destroy();
      throw new SafeFetchError(shown, 'status', `HTTP ${status}`);
    }
    try {
      const body = await readBounded(res, options.maxBytes, shown, options.truncate);
      const type = res.headers['content-type'];
      return { url: shown, status, contentType: type ?? null, body };
    } catch (err) {
      throw failure(err, shown, deadline, options.timeoutMs);
    }
  }
}

function failure(err: unknown, shown: string, deadline: AbortSignal, timeoutMs: number): SafeFetchError {
  if (err instanceof SafeFetchError) return err;
  if (deadline.aborted) {
    return new SafeFetchError(shown, 'timeout', `download timed out after ${timeoutMs / 1000}s`, {
      cause: err,
    });
  }
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  return new SafeFetchError(shown, 'network', code ? `${message} (${code})` : message, { cause: err });
}
