/**
 * Masking of credentials in text and JSON before it is shown or stored for display (the
 * dashboard, job console logs and log records, CLI output). One implementation for the SDK, the
 * CLI and the devserver. Two kinds of secret are masked:
 * - credential-shaped values, found by their shape: URL userinfo passwords, `key=value` /
 *   `"key": "value"` pairs under secret-ish keys (DSN `password=`, query `token=`/`signature=`),
 *   `Authorization`-like header values (`Bearer`/`Token`/`Basic` credentials), `syn_...` tokens
 *   and JWT-shaped strings;
 * - values known to be secret (tokens a server issued, passwords), wherever they appear.
 * A masked fragment becomes `***` (the text around it stays readable); a whole JSON value under
 * a secret-ish key becomes `<redacted>`.
 */

/** What replaces a secret inside a text. */
export const MASK = '***';
/** What replaces a whole JSON value under a secret-ish key. */
export const REDACTED = '<redacted>';

/** Known secrets shorter than this are not masked: they would match ordinary words and numbers. */
export const MIN_KNOWN_SECRET_LENGTH = 8;
/** Nested JSON deeper than this is cut (hostile input must not exhaust the stack). */
const MAX_DEPTH = 64;

/** Last words of a key that name a credential (`access_token`, `X-Amz-Signature`, `dbPassword`). */
const SECRET_WORDS = new Set([
  'token',
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'cookie',
  'signature',
  'sig',
  'apikey',
  'dsn',
  'bearer',
]);
/** `<word>_key` pairs that name a credential (`api_key`, `secret_access_key`). */
const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'secret',
  'private',
  'signing',
  'encryption',
  'master',
  'client',
]);

/** The words of a key: camelCase and any separator split, lower case. */
function keyWords(key: string): string[] {
  return key
    .slice(0, 128)
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * True for keys that hold a credential: the last word is a credential word (`token`, not
 * `token_count`), or `key` qualified by `api`, `access`, `secret`...
 */
export function isSecretKey(key: string): boolean {
  const words = keyWords(key);
  const last = words.at(-1);
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  return last === 'key' && words.length > 1 && KEY_QUALIFIERS.has(words[words.length - 2]);
}

/** A set of exact secret values, matched anywhere in a text (one compiled pattern, rebuilt on change). */
export class SecretSet {
  readonly #values = new Set<string>();
  #pattern: RegExp | null = null;
  #dirty = false;

  constructor(values: Iterable<string> = []) {
    for (const v of values) this.add(v);
  }

  /** Remembers a secret; values shorter than MIN_KNOWN_SECRET_LENGTH are ignored. */
  add(value: string | null | undefined): void {
    if (typeof value !== 'string' || value.length < MIN_KNOWN_SECRET_LENGTH || this.#values.has(value))
      return;
    this.#values.add(value);
    this.#dirty = true;
  }

  has(value: string): boolean {
    return this.#values.has(value);
  }

  get size(): number {
    return this.#values.size;
  }

  /** The text with every known secret replaced by `***`. */
  maskIn(text: string): string {
    if (this.#values.size === 0) return text;
    if (this.#dirty || !this.#pattern) {
      // Longest first, so that a secret containing another is masked whole.
      const alternatives = [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.#pattern = new RegExp(alternatives.join('|'), 'g');
      this.#dirty = false;
    }
    return text.replace(this.#pattern, MASK);
  }
}

export interface RedactOptions {
  /** Exact values to mask wherever they appear. */
  known?: SecretSet;
  /** Further keys whose values are secret (e.g. a server's own credential headers). */
  extraKeys?: RegExp;
}

const SCHEMES = '(?:Bearer|Token|Basic|Digest|JWT|Negotiate)';

/** `scheme://user:password@host`: the password (greedy up to the last `@` before the path). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:@/?#]{0,256}):([^\s/?#]{1,1024})@/gi;
/**
 * `key=value`, `key: value`, `"key": "value"` (JSON, DSN, query strings, headers); the value may
 * start with an auth scheme word, which is kept. Only keys ending in a credential word are
 * candidates (so that a harmless `key: value` cannot swallow a secret pair after it), and
 * `isSecretKey` has the last say. A key right after a slash is a path segment (`/etc/passwd:X`).
 */
const KEY_VALUE = new RegExp(
  `(["']?)(?<![/\\\\])\\b((?:[A-Za-z][\\w.-]{0,62}?)?(?:${[...SECRET_WORDS, 'key'].join('|')}))\\1(\\s{0,8}[:=](?!//)\\s{0,8})((?:${SCHEMES}\\s+)?)` +
    `("(?:[^"\\\\\\n]|\\\\.){0,4096}"|'(?:[^'\\\\\\n]|\\\\.){0,4096}'|[^\\s,;&"'<>)}\\]]{1,4096})`,
  'gi',
);
/** A credential after an auth scheme word, anywhere (`-H "Authorization: Bearer x"`, `Basic dXNl...`). */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic|Digest|JWT)(\s+)(?!\*\*\*)([A-Za-z0-9\-._~+/]{8,4096}=*)/g;
/** `Token <t>` only when <t> looks like a token (long), since "token" is an ordinary word. */
const TOKEN_CREDENTIAL = /\b(Token)(\s+)(?!\*\*\*)([A-Za-z0-9\-._~+/]{16,4096}=*)/g;
/** Synapse tokens. */
const SYN_TOKEN = /\bsyn_[A-Za-z0-9_-]{8,4096}/g;
/** Three base64url parts, the first two JSON objects (`eyJ` is `{"`). */
const JWT = /\beyJ[A-Za-z0-9_-]{4,4096}\.eyJ[A-Za-z0-9_-]{4,8192}\.[A-Za-z0-9_-]{0,4096}/g;

/** The text with credentials masked (see the module comment). */
export function redactText(text: string, opts: RedactOptions = {}): string {
  let out = opts.known ? opts.known.maskIn(text) : text;
  out = out.replace(URL_USERINFO, `$1:${MASK}@`);
  out = out.replace(KEY_VALUE, (whole, quote, key, sep, scheme, value: string) => {
    if (!(isSecretKey(key) || opts.extraKeys?.test(key))) return whole;
    // `Authorization: Bearer` alone: the credential after it is masked by SCHEME_CREDENTIAL.
    if (!scheme && new RegExp(`^${SCHEMES}$`, 'i').test(value)) return whole;
    const q = value[0] === '"' || value[0] === "'" ? value[0] : '';
    return `${quote}${key}${quote}${sep}${scheme}${q}${MASK}${q}`;
  });
  out = out.replace(SCHEME_CREDENTIAL, `$1$2${MASK}`).replace(TOKEN_CREDENTIAL, `$1$2${MASK}`);
  return out.replace(SYN_TOKEN, `syn_${MASK}`).replace(JWT, MASK);
}

/**
 * A copy of a JSON value with credentials masked: values under secret-ish keys (at any depth)
 * become `<redacted>` (null stays null), strings are masked as by `redactText`.
 */
export function redactValue<T>(value: T, opts: RedactOptions = {}): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return redactText(v, opts);
    if (!v || typeof v !== 'object') return v;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    return Object.fromEntries(
      Object.entries(v).map(([k, item]) => [
        k,
        item !== null && item !== undefined && (isSecretKey(k) || opts.extraKeys?.test(k))
          ? REDACTED
          : walk(item, depth + 1),
      ]),
    );
  };
  return walk(value, 0) as T;
}
