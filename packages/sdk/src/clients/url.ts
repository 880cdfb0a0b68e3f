/** URL building and query encoding (client.md §3.3, §3.4): pure functions. */

export type QueryScalar = string | number | boolean;
export type QueryValue = QueryScalar | null | undefined | QueryScalar[];
export type QueryParams = Record<string, QueryValue>;

const ABSOLUTE = /^https?:\/\//i;

/** Joins `path` to `baseUrl` (absolute paths pass through); `trailingSlash` adds `/` before any query. */
export function buildUrl(baseUrl: string, path: string, trailingSlash = false): string {
  let url = ABSOLUTE.test(path) ? path : `${baseUrl}/${path.replace(/^\/+/, '')}`;
  if (trailingSlash) {
    const q = url.search(/[?#]/);
    const [head, tail] = q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q)];
    if (!head.endsWith('/')) url = `${head}/${tail}`;
  }
  return url;
}

/**
 * Appends params to the URL's query: `undefined` is dropped, `null` becomes an empty value,
 * arrays repeat the key except for `__in` keys, which are comma-joined (README D13, D14).
 */
export function appendQuery(url: string, params: QueryParams | undefined): string {
  if (!params) return url;
  const parts: string[] = [];
  const add = (key: string, value: QueryScalar | null) =>
    parts.push(`${encodeURIComponent(key)}=${value === null ? '' : encodeURIComponent(String(value))}`);
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (key.endsWith('__in')) add(key, value.join(','));
      else for (const v of value) add(key, v);
    } else {
      add(key, value);
    }
  }
  if (parts.length === 0) return url;
  const hash = url.indexOf('#');
  const [head, fragment] = hash === -1 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
  const sep = head.includes('?') ? (head.endsWith('?') || head.endsWith('&') ? '' : '&') : '?';
  return `${head}${sep}${parts.join('&')}${fragment}`;
}

/** Removes the query and fragment of a URL: what may appear in logs and messages. */
export function stripQuery(url: string): string {
  return url.replace(/[?#].*$/, '');
}
