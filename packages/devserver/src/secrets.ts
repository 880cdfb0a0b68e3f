/**
 * Every value this server knows to be secret: the tokens it issued (access, user, agent), the
 * login passwords it saw, and secret-named values of release environments. What it stores for
 * display (job console lines, log records) and what it shows (dashboard pages, their live JSON,
 * the request recorder) passes through `text`/`value`, which mask these values as well as any
 * credential-shaped one (synapse-sdk's redaction); `sweep` is the last pass over a rendered page.
 * One registry per server, in its context: two servers in one process never share secrets.
 */
import { isSecretKey, type RedactOptions, redactText, redactValue, SecretSet } from 'synapse-sdk';
import type { Database } from './db/database.ts';

/** The emulator's own credential headers, secret although their names do not say so. */
const CREDENTIAL_HEADERS = /^synapse-(?:agent|user|tenant)$/i;
const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export class SecretRegistry {
  readonly known = new SecretSet();
  readonly #options: RedactOptions = { known: this.known, extraKeys: CREDENTIAL_HEADERS };

  /** Remembers a secret value (values too short to match safely are ignored by the set). */
  add(value: unknown): void {
    if (typeof value !== 'string') return;
    this.known.add(value);
    // As it appears in a rendered page and inside JSON text, so that the sweep finds it there too.
    this.known.add(value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]));
    this.known.add(JSON.stringify(value).slice(1, -1));
  }

  /** Secret-named entries of an environment (`DB_PASSWORD`, `API_TOKEN`...). */
  addEnv(env: Record<string, unknown>): void {
    for (const [key, value] of Object.entries(env)) if (isSecretKey(key)) this.add(value);
  }

  /** Loads the tokens issued before this start (a persistent data dir keeps them). */
  async load(db: Database): Promise<void> {
    for (const { token } of await db.query<{ token: string }>('SELECT token FROM tokens')) this.add(token);
  }

  /** A text with known and credential-shaped secrets masked. */
  text(text: string): string {
    return redactText(text, this.#options);
  }

  /** A JSON value with known and credential-shaped secrets masked (secret-named keys too). */
  value<T>(value: T): T {
    return redactValue(value, this.#options);
  }

  /** Only the known secrets masked: the final pass over a rendered page, which must keep its markup. */
  sweep(text: string): string {
    return this.known.maskIn(text);
  }

  /** `sweep` over every string of a JSON value (keys kept). */
  sweepValue<T>(value: T): T {
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.sweep(v);
      if (Array.isArray(v)) return v.map(walk);
      if (!v || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    };
    return walk(value) as T;
  }
}
