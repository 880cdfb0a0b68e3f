/**
 * The `sftp` provider against a real OpenSSH server started by scripts/sftp-server.sh: files in
 * and out over one reused session, listings, paths (and a symbolic link on the server) that would
 * leave the root, refused credentials and an unreachable server named without their secrets, and
 * a storage record of the local platform opened as it is fetched.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { utils } from 'ssh2';
import type { Storage } from 'synapse-core';
import { afterAll, describe, expect, it } from 'vitest';
import { installStorageServer, useStorageServer } from '../../../../test-support/storage-servers.ts';
import { openStorage, StorageError, type StorageProvider } from '../../src/index.ts';
import { closedPort, useSharedPlatform } from '../helpers.ts';
import { collect, expectNoSecret, expectRunsBack, patternStream } from './support.ts';

const unavailable = await installStorageServer('sftp');
if (unavailable) console.warn(`SFTP storage tests skipped: ${unavailable}`);

const record = (configuration: Record<string, unknown>): Storage => ({
  id: 52,
  name: 'sftp-exports',
  category: 'external',
  provider: 'sftp',
  configuration,
  is_default: false,
});
const LABEL = 'storage 52 "sftp-exports" (sftp)';

describe.skipIf(unavailable)('sftp storage on a real OpenSSH server', () => {
  const server = useStorageServer('sftp');
  const h = useSharedPlatform();
  const opened: StorageProvider[] = [];
  const open = (configuration: Record<string, unknown>) => {
    const storage = openStorage(record(configuration));
    opened.push(storage);
    return storage;
  };
  afterAll(() => Promise.all(opened.map((s) => s.close())));
  /** The sessions the server has let in so far. */
  const logins = async () =>
    ((await readFile(join(server.dir, 'sshd.log'), 'utf8')).match(/Accepted /g) ?? []).length;

  it('writes strings, bytes and a stream of a few MiB over one session, reads, lists and removes them', async () => {
    const before = await logins();
    const storage = open(server.configuration);
    await storage.check();
    const size = 5 * 1024 * 1024 + 123;
    const big = patternStream(size, 'sftp');
    await storage.write('runs/1/big.bin', big.stream);
    await storage.write('runs/1/a/one.json', '{"x":1}');
    await storage.write('runs/2.txt', new Uint8Array([1, 2, 3]));
    // The files are where the server keeps them (the listing below shows nothing half-written).
    const root = (server.configuration as { root_path: string }).root_path;
    expect(await readFile(join(root, 'runs/1/a/one.json'), 'utf8')).toBe('{"x":1}');
    await expectRunsBack(storage, big.sha256, size);
    expect(await collect(storage.list('runs/2.txt'))).toEqual([]);
    await expect(storage.write('runs/2.txt/inner.txt', 'x')).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(
        /^storage 52 "sftp-exports" \(sftp\): \/.*\/runs\/2\.txt is a file, not a folder$/,
      ),
    });
    await storage.write('runs/2.txt', Readable.from(['two']));
    expect(await text(await storage.read('runs/2.txt'))).toBe('two');
    await storage.remove('runs/2.txt');
    await storage.remove('runs/2.txt');
    expect(await storage.exists('runs/2.txt')).toBe(false);
    await expect(storage.read('runs/2.txt')).rejects.toMatchObject({
      code: 'not_found',
      message: `${LABEL}: no file runs/2.txt`,
    });
    const { port } = server.configuration as { port: number };
    expect(storage.locate('runs//1/big.bin')).toBe(`sftp://127.0.0.1:${port}${root}/runs/1/big.bin`);
    // All of it over the one session the provider opened.
    expect((await logins()) - before).toBe(1);
  });

  it('closes right after a read without an error left behind', async () => {
    const writer = open(server.configuration);
    await writer.write('closing/file.txt', 'x'.repeat(100_000));
    // The remote handle closes after the last byte; a session ended meanwhile must not turn
    // that into an error nobody listens to (vitest fails the file on one).
    for (let round = 0; round < 8; round++) {
      const storage = openStorage(record(server.configuration));
      expect((await text(await storage.read('closing/file.txt'))).length).toBe(100_000);
      await storage.close();
    }
  });

  it('takes the private key itself as well as the path of its file', async () => {
    const { private_key } = server.configuration as { private_key: string };
    const storage = open({ ...server.configuration, private_key: await readFile(private_key, 'utf8') });
    await storage.write('inline/key.txt', 'by key text');
    expect(await text(await storage.read('inline/key.txt'))).toBe('by key text');
  });

  it('refuses paths that leave the root, a symbolic link on the server included', async () => {
    const root = (server.configuration as { root_path: string }).root_path;
    await mkdir(join(root, 'inside'), { recursive: true });
    // A link in the root to the folder above it, where the server's keys are.
    await symlink(server.dir, join(root, 'inside', 'up'));
    const storage = open(server.configuration);
    for (const path of ['../host_key', 'a/../../host_key', '/etc/passwd', 'a\\b', 'inside/up/host_key']) {
      for (const attempt of [
        () => storage.read(path),
        () => storage.write(path, 'x'),
        () => storage.exists(path),
        () => storage.remove(path),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err, path).toBeInstanceOf(StorageError);
        expect((err as StorageError).code, path).toBe('unsafe_path');
        expect((err as Error).message).toContain(`${LABEL}: path`);
      }
    }
    await expect(storage.write('inside/up/new.txt', 'x')).rejects.toMatchObject({ code: 'unsafe_path' });
    // A listing does not follow the link either.
    expect(await collect(storage.list('inside'))).toEqual([]);
  });

  it('says the server refused the credentials, without the key, passphrase or password', async () => {
    const other = utils.generateKeyPairSync('ed25519', {
      passphrase: 'a passphrase nobody knows',
      cipher: 'aes256-cbc',
      rounds: 16,
    });
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const cases = [
      {
        configuration: {
          ...server.configuration,
          private_key: other.private,
          private_key_passphrase: 'a passphrase nobody knows',
        },
      },
      { configuration: { ...server.configuration, private_key: undefined, password } },
    ];
    const ownKey = await readFile((server.configuration as { private_key: string }).private_key, 'utf8');
    for (const { configuration } of cases) {
      const storage = open(configuration);
      for (const attempt of [
        () => storage.check(),
        () => storage.read('a.txt'),
        () => storage.write('a.txt', 'x'),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('refused');
        expect((err as Error).message).toMatch(
          /^storage 52 "sftp-exports" \(sftp\): 127\.0\.0\.1:\d+ refused the credentials$/,
        );
        expectNoSecret(err, [other.private, 'a passphrase nobody knows', password, ownKey]);
      }
    }
    // A key that cannot be opened is the configuration's fault, named without the key.
    const locked = open({
      ...server.configuration,
      private_key: other.private,
      private_key_passphrase: 'not it',
    });
    const err = await locked.check().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid' });
    expect((err as Error).message).toContain(`${LABEL}: configuration.private_key cannot be used`);
    expectNoSecret(err, [other.private, 'not it']);
  });

  it('says an unreachable server cannot be reached', { timeout: 60_000 }, async () => {
    const storage = open({ ...server.configuration, port: await closedPort() });
    const err = await storage.check().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unreachable' });
    expect((err as Error).message).toMatch(
      /^storage 52 "sftp-exports" \(sftp\): 127\.0\.0\.1:\d+ could not be reached \(ECONNREFUSED\)$/,
    );
    const missing = open({ ...server.configuration, root_path: '/no/such/folder' });
    await expect(missing.check()).rejects.toMatchObject({
      code: 'not_found',
      message: `${LABEL}: its root_path does not exist on the server`,
    });
  });

  it('opens a storage record of the local platform as the client fetches it', async () => {
    const { storages } = await h.admin('POST', '_emulator/fixtures', {
      storages: [
        { name: 'sftp-exports', category: 'external', provider: 'sftp', configuration: server.configuration },
      ],
    });
    const fetched = await h.client.getStorage(storages[0]);
    expect(fetched.configuration).toEqual(server.configuration);
    const storage = openStorage(fetched);
    opened.push(storage);
    expect(storage.label).toBe(`storage ${storages[0]} "sftp-exports" (sftp)`);
    await storage.check();
    await storage.write('platform/hello.txt', 'hello');
    expect(await text(await storage.read('platform/hello.txt'))).toBe('hello');
  });
});
