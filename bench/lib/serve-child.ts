/**
 * One serve configuration of `bench/serve.ts` in its own process; prints `{ url }` (where to POST)
 * as JSON. The argument after the backend URL picks it:
 * - `gateway <replicas>`: the SDK's `LocalServeBackend` (this process is the gateway) with the test
 *   fixture `WeightsDeployment` on that many worker replica processes;
 * - `plain`: the same deployment class in this process behind a plain `node:http` server whose
 *   request handler calls the deployment's `infer` handler directly (the baseline: one HTTP hop,
 *   one process, no gateway).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LocalServeBackend, MULTIPLEX_HEADER, runInServeRequest } from 'synapse-sdk';
import { WeightsDeployment } from '../../packages/sdk/test/serve/fixtures/deployments.ts';
import { closeWhenParentSays } from './harness.ts';

const FIXTURE = fileURLToPath(
  new URL('../../packages/sdk/test/serve/fixtures/deployments.ts', import.meta.url),
);
const [backendUrl, mode, replicas] = process.argv.slice(2) as [string, string, string | undefined];

if (mode === 'gateway') {
  const backend = new LocalServeBackend({ host: '127.0.0.1', port: 0 });
  closeWhenParentSays(() => backend.close());
  await backend.run({
    name: 'bench@1.0.0',
    routePrefix: '/bench',
    deployment: WeightsDeployment,
    initArgs: [backendUrl],
    actorOptions: {},
    serveOptions: { num_replicas: Number(replicas) },
    modulePath: FIXTURE,
    exportName: 'WeightsDeployment',
  });
  process.stdout.write(`${JSON.stringify({ url: `${backend.url}/bench/` })}\n`);
} else if (mode === 'plain') {
  // Models go to SYNAPSE_SERVE_SCRATCH_DIR, which the bench gives this process and removes.
  const deployment = new WeightsDeployment(backendUrl);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const header = req.headers[MULTIPLEX_HEADER];
      const modelId = (Array.isArray(header) ? header[0] : header) || null;
      let status = 200;
      let body: unknown;
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        body = await runInServeRequest({ multiplexedModelId: modelId }, () => deployment.infer(input));
      } catch (e) {
        status = 500;
        body = { detail: (e as Error).message };
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  closeWhenParentSays(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await deployment.disposeModels();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
} else {
  throw new Error(`serve-child: unknown mode ${mode}; use gateway <replicas> or plain`);
}
