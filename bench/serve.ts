/**
 * The local serve gateway against the same handler behind a plain HTTP server, like with like:
 * both are an HTTP hop to another process. Three configurations, each in its own process, with
 * the models already loaded:
 * - gateway, 1 replica: the SDK's `LocalServeBackend` (the gateway process) with one worker
 *   replica process of the test fixture `WeightsDeployment`;
 * - gateway, 2 replicas: the same with two worker replica processes;
 * - plain: a `node:http` server whose request handler calls the same class's `infer` directly.
 * Requests alternate between two models whose tokens the gateway routes to different replicas
 * (checked before timing), so two replicas share the load; every configuration gets the same
 * requests. At client concurrency 1, 16 and 64, rounds interleave every configuration (the order
 * rotating each round); each prints requests/s and p50/p99 latency as the median over the rounds
 * with min and max, and the ratio gateway/plain of the median requests/s. Load average at start
 * and end. Every process (devserver, gateways, replicas, plain server) is ended however the bench
 * ends; the children also end when this process dies.
 *
 *   npx tsx bench/serve.ts    (BENCH_SERVE_REQUESTS=<n> per configuration, concurrency and round,
 *                              default 10000; BENCH_SERVE_ROUNDS=<n>, default 3)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BackendClient, createServeMultiplexedModelId, MULTIPLEX_HEADER } from 'synapse-sdk';
import { Agent, request } from 'undici';
import {
  type Child,
  loadAverage,
  report,
  spread,
  startChild,
  startChildServer,
  timed,
} from './lib/harness.ts';

const REQUESTS = Number(process.env.BENCH_SERVE_REQUESTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_SERVE_ROUNDS ?? 3);
for (const [name, value] of [
  ['BENCH_SERVE_REQUESTS', REQUESTS],
  ['BENCH_SERVE_ROUNDS', ROUNDS],
] as const) {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive whole number, not ${process.env[name]}`);
}
const CONCURRENCIES = [1, 16, 64];
const SERVE_CHILD = join(import.meta.dirname, 'lib', 'serve-child.ts');

type Config = 'gateway, 1 replica' | 'gateway, 2 replicas' | 'plain node:http';
const CONFIGS: Config[] = ['gateway, 1 replica', 'gateway, 2 replicas', 'plain node:http'];

interface Run {
  rps: number;
  p50: number;
  p99: number;
}

/** Runs `one` REQUESTS times, `concurrency` at a time; requests/s and latency percentiles (ms). */
async function load(one: (i: number) => Promise<void>, concurrency: number): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const { seconds } = await timed(() =>
    Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          const start = process.hrtime.bigint();
          await one(i);
          latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
      }),
    ),
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rps: REQUESTS / seconds, p50: pct(0.5), p99: pct(0.99) };
}

const loadBefore = loadAverage();
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-serve-'));
const children: Array<{ stop(): Promise<void> }> = [];
const agent = new Agent({ connections: Math.max(...CONCURRENCIES) });
let client: BackendClient | null = null;
try {
  const server = await startChildServer();
  children.push(server);
  client = new BackendClient(server.url, { accessToken: server.token });
  const backendClient = client;
  const createModel = async (name: string) => {
    const zip = join(dir, `${name}.zip`);
    await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name })) }));
    const model = await backendClient.createModel({ name, file: zip } as never);
    return { name, token: createServeMultiplexedModelId(model.id, server.token, server.url) };
  };

  const start = async (args: string[], env?: NodeJS.ProcessEnv) => {
    const child: Child<{ url: string }> = await startChild(SERVE_CHILD, [server.url, ...args], { env });
    children.push(child);
    return child.info.url;
  };
  const plainScratch = join(dir, 'plain-scratch');
  await mkdir(plainScratch);
  const urls: Record<Config, string> = {
    'gateway, 1 replica': await start(['gateway', '1']),
    'gateway, 2 replicas': await start(['gateway', '2']),
    'plain node:http': await start(['plain'], { ...process.env, SYNAPSE_SERVE_SCRATCH_DIR: plainScratch }),
  };

  /** One request with model `model`; answers the pid of the process that ran the handler. */
  const call = async (config: Config, model: { name: string; token: string }, i: number) => {
    const res = await request(urls[config], {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', [MULTIPLEX_HEADER]: model.token },
      body: JSON.stringify({ i }),
    });
    const body = (await res.body.json()) as { model?: string; pid?: number; detail?: string };
    if (res.statusCode !== 200 || body.model !== model.name)
      throw new Error(`${config}: HTTP ${res.statusCode}, ${body.detail ?? `model ${body.model}`}`);
    return body.pid!;
  };

  // Two models the gateway sends to different replicas (a model always goes to the same one).
  const models = [await createModel('bench-0')];
  const firstPid = await call('gateway, 2 replicas', models[0]!, 0);
  for (let n = 1; models.length < 2; n++) {
    if (n > 20) throw new Error('no model token routed to the second replica in 20 tries');
    const candidate = await createModel(`bench-${n}`);
    if ((await call('gateway, 2 replicas', candidate, 0)) !== firstPid) models.push(candidate);
  }
  const pids = Object.fromEntries(CONFIGS.map((c) => [c, new Set<number>()])) as Record<Config, Set<number>>;
  const one = (config: Config) => async (i: number) => {
    pids[config].add(await call(config, models[i % 2]!, i));
  };

  // Warm-up outside the measurement: both models loaded everywhere, the JIT and connections settled.
  for (const config of CONFIGS) {
    for (let i = 0; i < 200; i++) await one(config)(i);
    await load(one(config), Math.max(...CONCURRENCIES));
  }

  const runs = new Map<string, Run[]>();
  const key = (config: Config, concurrency: number) => `${config}@${concurrency}`;
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order, so no configuration always runs first (or right after a given other).
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]!);
    for (const concurrency of CONCURRENCIES) {
      for (const config of order) {
        const k = key(config, concurrency);
        runs.set(k, [...(runs.get(k) ?? []), await load(one(config), concurrency)]);
      }
    }
  }
  const loadAfter = loadAverage();

  const show = (xs: number[], digits: number) => {
    const { median, min, max } = spread(xs);
    return `${median.toFixed(digits)} (min ${min.toFixed(digits)}, max ${max.toFixed(digits)})`;
  };
  report(
    `serve: ${REQUESTS} requests per configuration and run, ${ROUNDS} interleaved rounds, models loaded`,
    [
      ['load average at start (1, 5, 15 min)', loadBefore],
      ['load average at end', loadAfter],
      ...CONFIGS.map((c): [string, string] => [`${c}: handler processes seen`, String(pids[c].size)]),
    ],
  );
  for (const concurrency of CONCURRENCIES) {
    const rows: Array<[string, string]> = [];
    for (const config of CONFIGS) {
      const rs = runs.get(key(config, concurrency))!;
      const of = (field: keyof Run) => rs.map((r) => r[field]);
      rows.push([`${config}: requests/s`, show(of('rps'), 0)]);
      rows.push([`${config}: p50 ms`, show(of('p50'), 2)]);
      rows.push([`${config}: p99 ms`, show(of('p99'), 2)]);
    }
    const plain = spread(runs.get(key('plain node:http', concurrency))!.map((r) => r.rps)).median;
    for (const config of CONFIGS.slice(0, 2)) {
      const gateway = spread(runs.get(key(config, concurrency))!.map((r) => r.rps)).median;
      rows.push([`ratio ${config} / plain, requests/s`, (gateway / plain).toFixed(2)]);
    }
    report(`client concurrency ${concurrency}`, rows);
  }
} finally {
  await agent.close();
  await client?.close();
  // The serve children first, the devserver (the first child) last.
  await Promise.allSettled(children.reverse().map((c) => c.stop()));
  await rm(dir, { recursive: true, force: true });
}
