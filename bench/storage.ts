/**
 * The S3 and SFTP storage providers against the raw library loop on the same server (moto's S3
 * server and an OpenSSH sshd from scripts/s3-server.sh / sftp-server.sh): many small files, as an
 * export writes them (write, then read back), and one large stream. The raw loop uses the same
 * library with the same connection settings and no path checks, folder making or
 * write-aside-and-rename. Rounds alternate raw and provider; medians with min/max. Prints files/s
 * and MiB/s for each and the ratio provider/raw, and the load average at start and end.
 *
 *   npx tsx bench/storage.ts   (BENCH_FILES=200 small files, BENCH_MB=32 large file, BENCH_ROUNDS=3)
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Client, type SFTPWrapper } from 'ssh2';
import { openStorage, type StorageProvider } from 'synapse-sdk';
import { installStorageServer, startStorageServer } from '../test-support/storage-servers.ts';
import { loadAverage, MB, report, spread, timed } from './lib/harness.ts';

const FILES = Number(process.env.BENCH_FILES ?? 200);
const LARGE = Number(process.env.BENCH_MB ?? 32) * MB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SMALL = Buffer.alloc(4096, 7);
const large = () =>
  Readable.from(
    (function* () {
      for (let sent = 0; sent < LARGE; sent += MB) yield Buffer.alloc(MB, sent / MB);
    })(),
  );

/** What a round does, once through the provider and once through the raw library. */
interface Side {
  small(round: number, side: string): Promise<void>;
  large(round: number, side: string): Promise<void>;
}

async function compare(name: string, provider: Side, raw: Side): Promise<void> {
  const rate = {
    provider: [] as number[],
    raw: [] as number[],
    providerMb: [] as number[],
    rawMb: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order: neither side always runs on a warmer server.
    const order = round % 2 === 0 ? (['raw', 'provider'] as const) : (['provider', 'raw'] as const);
    for (const side of order) {
      const impl = side === 'raw' ? raw : provider;
      rate[side].push(FILES / (await timed(() => impl.small(round, side))).seconds);
      rate[side === 'raw' ? 'rawMb' : 'providerMb'].push(
        (2 * LARGE) / MB / (await timed(() => impl.large(round, side))).seconds,
      );
    }
  }
  const show = (xs: number[]) => {
    const s = spread(xs);
    return `${s.median.toFixed(1)} (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`;
  };
  report(name, [
    [`raw ${FILES} × 4 KiB write+read, files/s`, show(rate.raw)],
    ['provider, files/s', show(rate.provider)],
    ['ratio provider/raw (small files)', (spread(rate.provider).median / spread(rate.raw).median).toFixed(2)],
    [`raw ${LARGE / MB} MiB write+read, MiB/s`, show(rate.rawMb)],
    ['provider, MiB/s', show(rate.providerMb)],
    [
      'ratio provider/raw (large file)',
      (spread(rate.providerMb).median / spread(rate.rawMb).median).toFixed(2),
    ],
  ]);
}

const record = (provider: string, configuration: Record<string, unknown>) =>
  openStorage({ id: 1, name: 'bench', category: 'external', provider, configuration, is_default: false });

/** The provider's side: the same calls an export makes. */
function providerSide(storage: StorageProvider): Side {
  return {
    async small(round, side) {
      for (let i = 0; i < FILES; i++) await storage.write(`${side}/${round}/small/${i}.json`, SMALL);
      for (let i = 0; i < FILES; i++) await buffer(await storage.read(`${side}/${round}/small/${i}.json`));
    },
    async large(round, side) {
      await storage.write(`${side}/${round}/large.bin`, large());
      await buffer(await storage.read(`${side}/${round}/large.bin`));
    },
  };
}

console.log(`load average at start: ${loadAverage()}`);
for (const kind of ['s3', 'sftp'] as const) {
  const missing = await installStorageServer(kind);
  if (missing) {
    console.log(`${kind}: skipped (${missing})`);
    continue;
  }
  const server = await startStorageServer(kind);
  try {
    const c = server.configuration as Record<string, string & number>;
    if (kind === 's3') {
      const storage = record('minio', c);
      const client = new S3Client({
        region: c.region_name,
        endpoint: c.endpoint_url,
        forcePathStyle: true,
        credentials: { accessKeyId: c.access_key, secretAccessKey: c.secret_key },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      const Bucket = c.bucket_name;
      const raw: Side = {
        async small(round, side) {
          const key = (i: number) => `${side}/${round}/small/${i}.json`;
          for (let i = 0; i < FILES; i++)
            await client.send(new PutObjectCommand({ Bucket, Key: key(i), Body: SMALL }));
          for (let i = 0; i < FILES; i++)
            await buffer((await client.send(new GetObjectCommand({ Bucket, Key: key(i) }))).Body as Readable);
        },
        async large(round, side) {
          const Key = `${side}/${round}/large.bin`;
          await new Upload({
            client,
            params: { Bucket, Key, Body: large() },
            partSize: 8 * MB,
            queueSize: 2,
          }).done();
          await buffer((await client.send(new GetObjectCommand({ Bucket, Key }))).Body as Readable);
        },
      };
      await compare('S3 (moto)', providerSide(storage), raw);
      client.destroy();
      await storage.close();
    } else {
      const storage = record('sftp', c);
      const ssh = new Client();
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
        ssh.once('error', reject);
        ssh.once('ready', () => ssh.sftp((err, s) => (err ? reject(err) : resolve(s))));
        readFile(c.private_key).then((privateKey) =>
          ssh.connect({ host: c.host, port: c.port, username: c.username, privateKey }),
        );
      });
      const call = (start: (done: (err?: Error | null) => void) => void) =>
        new Promise<void>((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
      const mkdirs = async (dir: string) => {
        const parts = dir.split('/');
        for (let i = 2; i <= parts.length; i++)
          await call((done) => sftp.mkdir(parts.slice(0, i).join('/'), () => done()));
      };
      const raw: Side = {
        async small(round, side) {
          const dir = `${c.root_path}/${side}/${round}/small`;
          await mkdirs(dir);
          for (let i = 0; i < FILES; i++)
            await call((done) => sftp.writeFile(`${dir}/${i}.json`, SMALL, done));
          for (let i = 0; i < FILES; i++)
            await new Promise((resolve, reject) =>
              sftp.readFile(`${dir}/${i}.json`, (err, data) => (err ? reject(err) : resolve(data))),
            );
        },
        async large(round, side) {
          const file = `${c.root_path}/${side}/${round}/large.bin`;
          await mkdirs(`${c.root_path}/${side}/${round}`);
          await pipeline(large(), sftp.createWriteStream(file));
          await buffer(sftp.createReadStream(file));
        },
      };
      await compare('SFTP (OpenSSH)', providerSide(storage), raw);
      ssh.end();
      await storage.close();
    }
  } finally {
    await server.stop();
  }
}
console.log(`\nload average at end: ${loadAverage()}`);
