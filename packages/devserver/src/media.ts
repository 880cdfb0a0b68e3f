/**
 * Files on disk under the data directory: data files, model archives, plugin archives, chunked
 * upload parts, log attachments. Documents store `media/<path>`; responses show absolute URLs,
 * signed so that they work without a token until they expire, like the real platform's
 * presigned storage URLs (#11 item 3). A non-default tenant's files live under `tenants/<code>/`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from './db/database.ts';
import { currentTenant, DEFAULT_TENANT, type Tenancy, tenantMediaPrefix } from './tenancy.ts';

export const MEDIA_PREFIX = 'media/';

/** How long a media URL handed out by the API stays valid unless configured otherwise. */
export const DEFAULT_MEDIA_URL_TTL_SECONDS = 3600;
/** Upper bound of the configurable lifetime: a signed URL is a bearer credential. */
export const MAX_MEDIA_URL_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The key media URLs are signed with: random per data directory, kept in its settings so URLs
 * handed out before a restart stay valid, and never sent to a client.
 */
export async function mediaSigningKey(db: Database): Promise<Buffer> {
  await db.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
    'media_signing_key',
    JSON.stringify(randomBytes(32).toString('hex')),
  ]);
  const [row] = await db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [
    'media_signing_key',
  ]);
  return Buffer.from(row.value, 'hex');
}

/** The configured lifetime of signed media URLs, or an error naming the option and its bounds. */
export function mediaUrlTtl(ttl: number = DEFAULT_MEDIA_URL_TTL_SECONDS): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_MEDIA_URL_TTL_SECONDS) {
    throw new Error(
      `mediaUrlTtlSeconds must be a whole number of seconds from 1 to ${MAX_MEDIA_URL_TTL_SECONDS} (got ${ttl})`,
    );
  }
  return ttl;
}

/** How many recent media URL signatures a store remembers (a few MB at most). */
const SIGNATURES_KEPT = 10_000;

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

export interface MediaStoreOptions {
  tenancy: Tenancy;
  signingKey: Buffer;
  /** Lifetime of the signed URLs the API hands out. */
  urlTtlSeconds?: number;
}

export class MediaStore {
  readonly #tenancy: Tenancy;
  readonly #key: Buffer;
  readonly urlTtlSeconds: number;

  constructor(
    readonly root: string,
    opts: MediaStoreOptions,
  ) {
    this.#tenancy = opts.tenancy;
    this.#key = opts.signingKey;
    this.urlTtlSeconds = mediaUrlTtl(opts.urlTtlSeconds);
  }

  /** Absolute path of a media-relative path; null when it would escape the root. */
  resolve(relative: string): string | null {
    const path = normalize(join(this.root, relative));
    return path.startsWith(this.root + sep) ? path : null;
  }

  /**
   * The canonical form of a requested media path (`a/../b` is `b`), or null when it leaves the
   * root: a tenant's prefix and a signature are judged on this form, never on the spelling.
   */
  canonical(relative: string): string | null {
    const path = this.resolve(relative);
    return path
      ? path
          .slice(this.root.length + 1)
          .split(sep)
          .join('/')
      : null;
  }

  /** Where a new file named `relative` goes: under the current tenant's prefix. */
  #placed(relative: string): string {
    return tenantMediaPrefix(currentTenant(this.#tenancy) ?? DEFAULT_TENANT) + relative;
  }

  /** Writes a stream to `relative` atomically (a reader never sees half a file). */
  async write(name: string, source: Readable | Buffer): Promise<{ ref: string; size: number }> {
    const relative = this.#placed(name);
    const path = this.resolve(relative);
    if (!path) throw new Error(`Invalid media path: ${name}`);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.part`;
    try {
      if (Buffer.isBuffer(source)) await pipeline([source], createWriteStream(partial));
      else await pipeline(source, createWriteStream(partial));
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return { ref: MEDIA_PREFIX + relative, size: (await stat(path)).size };
  }

  /** Moves a file already on disk (e.g. an assembled chunked upload) into the store. */
  async adopt(file: string, name: string): Promise<string> {
    const relative = this.#placed(name);
    const path = this.resolve(relative);
    if (!path) throw new Error(`Invalid media path: ${name}`);
    await mkdir(dirname(path), { recursive: true });
    await rename(file, path);
    return MEDIA_PREFIX + relative;
  }

  pathOf(ref: string): string | null {
    return ref.startsWith(MEDIA_PREFIX) ? this.resolve(ref.slice(MEDIA_PREFIX.length)) : null;
  }

  /**
   * Signatures computed in the current expiry step: every response that lists a file signs its
   * URL, and the expiry is rounded (see `signedPath`) so the same file signs the same message for
   * minutes. Bounded: emptied when it grows past `SIGNATURES_KEPT`.
   */
  readonly #signatures = new Map<string, string>();

  #signature(relative: string, expires: number): string {
    const message = `${relative}\n${expires}`;
    let signature = this.#signatures.get(message);
    if (signature === undefined) {
      signature = createHmac('sha256', this.#key).update(message).digest('hex');
      if (this.#signatures.size >= SIGNATURES_KEPT) this.#signatures.clear();
      this.#signatures.set(message, signature);
    }
    return signature;
  }

  /**
   * `/media/<relative>?expires=&signature=`, valid for at least the configured lifetime. The
   * expiry is rounded up to 5 minutes (for lifetimes of 10 minutes or more) so that the same
   * object read twice in a row shows the same URL, as clients compare and cache by URL.
   */
  signedPath(relative: string, nowMs = Date.now()): string {
    const step = this.urlTtlSeconds >= 600 ? 300 : 1;
    const expires = Math.ceil((nowMs / 1000 + this.urlTtlSeconds) / step) * step;
    const path = relative.split('/').map(encodeURIComponent).join('/');
    return `/${MEDIA_PREFIX}${path}?expires=${expires}&signature=${this.#signature(relative, expires)}`;
  }

  /** The absolute signed URL of a stored `media/...` reference. */
  signedUrl(baseUrl: string, ref: string): string {
    return `${baseUrl}${this.signedPath(ref.startsWith(MEDIA_PREFIX) ? ref.slice(MEDIA_PREFIX.length) : ref)}`;
  }

  /** Checks a signed media URL's query for `relative`; the signature is compared in constant time. */
  checkSignature(relative: string, expires: unknown, signature: unknown, nowMs = Date.now()): SignatureCheck {
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return 'invalid';
    if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return 'invalid';
    const expected = Buffer.from(this.#signature(relative, Number(expires)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'invalid';
    return Number(expires) * 1000 < nowMs ? 'expired' : 'valid';
  }
}

/**
 * Replaces stored `media/...` references in `file`/`url` fields with absolute, signed URLs. Parts
 * without a reference are returned as they are (not copied): a task's annotation data is walked
 * but not rebuilt.
 */
export function renderMediaUrls<T>(value: T, baseUrl: string, media: MediaStore): T {
  if (!value || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const rendered = renderMediaUrls(item, baseUrl, media);
      if (rendered === item) continue;
      out ??= value.slice();
      out[i] = rendered;
    }
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const rendered =
      (k === 'file' || k === 'url') && typeof v === 'string' && v.startsWith(MEDIA_PREFIX)
        ? media.signedUrl(baseUrl, v)
        : renderMediaUrls(v, baseUrl, media);
    if (rendered === v) continue;
    out ??= { ...(value as Record<string, unknown>) };
    out[k] = rendered;
  }
  return (out ?? value) as T;
}
