/**
 * The `sftp` provider: a folder (`root_path`) on an SSH server, over one SFTP session per
 * provider, opened on first use and ended by `close()`. Configuration keys as the platform's
 * Python SDK reads them: `host`, `port` (22), `username`, `password` or `private_key` (the key
 * itself or the path of a key file) with `private_key_passphrase`, `root_path` (`/`).
 * A path that leads out of the root through a symbolic link on the server is refused like `..`.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client, ConnectConfig, SFTPWrapper, Stats } from 'ssh2';
import {
  redactedCause,
  type StorageEntry,
  StorageError,
  type StorageProvider,
  storagePath,
} from './provider.ts';

export interface SftpStorageOptions {
  host: string;
  port?: number;
  username: string;
  password?: string;
  /** A private key (PEM/OpenSSH text) or the path of a file holding one. */
  privateKey?: string;
  passphrase?: string;
  /** The storage's folder on the server (absolute; `/` by default). */
  root?: string;
  /** Connecting and the SSH handshake, in milliseconds (default 10 s). */
  connectTimeoutMs?: number;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02, section 7) that mean something here. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** Files up to this size are read in one call rather than streamed. */
const SMALL_FILE = 256 * 1024;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

interface Session {
  client: Client;
  sftp: SFTPWrapper;
  /** The root as the server resolves it (links followed): what every path must stay under. */
  rootReal: string;
}

/** A callback-style SFTP call as a promise. */
function call<T = void>(
  start: (done: (err: Error | null | undefined, value?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

export class SftpStorage implements StorageProvider {
  readonly writable = true;
  readonly #options: SftpStorageOptions;
  readonly #root: string;
  readonly #secrets: string[];
  #session?: Promise<Session>;
  /** Folders known to exist: writing many files into one folder checks it once. */
  readonly #folders = new Set<string>();

  constructor(
    options: SftpStorageOptions,
    readonly label: string,
  ) {
    this.#options = options;
    this.#root = posix.normalize(options.root || '/');
    if (!this.#root.startsWith('/'))
      throw new StorageError(`${label}: configuration.root_path must be an absolute path`, 'invalid');
    this.#secrets = [options.password, options.privateKey, options.passphrase].filter(
      (s): s is string => typeof s === 'string' && s !== '',
    );
  }

  async check(): Promise<void> {
    const { sftp, rootReal } = await this.#connect();
    const info = await call<Stats>((done) => sftp.stat(rootReal, done)).catch((err) => {
      throw this.#error(err, '');
    });
    if ((info.mode & S_IFMT) !== S_IFDIR)
      throw new StorageError(`${this.label}: its root_path is not a folder`, 'invalid');
  }

  async write(path: string, data: string | Uint8Array | Readable): Promise<void> {
    const { sftp, file } = await this.#resolve(path, 'entry');
    await this.#mkdirs(sftp, posix.dirname(file)).catch((err) => {
      throw this.#error(err, path);
    });
    // Written aside and renamed: a reader never sees half a file, and a failed write leaves none.
    const partial = `${file}.partial-${randomUUID().slice(0, 8)}`;
    try {
      if (data instanceof Readable) {
        const out = sftp.createWriteStream(partial);
        // The handle is closed after 'finish'; renaming before that could move an open file.
        const closed = new Promise((resolve, reject) => {
          out.once('close', resolve);
          out.once('error', reject);
        });
        closed.catch(() => {}); // pipeline reports the same error when it comes first
        await pipeline(data, out);
        await closed;
      } else {
        // Bytes in hand go in one call: a stream's machinery costs more than a small file's transfer.
        await call((done) =>
          sftp.writeFile(
            partial,
            typeof data === 'string'
              ? Buffer.from(data)
              : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
            done,
          ),
        );
      }
      await call((done) => sftp.ext_openssh_rename(partial, file, done)).catch(async () => {
        // Servers without OpenSSH's rename refuse to rename onto an existing file.
        await call((done) => sftp.unlink(file, done)).catch(() => {});
        await call((done) => sftp.rename(partial, file, done));
      });
    } catch (err) {
      await call((done) => sftp.unlink(partial, done)).catch(() => {});
      throw this.#error(err, path);
    }
  }

  async read(path: string): Promise<Readable> {
    const { sftp, file } = await this.#resolve(path);
    const info = await call<Stats>((done) => sftp.stat(file, done)).catch((err) => {
      throw this.#error(err, path);
    });
    if ((info.mode & S_IFMT) !== S_IFREG)
      throw new StorageError(`${this.label}: no file ${path}`, 'not_found');
    // A small file comes in one call (the size is known here); a stream's machinery costs more
    // than its transfer.
    if (info.size <= SMALL_FILE) {
      const bytes = await call<Buffer>((done) => sftp.readFile(file, done)).catch((err) => {
        throw this.#error(err, path);
      });
      return Readable.from([bytes]);
    }
    const source = sftp.createReadStream(file);
    const out = new PassThrough();
    // Once every byte is through, a failure to close the remote handle (the session ended
    // meanwhile) no longer matters to the reader; before that it is the reader's error.
    source.on('error', (err: Error) => {
      if (!out.writableFinished) out.destroy(this.#error(err, path));
    });
    out.on('close', () => source.destroy());
    return source.pipe(out);
  }

  async exists(path: string): Promise<boolean> {
    const { sftp, file } = await this.#resolve(path);
    try {
      const info = await call<Stats>((done) => sftp.stat(file, done));
      return (info.mode & S_IFMT) === S_IFREG;
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_FILE) return false;
      throw this.#error(err, path);
    }
  }

  async *list(prefix: string, options: { recursive?: boolean } = {}): AsyncIterable<StorageEntry> {
    const { sftp, file: start } = await this.#resolve(prefix);
    // A prefix that is no folder lists nothing, as a local folder does.
    const info = await call<Stats>((done) => sftp.stat(start, done)).catch(() => undefined);
    if (!info || (info.mode & S_IFMT) !== S_IFDIR) return;
    yield* this.#walk(sftp, start, storagePath(prefix, this.label), options.recursive !== false);
  }

  async *#walk(
    sftp: SFTPWrapper,
    dir: string,
    relative: string,
    recursive: boolean,
  ): AsyncGenerator<StorageEntry> {
    const entries = await call<Array<{ filename: string; attrs: Stats }>>((done) =>
      sftp.readdir(dir, done),
    ).catch((err) => {
      throw this.#error(err, relative);
    });
    // Sorted per folder: listings are stable from run to run.
    entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    for (const { filename, attrs } of entries) {
      if (filename === '.' || filename === '..') continue;
      const path = relative ? `${relative}/${filename}` : filename;
      const type = attrs.mode & S_IFMT;
      if (type === S_IFREG) yield { path, size: attrs.size };
      else if (type === S_IFDIR && recursive)
        yield* this.#walk(sftp, posix.join(dir, filename), path, recursive);
      // Symbolic links are not followed: one could lead out of the root.
    }
  }

  async remove(path: string): Promise<void> {
    const { sftp, file } = await this.#resolve(path, 'entry');
    await call((done) => sftp.unlink(file, done)).catch((err) => {
      if ((err as { code?: unknown }).code !== NO_SUCH_FILE) throw this.#error(err, path);
    });
  }

  locate(path: string): string {
    const port = this.#options.port ?? 22;
    return `sftp://${this.#options.host}${port === 22 ? '' : `:${port}`}${posix.join(this.#root, storagePath(path, this.label))}`;
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    const { client } = await session.catch(() => ({ client: undefined }));
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.end();
    });
  }

  /** The session (connected on first use; again after the server dropped it). */
  #connect(): Promise<Session> {
    if (!this.#session) {
      const opening = this.#open();
      this.#session = opening;
      const forget = () => {
        if (this.#session === opening) this.#session = undefined;
        this.#folders.clear();
      };
      // Later failures (the server went away) end this session; the next call opens a new one.
      opening.then((session) => session.client.once('close', forget), forget);
    }
    return this.#session;
  }

  async #open(): Promise<Session> {
    const o = this.#options;
    let privateKey: string | Buffer | undefined;
    if (o.privateKey) {
      // The platform may hold the key itself or, like the Python SDK's key_filename, its path.
      privateKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(o.privateKey)
        ? o.privateKey
        : await readFile(o.privateKey).catch(() => {
            throw new StorageError(
              `${this.label}: the file named by configuration.private_key cannot be read`,
              'invalid',
            );
          });
    }
    const config: ConnectConfig = {
      host: o.host,
      port: o.port ?? 22,
      username: o.username,
      password: o.password,
      privateKey,
      passphrase: o.passphrase,
      readyTimeout: o.connectTimeoutMs ?? 10_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
    };
    // Loaded on first use, like the AWS SDK: most importers of synapse-sdk never open a session.
    const { Client } = await import('ssh2');
    const client = new Client();
    const session = await new Promise<Session>((resolve, reject) => {
      client.once('error', (err) => reject(this.#error(err, '')));
      client.once('ready', () => {
        client.sftp(async (err, sftp) => {
          if (err) return reject(this.#error(err, ''));
          try {
            const rootReal = await call<string>((done) => sftp.realpath(this.#root, done));
            resolve({ client, sftp, rootReal });
          } catch (err) {
            reject(
              (err as { code?: unknown }).code === NO_SUCH_FILE
                ? new StorageError(`${this.label}: its root_path does not exist on the server`, 'not_found', {
                    cause: redactedCause(err, this.#secrets),
                  })
                : this.#error(err, ''),
            );
          }
        });
      });
      try {
        client.connect(config);
      } catch (err) {
        // ssh2 checks the key before connecting (format, passphrase).
        const cause = redactedCause(err, this.#secrets);
        reject(
          new StorageError(
            `${this.label}: configuration.private_key cannot be used (${cause.message})`,
            'invalid',
            { cause },
          ),
        );
      }
    }).catch((err) => {
      client.end();
      throw err;
    });
    // Errors after the handshake end the connection ('close'), which ends this session.
    client.on('error', () => {});
    return session;
  }

  /**
   * The session and the server path for `path`, after checking it stays in the root. `write` and
   * `remove` change the entry itself (a rename or unlink replaces a symbolic link, it does not
   * follow it), so for them only the folder must lead nowhere else, and a folder this provider
   * has already checked and made (or found) is not asked about again.
   */
  async #resolve(path: string, use: 'follow' | 'entry' = 'follow'): Promise<Session & { file: string }> {
    const relative = storagePath(path, this.label);
    const session = await this.#connect();
    const file = posix.join(session.rootReal, relative);
    if (use === 'entry' && this.#folders.has(posix.dirname(file))) return { ...session, file };
    // The deepest part of the path that exists, resolved by the server: a link anywhere on it
    // is followed there.
    let existing = use === 'entry' && relative !== '' ? posix.dirname(file) : file;
    for (;;) {
      const real = await call<string>((done) => session.sftp.realpath(existing, done)).catch(() => undefined);
      if (real !== undefined) {
        const inside = posix.relative(session.rootReal, real);
        if (inside === '..' || inside.startsWith('../') || posix.isAbsolute(inside))
          throw new StorageError(
            `${this.label}: path ${JSON.stringify(path)} leads out of the storage root`,
            'unsafe_path',
          );
        return { ...session, file };
      }
      if (existing === session.rootReal) return { ...session, file };
      existing = posix.dirname(existing);
    }
  }

  async #mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (this.#folders.has(dir)) return;
    const info = await call<Stats>((done) => sftp.stat(dir, done)).catch(() => undefined);
    if (!info) {
      await this.#mkdirs(sftp, posix.dirname(dir));
      await call((done) => sftp.mkdir(dir, done)).catch(async (err) => {
        // Made meanwhile by another writer: fine when it is a folder now.
        const now = await call<Stats>((done) => sftp.stat(dir, done)).catch(() => undefined);
        if (!now || (now.mode & S_IFMT) !== S_IFDIR) throw err;
      });
    } else if ((info.mode & S_IFMT) !== S_IFDIR) {
      throw new StorageError(`${this.label}: ${dir} is a file, not a folder`, 'invalid');
    }
    this.#folders.add(dir);
  }

  /** ssh2's error as a StorageError naming the storage and the path, without credentials. */
  #error(err: unknown, path: string): StorageError {
    if (err instanceof StorageError) return err;
    const e = err as { level?: string; code?: unknown };
    const cause = redactedCause(err, this.#secrets);
    const where =
      this.#options.port && this.#options.port !== 22
        ? `${this.#options.host}:${this.#options.port}`
        : this.#options.host;
    if (e.level === 'client-authentication')
      return new StorageError(`${this.label}: ${where} refused the credentials`, 'refused', { cause });
    if (e.level !== undefined || typeof e.code === 'string')
      // client-socket, client-timeout, handshake, protocol: no working connection.
      return new StorageError(
        `${this.label}: ${where} could not be reached (${typeof e.code === 'string' ? e.code : e.level})`,
        'unreachable',
        { cause },
      );
    if (e.code === NO_SUCH_FILE)
      return new StorageError(`${this.label}: no file ${path}`, 'not_found', { cause });
    if (e.code === PERMISSION_DENIED)
      return new StorageError(`${this.label}: the server refused access to ${path}`, 'refused', { cause });
    return new StorageError(`${this.label}: the server failed on ${path || 'its root'}`, 'invalid', {
      cause,
    });
  }
}
