/**
 * Chunked upload of a 1 GiB file to the devserver, against a plain streamed copy of the same
 * file on the same disk (the baseline, same process). Rounds alternate copy and upload and the
 * medians are compared, because this disk's speed drifts. Prints both throughputs, the ratio
 * (target ≥ 0.5), and the client's peak RSS growth (memory stays near two chunks).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BackendClient } from 'synapse-sdk';
import { MB, peakRssGrowth, report, startChildServer, timed } from './lib/harness.ts';

const SIZE = Number(process.env.BENCH_UPLOAD_MB ?? 1024) * MB;
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-upload-'));
const source = join(dir, 'model.bin');

// A file of pseudo-random bytes (incompressible, so no layer gets a free ride).
const handle = await open(source, 'w');
const block = Buffer.alloc(16 * MB);
let x = 2463534242;
for (let i = 0; i < block.length; i += 4) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  block.writeUInt32LE(x >>> 0, i);
}
for (let written = 0; written < SIZE; written += block.length) {
  await handle.write(block, 0, Math.min(block.length, SIZE - written));
}
await handle.sync();
await handle.close();

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startChildServer();
try {
  const client = new BackendClient(server.url, { accessToken: server.token });
  const copies: number[] = [];
  const uploads: number[] = [];
  let growth = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const target = join(dir, 'copy.bin');
    const copy = await timed(() => pipeline(createReadStream(source), createWriteStream(target)));
    await rm(target);
    copies.push(copy.seconds);
    const upload = await timed(() => peakRssGrowth(() => client.createChunkedUpload(source)));
    if (upload.value.value.size !== SIZE)
      throw new Error(`uploaded ${upload.value.value.size} bytes, expected ${SIZE}`);
    uploads.push(upload.seconds);
    growth = Math.max(growth, upload.value.growth);
  }
  await client.close();
  const [copySeconds, uploadSeconds] = [median(copies), median(uploads)];

  const mbps = (s: number) => (SIZE / MB / s).toFixed(0);
  report(`upload: chunked upload of ${SIZE / MB} MiB (50 MiB chunks)`, [
    [`chunked upload MB/s (median of ${ROUNDS})`, mbps(uploadSeconds)],
    [`plain file copy MB/s (baseline, median of ${ROUNDS})`, mbps(copySeconds)],
    ['ratio upload/copy', (copySeconds / uploadSeconds).toFixed(2)],
    ['target ratio', '>= 0.5'],
    ['client peak RSS growth (MB)', (growth / MB).toFixed(0)],
  ]);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
