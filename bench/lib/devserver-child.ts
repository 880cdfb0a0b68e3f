/**
 * Runs a devserver in its own process for benchmarks, and prints its URL and token as JSON.
 * `SYNAPSE_BENCH_DEVSERVER` names the devserver module to run (another checkout's, to compare two
 * builds in one bench); `SYNAPSE_BENCH_DATABASE_URL` puts it on PostgreSQL.
 */
import { pathToFileURL } from 'node:url';
import type { startDevServer as StartDevServer } from 'synapse-devserver';
import { closeWhenParentSays } from './harness.ts';

const entry = process.env.SYNAPSE_BENCH_DEVSERVER;
const { startDevServer }: { startDevServer: typeof StartDevServer } = entry
  ? await import(pathToFileURL(entry).href)
  : await import('synapse-devserver');
// `--faults` turns on `_emulator/faults` (a bench that adds latency with `hang_ms`).
const server = await startDevServer({
  dataDir: process.argv[2],
  databaseUrl: process.env.SYNAPSE_BENCH_DATABASE_URL || undefined,
  faults: process.argv.includes('--faults'),
});
process.stdout.write(`${JSON.stringify({ url: server.url, token: server.credentials.accessToken })}\n`);
closeWhenParentSays(() => server.close());
