/**
 * The `file_system` storage provider on real folders: files in and out, listings, and every way a
 * path could leave the storage's root (`..`, absolute, a symbolic link) refused by name.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStorage, StorageError, type StorageProvider } from '../../src/index.ts';

let dir: string;
let root: string;
let storage: StorageProvider;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synapse-storage-'));
  root = join(dir, 'root');
  await mkdir(root);
  storage = openStorage({
    id: 7,
    name: 'exports',
    category: 'external',
    provider: 'file_system',
    configuration: { location: root },
    is_default: false,
  });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('file_system storage', () => {
  it('writes strings, bytes and streams into folders it creates, reads and lists them back', async () => {
    await storage.check();
    await storage.write('a/b/one.json', '{"x":1}');
    await storage.write('a/two.bin', new Uint8Array([1, 2, 3]));
    await storage.write('three.txt', Readable.from(['th', 'ree']));
    expect(await readFile(join(root, 'a/b/one.json'), 'utf8')).toBe('{"x":1}');
    expect(await text(await storage.read('three.txt'))).toBe('three');
    expect(await storage.exists('a/two.bin')).toBe(true);
    expect(await storage.exists('a')).toBe(false);
    const all = [];
    for await (const entry of storage.list('')) all.push(entry);
    expect(all).toEqual([
      { path: 'a/b/one.json', size: 7 },
      { path: 'a/two.bin', size: 3 },
      { path: 'three.txt', size: 5 },
    ]);
    const top = [];
    for await (const entry of storage.list('a', { recursive: false })) top.push(entry.path);
    expect(top).toEqual(['a/two.bin']);
    await storage.remove('a/two.bin');
    expect(await storage.exists('a/two.bin')).toBe(false);
    expect(storage.locate('a/./b//one.json')).toBe(join(root, 'a/b/one.json'));
  });

  it('refuses paths that leave the root, naming the storage and the path', async () => {
    await writeFile(join(dir, 'secret.txt'), 'outside');
    await symlink(dir, join(root, 'link'));
    for (const path of [
      '../secret.txt',
      'a/../../secret.txt',
      '/etc/passwd',
      'link/secret.txt',
      'a\\b',
      'a\u0000b',
    ]) {
      const err = await storage.read(path).catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('unsafe_path');
      expect((err as Error).message).toContain('storage 7 "exports" (file_system)');
    }
    await expect(storage.write('link/new.txt', 'x')).rejects.toMatchObject({ code: 'unsafe_path' });
    // The link is not followed by a listing either.
    const listed = [];
    for await (const entry of storage.list('')) listed.push(entry.path);
    expect(listed).toEqual([]);
  });

  it('says which storage is missing, unsupported or misconfigured', async () => {
    const gone = openStorage({
      id: 8,
      name: 'gone',
      category: 'external',
      provider: 'file_system',
      configuration: { location: join(dir, 'nope') },
      is_default: false,
    });
    await expect(gone.check()).rejects.toThrow(
      'storage 8 "gone" (file_system): its folder does not exist or cannot be read',
    );
    await expect(storage.read('missing.txt')).rejects.toMatchObject({ code: 'not_found' });
    expect(() =>
      openStorage({
        id: 9,
        name: 'x',
        category: 'external',
        provider: 'ftp',
        configuration: {},
        is_default: false,
      }),
    ).toThrow(
      'storage 9 "x" (ftp): provider "ftp" is not supported (supported: file_system, amazon_s3, minio, digital_ocean, sftp, http, https)',
    );
    expect(() =>
      openStorage({
        id: 10,
        name: 'y',
        category: 'external',
        provider: 'file_system',
        configuration: {},
        is_default: false,
      }),
    ).toThrow('storage 10 "y" (file_system): configuration.location is missing or not a string');
  });
});
