/**
 * Requests through the local serve gateway (one worker replica, model already loaded) against a
 * direct call of the same handler in this process (the baseline). Prints requests/s, p50/p99
 * latency and the ratio: what the HTTP hop and the process hop cost per request.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import {
  BackendClient,
  createServeMultiplexedModelId,
  LocalServeBackend,
  runInServeRequest,
} from 'synapse-sdk';
import { Agent, request } from 'undici';
import { WeightsDeployment } from '../packages/sdk/test/serve/fixtures/deployments.ts';
import { report, startChildServer, timed } from './lib/harness.ts';

const REQUESTS = Number(process.env.BENCH_SERVE_REQUESTS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_SERVE_CONCURRENCY ?? 16);
const FIXTURE = fileURLToPath(new URL('../packages/sdk/test/serve/fixtures/deployments.ts', import.meta.url));

/** Runs `one` REQUESTS times, `concurrency` at a time; returns requests/s and latency percentiles (ms). */
async function load(one: (i: number) => Promise<void>, concurrency = CONCURRENCY) {
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
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { rps: Math.round(REQUESTS / seconds), p50: pct(0.5), p99: pct(0.99) };
}

const server = await startChildServer();
const dir = await mkdtemp(join(tmpdir(), 'synapse-bench-serve-'));
const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
const client = new BackendClient(server.url, { accessToken: server.token });
const agent = new Agent({ connections: CONCURRENCY });
try {
  const zip = join(dir, 'model.zip');
  await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name: 'bench' })) }));
  const model = await client.createModel({ name: 'bench', file: zip } as never);
  const token = createServeMultiplexedModelId(model.id, server.token, server.url);

  await backend.run({
    name: 'bench@1.0.0',
    routePrefix: '/bench',
    deployment: WeightsDeployment,
    initArgs: [server.url],
    actorOptions: {},
    serveOptions: { num_replicas: 1 },
    modulePath: FIXTURE,
    exportName: 'WeightsDeployment',
  });
  const url = `${backend.url}/bench/`;
  const viaGateway = async (i: number) => {
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', serve_multiplexed_model_id: token },
      body: JSON.stringify({ i }),
    });
    const body = (await res.body.json()) as { model?: string };
    if (res.statusCode !== 200 || body.model !== 'bench') throw new Error(`gateway: ${res.statusCode}`);
  };

  // Baseline: the same deployment class and handler, called in this process.
  const direct = new WeightsDeployment(server.url);
  const viaDirect = async (i: number) => {
    const body = (await runInServeRequest({ multiplexedModelId: token }, () => direct.infer({ i }))) as {
      model?: string;
    };
    if (body.model !== 'bench') throw new Error('direct: wrong model');
  };

  // Warm up both: load the model once, let the JIT settle.
  for (let i = 0; i < 200; i++) {
    await viaGateway(i);
    await viaDirect(i);
  }
  const gateway = await load(viaGateway);
  const baseline = await load(viaDirect);
  // The cost of one request on its own: latencies at concurrency 1, without queueing.
  const gatewayAlone = await load(viaGateway, 1);
  const directAlone = await load(viaDirect, 1);
  await direct.disposeModels();

  const ms = (v: number) => v.toFixed(3);
  report(`serve: ${REQUESTS} requests, concurrency ${CONCURRENCY}, 1 worker replica, model loaded`, [
    ['gateway requests/s', gateway.rps],
    ['gateway p50 / p99 (ms)', `${ms(gateway.p50)} / ${ms(gateway.p99)}`],
    ['direct call requests/s (baseline)', baseline.rps],
    ['direct p50 / p99 (ms)', `${ms(baseline.p50)} / ${ms(baseline.p99)}`],
    ['ratio gateway/direct throughput', (gateway.rps / baseline.rps).toFixed(4)],
    ['overhead per request, p50 at concurrency 1 (ms)', ms(gatewayAlone.p50 - directAlone.p50)],
    ['target overhead', '< 2 ms'],
  ]);
} finally {
  await agent.close();
  await client.close();
  await backend.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
