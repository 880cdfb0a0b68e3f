/**
 * What the dashboard shows of free-form data (job params, results, metrics, log lines), and what
 * `_emulator/requests` records of requests (headers, query, body): values under credential-like
 * keys are hidden, at any depth, and URL query strings (signatures of signed URLs) dropped.
 */

const SECRET_KEY =
  /token|password|passwd|secret|authorization|credential|api[-_]?key|access[-_]?key|private[-_]?key|cookie|session|signature|^synapse-(?:agent|user)$/i;
const URL_QUERY = /(https?:\/\/[^\s?#"'<>]+)\?[^\s#"'<>]*/gi;

export const REDACTED = '<redacted>';

/** Text with every URL's query string replaced. */
export function scrubText(text: string): string {
  return text.replace(URL_QUERY, `$1?${REDACTED}`);
}

/** A copy of a JSON value with secrets removed (keys matched case-insensitively, at any depth). */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return scrubText(value) as T;
  if (Array.isArray(value)) return value.map(redact) as T;
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? REDACTED : redact(v)]),
  ) as T;
}
