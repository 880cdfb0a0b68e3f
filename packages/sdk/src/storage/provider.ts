/**
 * A storage provider: the files of one platform storage (backend-api.md §13), whatever holds them
 * (a local folder, an S3-compatible bucket, an SFTP server, an HTTP server). Exports write to one;
 * uploads read from one. Paths are always relative to the storage's root, `/`-separated, and can
 * never leave it; messages name the storage (id, name, provider), never its credentials.
 */
import type { Readable } from 'node:stream';
import { redactText, SecretSet } from '../redact.ts';

/** One file under the root. */
export interface StorageEntry {
  /** Relative to the storage's root, `/`-separated, no leading `/`. */
  path: string;
  size: number;
}

export interface StorageProvider {
  /** How messages name this storage: `storage 3 "exports" (amazon_s3)`; no secret. */
  readonly label: string;
  /** Whether `write`/`remove` work (HTTP storages are read-only). */
  readonly writable: boolean;
  /** Reaches the storage and proves the credentials; a `StorageError` naming the storage when it cannot. */
  check(): Promise<void>;
  /** Writes a file, creating its folders; replaces a file already there. */
  write(path: string, data: string | Uint8Array | Readable): Promise<void>;
  /** The file's bytes as a stream; `StorageError` (code `not_found`) when there is none. */
  read(path: string): Promise<Readable>;
  /** Whether a file (not a folder) is at `path`. */
  exists(path: string): Promise<boolean>;
  /** Files under `prefix` (a folder, `''` for the root), recursively unless `recursive: false`. */
  list(prefix: string, options?: { recursive?: boolean }): AsyncIterable<StorageEntry>;
  /** Removes a file; nothing when there is none. */
  remove(path: string): Promise<void>;
  /** Where a file is, to show a user (`s3://bucket/key`, a local path); no credentials. */
  locate(path: string): string;
  /** Releases connections (SFTP sessions, HTTP agents). */
  close(): Promise<void>;
}

export type StorageErrorCode =
  | 'unreachable'
  | 'refused'
  | 'not_found'
  | 'unsafe_path'
  | 'read_only'
  /** The storage cannot do this at all (an HTTP server has no listing). */
  | 'unsupported'
  | 'invalid';

/** A storage operation that failed; the message names the storage and the path, never a secret. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    message: string,
    readonly code: StorageErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * What a provider keeps of a library's error as the `cause` of its own: the name, code and
 * message, with every secret of the storage and anything credential-shaped masked, and nothing else (a library's error can
 * carry the request it failed on, headers and signatures included).
 */
export function redactedCause(err: unknown, secrets: readonly string[]): Error {
  const known = new SecretSet(secrets);
  const scrub = (text: string) => redactText(text, { known });
  const source = err as { name?: unknown; code?: unknown; message?: unknown } | null | undefined;
  const cause = new Error(scrub(String(source?.message ?? err)));
  cause.name = scrub(typeof source?.name === 'string' ? source.name : 'Error');
  if (typeof source?.code === 'string' || typeof source?.code === 'number')
    Object.assign(cause, { code: typeof source.code === 'string' ? scrub(source.code) : source.code });
  // The stack would show the library's frames under a message that is already ours.
  cause.stack = `${cause.name}: ${cause.message}`;
  return cause;
}

/** At most this many path segments, and characters in a path: a bound on hostile names. */
const MAX_SEGMENTS = 64;
const MAX_PATH_LENGTH = 1024;

/**
 * A path relative to a storage's root, normalized (`a/./b` → `a/b`, no empty segments), or a
 * `StorageError` (`unsafe_path`) when it is absolute, climbs out (`..`), or holds a NUL,
 * backslash or control character. `''` is the root itself.
 */
export function storagePath(path: string, label: string): string {
  const refuse = (why: string) =>
    new StorageError(`${label}: path ${JSON.stringify(path.slice(0, 200))} ${why}`, 'unsafe_path');
  if (typeof path !== 'string') throw refuse('is not a string');
  if (path.length > MAX_PATH_LENGTH) throw refuse(`is longer than ${MAX_PATH_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw refuse('holds a control character or a backslash');
  if (path.startsWith('/')) throw refuse('is absolute (paths are relative to the storage root)');
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('leads out of the storage root');
  if (segments.length > MAX_SEGMENTS) throw refuse(`has more than ${MAX_SEGMENTS} segments`);
  return segments.join('/');
}

/** `storage 3 "exports" (amazon_s3)`. */
export function storageLabel(storage: { id: number; name?: string; provider?: string }): string {
  const name = storage.name ? ` ${JSON.stringify(storage.name)}` : '';
  return `storage ${storage.id}${name}${storage.provider ? ` (${storage.provider})` : ''}`;
}
