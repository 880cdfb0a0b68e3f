/**
 * The `file_system` provider: a folder on this machine (`configuration.location`). A path that
 * reaches outside the folder through a symbolic link is refused like `..` is.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, opendir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type StorageEntry, StorageError, type StorageProvider, storagePath } from './provider.ts';

export class LocalStorage implements StorageProvider {
  readonly writable = true;

  constructor(
    readonly root: string,
    readonly label: string,
  ) {}

  async check(): Promise<void> {
    const info = await stat(this.root).catch((cause) => {
      throw new StorageError(`${this.label}: its folder does not exist or cannot be read`, 'unreachable', {
        cause,
      });
    });
    if (!info.isDirectory()) throw new StorageError(`${this.label}: its location is not a folder`, 'invalid');
  }

  async write(path: string, data: string | Uint8Array | Readable): Promise<void> {
    const file = await this.#file(path, 'write');
    await mkdir(dirname(file), { recursive: true });
    // Written aside and renamed: a reader never sees half a file, and a failed write leaves none.
    const partial = `${file}.partial-${randomUUID()}`;
    try {
      const source = data instanceof Readable ? data : Readable.from([data]);
      await pipeline(source, createWriteStream(partial));
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  async read(path: string): Promise<Readable> {
    const file = await this.#file(path, 'read');
    if (!(await this.exists(path))) throw new StorageError(`${this.label}: no file ${path}`, 'not_found');
    return createReadStream(file);
  }

  async exists(path: string): Promise<boolean> {
    const file = await this.#file(path, 'read');
    return (await stat(file).catch(() => undefined))?.isFile() ?? false;
  }

  async *list(prefix: string, options: { recursive?: boolean } = {}): AsyncIterable<StorageEntry> {
    const start = await this.#file(prefix, 'read');
    if (!(await stat(start).catch(() => undefined))?.isDirectory()) return;
    const rootReal = await realpath(this.root);
    const walk = async function* (dir: string): AsyncGenerator<StorageEntry> {
      // Sorted per folder: listings are stable from run to run.
      const entries = [];
      for await (const entry of await opendir(dir)) entries.push(entry);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isFile()) {
          yield { path: relative(rootReal, full).split(sep).join('/'), size: (await lstat(full)).size };
        } else if (entry.isDirectory() && options.recursive !== false) {
          yield* walk(full);
        }
        // Symbolic links are not followed: one could lead out of the root.
      }
    };
    yield* walk(await realpath(start));
  }

  async remove(path: string): Promise<void> {
    await rm(await this.#file(path, 'write'), { force: true });
  }

  locate(path: string): string {
    return join(this.root, storagePath(path, this.label));
  }

  async close(): Promise<void> {}

  /** The file for `path`, after checking that it and the folders leading to it stay in the root. */
  async #file(path: string, _use: 'read' | 'write'): Promise<string> {
    const file = join(this.root, storagePath(path, this.label));
    const rootReal = await realpath(this.root).catch((cause) => {
      throw new StorageError(`${this.label}: its folder does not exist or cannot be read`, 'unreachable', {
        cause,
      });
    });
    // The deepest part of the path that exists, resolved: a link anywhere on it is followed here.
    let existing = file;
    for (;;) {
      const real = await realpath(existing).catch(() => undefined);
      if (real !== undefined) {
        const inside = relative(rootReal, real);
        if (inside === '..' || inside.startsWith(`..${sep}`))
          throw new StorageError(
            `${this.label}: path ${JSON.stringify(path)} leads out of the storage root`,
            'unsafe_path',
          );
        return file;
      }
      const parent = dirname(existing);
      if (parent === existing) return file;
      existing = parent;
    }
  }
}
