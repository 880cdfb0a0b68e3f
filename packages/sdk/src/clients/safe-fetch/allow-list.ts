/**
 * Which origins a download may reach (#11 item 5). A rule names a host (or `*.` a domain's
 * subdomains), optionally a scheme and a port. Naming the port is what lets a rule reach a
 * loopback or private address (`localhost:9000` for a local MinIO): a bare host name must
 * resolve to public addresses, so a DNS name that later points inside is still refused.
 */

export interface HostRule {
  /** Lower-case, without trailing dot; IPv6 in brackets as URLs spell it; `*.x` for subdomains of x. */
  hostname: string;
  /** `http:`/`https:`, or null for both. */
  protocol: string | null;
  /** null: any port. */
  port: number | null;
  /** The rule may resolve to internal (loopback, private) addresses. */
  trustsInternal: boolean;
  /** Where the rule came from, for messages: `backend origin`, `allowed_hosts`, `SYNAPSE_ALLOWED_HOSTS`. */
  source: string;
  /** The rule as written. */
  text: string;
}

export class AllowedHostError extends Error {
  override name = 'AllowedHostError';
}

/** Bounds a hostile or mistaken list: entries are short host names, not documents. */
export const MAX_ALLOWED_HOSTS = 100;
const MAX_ENTRY_LENGTH = 300;

export const normalizeHostname = (hostname: string) => hostname.toLowerCase().replace(/\.$/, '');

export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** One entry: `host`, `host:port`, `[v6]:port`, `*.domain`, or an origin `https://host[:port]`. */
export function parseHostRule(entry: string, source: string): HostRule {
  const text = entry.trim();
  // An entry with user info may carry a password: it is never echoed.
  const shown = text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1***@').slice(0, 80);
  const bad = (rule: string) =>
    new AllowedHostError(`${source}: '${shown}' is not an allowed host entry: ${rule}`);
  if (!text) throw bad('empty');
  if (text.length > MAX_ENTRY_LENGTH) throw bad(`longer than ${MAX_ENTRY_LENGTH} characters`);
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw bad('expected host, host:port or http(s)://host[:port]');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('only http and https origins');
  if (url.username || url.password) throw bad('credentials are not allowed in an entry');
  const extra =
    url.pathname !== '/' || url.search !== '' || url.hash !== '' || (!hasScheme && /[/?#]/.test(text));
  if (extra) throw bad('a host only, without path or query');
  const hostname = normalizeHostname(url.hostname);
  if (hostname.includes('*') && !/^\*\.[^*]+$/.test(hostname)) {
    throw bad("a wildcard is only allowed as a leading '*.'");
  }
  const port = url.port ? Number(url.port) : null;
  return {
    hostname,
    protocol: hasScheme ? url.protocol : null,
    port,
    trustsInternal: port !== null && !hostname.startsWith('*.'),
    source,
    text,
  };
}

/** A comma-separated list (the environment variable) or a list of entries (the action param). */
export function parseHostRules(entries: string | readonly string[] | undefined, source: string): HostRule[] {
  if (entries === undefined) return [];
  const list = typeof entries === 'string' ? entries.split(',') : [...entries];
  const nonEmpty = list.filter((e) => e.trim() !== '');
  if (nonEmpty.length > MAX_ALLOWED_HOSTS) {
    throw new AllowedHostError(`${source}: more than ${MAX_ALLOWED_HOSTS} entries`);
  }
  return nonEmpty.map((e) => parseHostRule(e, source));
}

/** The backend's own origin: exactly its scheme, host and port; it may be on loopback (the local platform). */
export function originRule(baseUrl: string, source = 'backend origin'): HostRule {
  const url = new URL(baseUrl);
  return {
    hostname: normalizeHostname(url.hostname),
    protocol: url.protocol,
    port: effectivePort(url),
    trustsInternal: true,
    source,
    text: url.origin,
  };
}

/**
 * A rule that allows this URL's origin, or null. When several match, one that trusts internal
 * addresses wins: `localhost` and `localhost:9000` both listed must still reach the local MinIO.
 */
export function matchRule(rules: readonly HostRule[], url: URL): HostRule | null {
  const hostname = normalizeHostname(url.hostname);
  const port = effectivePort(url);
  const matches = rules.filter((rule) => {
    if (rule.protocol !== null && rule.protocol !== url.protocol) return false;
    if (rule.port !== null && rule.port !== port) return false;
    if (!rule.hostname.startsWith('*.')) return rule.hostname === hostname;
    const suffix = rule.hostname.slice(1);
    return hostname.endsWith(suffix) && hostname.length > suffix.length;
  });
  return matches.find((rule) => rule.trustsInternal) ?? matches[0] ?? null;
}
