/**
 * Chunked upload to the devserver (a child process) against a plain streamed copy of the same
 * file on the same disk, for 512 MiB and 1 GiB in one run. Rounds alternate copy and upload (the
 * order flips every round, because this disk's speed drifts) and each round removes what it
 * wrote, the copy and the uploaded file alike, so neither inherits the other's dirty pages.
 * Prints per size: medians with min and max of both throughputs, the ratio of the medians
 * (target >= 0.8), the CPU seconds of the client and of the server per upload, the client's peak
 * RSS growth (it stays near two chunks), and the load average at start and end.
 *
 *   npx tsx bench/upload.ts   (BENCH_UPLOAD_MB=512,1024 sizes in MiB; BENCH_ROUNDS=3)
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BackendClient } from 'synapse-sdk';
import {
  loadAverage,
  MB,
  peakRssGrowth,
  processCpuSeconds,
  report,
  spread,
  startChildServer,
  timed,
} from './lib/harness.ts';

const SIZES = (process.env.BENCH_UPLOAD_MB ?? '512,1024').split(',').map((s) => Number(s) * MB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET = 0.8;

/** A file of pseudo-random bytes (incompressible, so no layer gets a free ride). */
async function writeSource(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = Buffer.alloc(16 * MB);
  let x = 2463534242;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  for (let written = 0; written < size; written += block.length) {
    await handle.write(block, 0, Math.min(block.length, size - written));
  }
  await handle.sync();
  await handle.close();
}

const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;
const range = (xs: number[], digits = 0) => {
  const { median, min, max } = spread(xs);
  return `${median.toFixed(digits)} (min ${min.toFixed(digits)}, max ${max.toFixed(digits)})`;
};

const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-upload-'));
const server = await startChildServer();
const client = new BackendClient(server.url, { accessToken: server.token });
try {
  for (const size of SIZES) {
    const source = join(dir, 'model.bin');
    await writeSource(source, size);
    const loadBefore = loadAverage();
    const copies: number[] = [];
    const copyCpu: number[] = [];
    const uploads: number[] = [];
    const clientCpu: number[] = [];
    const serverCpu: number[] = [];
    let growth = 0;

    const copy = async () => {
      const target = join(dir, 'copy.bin');
      const cpu = process.cpuUsage();
      const run = await timed(() => pipeline(createReadStream(source), createWriteStream(target)));
      copyCpu.push(cpuSeconds(process.cpuUsage(cpu)));
      copies.push(size / MB / run.seconds);
      await rm(target);
    };
    const upload = async () => {
      const [cpu, serverStart] = [process.cpuUsage(), processCpuSeconds(server.pid)];
      const run = await timed(() => peakRssGrowth(() => client.createChunkedUpload(source)));
      clientCpu.push(cpuSeconds(process.cpuUsage(cpu)));
      serverCpu.push(processCpuSeconds(server.pid) - serverStart);
      const result = run.value.value;
      if (result.size !== size) throw new Error(`uploaded ${result.size} bytes, expected ${size}`);
      uploads.push(size / MB / run.seconds);
      growth = Math.max(growth, run.value.growth);
      // The assembled file, found by its media URL, goes like the copy does.
      const media = decodeURIComponent(new URL(result.file).pathname.replace(/^.*?\/media\//, ''));
      await rm(join(server.dataDir, 'media', media));
    };

    for (let round = 0; round < ROUNDS; round++) {
      for (const step of round % 2 === 0 ? [copy, upload] : [upload, copy]) await step();
    }
    await rm(source);

    report(`upload: chunked upload of ${size / MB} MiB (50 MiB chunks), ${ROUNDS} interleaved rounds`, [
      ['load average before', loadBefore],
      ['chunked upload MB/s', range(uploads)],
      ['plain file copy MB/s (baseline)', range(copies)],
      ['ratio upload/copy (medians)', (spread(uploads).median / spread(copies).median).toFixed(2)],
      ['target ratio', `>= ${TARGET}`],
      ['upload CPU s, client', range(clientCpu, 2)],
      ['upload CPU s, server', range(serverCpu, 2)],
      ['copy CPU s', range(copyCpu, 2)],
      ['client peak RSS growth (MB)', (growth / MB).toFixed(0)],
      ['load average after', loadAverage()],
    ]);
  }
} finally {
  await client.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
