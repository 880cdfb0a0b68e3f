/**
 * The S3-compatible providers against a real S3-compatible server (moto's, which checks
 * signatures like S3), started by scripts/s3-server.sh: files in and out (a stream large enough
 * to go up in parts), listings, paths that would leave the bucket's root, refused credentials and
 * an unreachable server named without their secrets, and a storage record of the local platform
 * opened as it is fetched.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { Storage } from 'synapse-core';
import { afterAll, describe, expect, it } from 'vitest';
import { installStorageServer, useStorageServer } from '../../../../test-support/storage-servers.ts';
import {
  connectStorage,
  DatasetExportAction,
  fromCoco,
  NoOpLogger,
  openStorage,
  RuntimeContext,
  StorageError,
  type StorageProvider,
} from '../../src/index.ts';
import { closedPort, useSharedPlatform } from '../helpers.ts';
import { collect, expectNoSecret, expectRunsBack, patternStream } from './support.ts';

const unavailable = await installStorageServer('s3');
if (unavailable) console.warn(`S3 storage tests skipped: ${unavailable}`);

const record = (configuration: Record<string, unknown>, provider = 'minio'): Storage => ({
  id: 41,
  name: 'exports',
  category: 'external',
  provider,
  configuration,
  is_default: false,
});

describe.skipIf(unavailable)('S3-compatible storage on a real server', () => {
  const server = useStorageServer('s3');
  const h = useSharedPlatform();
  const opened: StorageProvider[] = [];
  const open = (configuration: Record<string, unknown>, provider?: string) => {
    const storage = openStorage(record(configuration, provider));
    opened.push(storage);
    return storage;
  };
  afterAll(() => Promise.all(opened.map((s) => s.close())));

  it('writes strings, bytes and a multi-part stream, reads, lists and removes them', async () => {
    const storage = open(server.configuration);
    await storage.check();
    // 12 MiB: more than one 8 MiB part, so the multipart upload is what carries it.
    const size = 12 * 1024 * 1024;
    const big = patternStream(size, 'big');
    await storage.write('runs/1/big.bin', big.stream);
    await storage.write('runs/1/a/one.json', '{"x":1}');
    await storage.write('runs/2.txt', new Uint8Array([1, 2, 3]));
    await expectRunsBack(storage, big.sha256, size);
    // A file written again is replaced.
    await storage.write('runs/2.txt', Readable.from(['two']));
    expect(await text(await storage.read('runs/2.txt'))).toBe('two');
    await storage.remove('runs/2.txt');
    await storage.remove('runs/2.txt');
    expect(await storage.exists('runs/2.txt')).toBe(false);
    await expect(storage.read('runs/2.txt')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining(
        'storage 41 "exports" (minio): no file runs/2.txt in bucket synapse-test',
      ),
    });
    expect(storage.locate('runs//1/big.bin')).toBe('s3://synapse-test/runs/1/big.bin');
  });

  it('refuses paths that leave the bucket root before asking the server', async () => {
    const storage = open(server.configuration);
    for (const path of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', 'a\u0000b']) {
      for (const attempt of [
        () => storage.read(path),
        () => storage.write(path, 'x'),
        () => storage.exists(path),
        () => storage.remove(path),
        () => collect(storage.list(path)),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err, path).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('unsafe_path');
        expect((err as Error).message).toContain('storage 41 "exports" (minio): path');
      }
    }
  });

  it('says the server refused the credentials, without any of them', async () => {
    const { access_key, secret_key } = server.configuration as Record<string, string>;
    const wrongSecret = `${randomBytes(15).toString('base64')}x`;
    const cases = [
      { ...server.configuration, secret_key: wrongSecret },
      { ...server.configuration, access_key: 'AKIA0000000000000000' },
    ];
    for (const configuration of cases) {
      const storage = open(configuration);
      for (const attempt of [
        () => storage.check(),
        () => storage.read('a.txt'),
        () => storage.write('a.txt', 'x'),
        () => storage.write('a.bin', Readable.from([Buffer.alloc(10)])),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('refused');
        expect((err as Error).message).toContain(
          'storage 41 "exports" (minio): the server refused the credentials',
        );
        expectNoSecret(err, [access_key!, secret_key!, wrongSecret]);
      }
    }
  });

  it('says an unreachable server cannot be reached, without credentials', { timeout: 60_000 }, async () => {
    const { access_key, secret_key } = server.configuration as Record<string, string>;
    const storage = open({ ...server.configuration, endpoint_url: `http://127.0.0.1:${await closedPort()}` });
    const err = await storage.check().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unreachable' });
    expect((err as Error).message).toMatch(
      /^storage 41 "exports" \(minio\): the server could not be reached \(/,
    );
    expectNoSecret(err, [access_key!, secret_key!]);
    await expect(
      open({ ...server.configuration, bucket_name: 'no-such-bucket' }).check(),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: 'storage 41 "exports" (minio): no bucket no-such-bucket',
    });
  });

  it('opens a storage record of the local platform as the client fetches it', async () => {
    const { storages } = await h.admin('POST', '_emulator/fixtures', {
      storages: [
        {
          name: 's3-exports',
          category: 'external',
          provider: 'amazon_s3',
          configuration: server.configuration,
        },
      ],
    });
    const fetched = await h.client.getStorage(storages[0]);
    expect(fetched.configuration).toEqual(server.configuration);
    const storage = openStorage(fetched);
    opened.push(storage);
    expect(storage.label).toBe(`storage ${storages[0]} "s3-exports" (amazon_s3)`);
    await storage.check();
    await storage.write('platform/hello.txt', 'hello');
    expect(await text(await storage.read('platform/hello.txt'))).toBe('hello');
    // The listing of storages does not show the configuration (the secret) at all.
    const { results } = await h.admin('GET', `storages/?name=s3-exports`);
    expect(JSON.stringify(results)).not.toContain(
      (server.configuration as { secret_key: string }).secret_key,
    );
  });

  it('connects an action to a storage by id, failing at once and by name when it cannot', async () => {
    const { secret_key } = server.configuration as Record<string, string>;
    const { storages } = await h.admin('POST', '_emulator/fixtures', {
      storages: [
        { name: 'good', category: 'external', provider: 'minio', configuration: server.configuration },
        {
          name: 'stale-key',
          category: 'external',
          provider: 'minio',
          configuration: { ...server.configuration, secret_key: `${secret_key}-rotated` },
        },
      ],
    });
    const good = await connectStorage(h.client, storages[0]);
    opened.push(good);
    await good.write('connected.txt', 'yes');
    expect(await good.exists('connected.txt')).toBe(true);
    const err = await connectStorage(h.client, storages[1]).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'refused',
      message: `storage ${storages[1]} "stale-key" (minio): the server refused the credentials or access to bucket synapse-test`,
    });
    expectNoSecret(err, [secret_key!]);
    await expect(connectStorage(h.client, 987_654_321)).rejects.toMatchObject({
      code: 'not_found',
      message: 'storage 987654321: no such storage on the platform',
    });
  });

  it('names the configuration key that is missing, not its neighbours’ values', () => {
    const { secret_key } = server.configuration as Record<string, string>;
    const err = (() => {
      try {
        openStorage(record({ ...server.configuration, bucket_name: undefined }, 'digital_ocean'));
      } catch (e) {
        return e;
      }
    })();
    expect((err as Error).message).toBe(
      'storage 41 "exports" (digital_ocean): configuration.bucket_name is missing or not a string',
    );
    expectNoSecret(err, [secret_key!]);
  });

  it('takes an export: the dataset action writes COCO into the bucket, boxes as the platform holds them', async () => {
    const load = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
      h.admin('POST', '_emulator/fixtures', body);
    const [storage] = (
      await load({ storages: [{ name: 'bucket', provider: 'minio', configuration: server.configuration }] })
    ).storages;
    const [collection] = (await load({ data_collections: [{ name: 'S3 export' }] })).data_collections;
    const [project] = (await load({ projects: [{ title: 'S3 export', data_collection: collection }] }))
      .projects;
    const box = { x: 1.25, y: 2.5, width: 10.125, height: 4 };
    const [unit] = (
      await load({
        data_units: [
          {
            data_collection: collection,
            meta: { width: 64, height: 48 },
            files: {
              image_1: { url: 'http://127.0.0.1/s3.png', file_name_original: 's3.png', is_primary: true },
            },
          },
        ],
      })
    ).data_units;
    const objects = [{ id: 'o1', class_id: 3, type: 'bbox', coordinates: box, properties: { label: 'car' } }];
    await load({ tasks: [{ project, data_unit: unit, data: { objects } }] });

    const ctx = new RuntimeContext({ client: h.makeClient(), logger: new NoOpLogger() });
    const params = {
      name: 's3-export',
      storage,
      target: 'task',
      filter: { project },
      format: 'coco',
      save_original_file: false,
    };
    expect(await DatasetExportAction.dispatch(params, ctx)).toMatchObject({
      exported_count: 1,
      failed_count: 0,
    });

    const bucket = open(server.configuration);
    const coco = JSON.parse(await text(await bucket.read('s3-export/annotations.json')));
    const [item] = fromCoco(coco).items;
    expect(item).toMatchObject({
      fileName: 's3.png',
      objects: [{ class_id: 3, type: 'bbox', coordinates: box }],
    });
  });
});
