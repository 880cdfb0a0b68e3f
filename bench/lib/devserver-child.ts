/** Runs a devserver in its own process for benchmarks, and prints its URL and token as JSON. */
import { startDevServer } from 'synapse-devserver';
import { closeWhenParentSays } from './harness.ts';

// `--faults` turns on `_emulator/faults` (a bench that adds latency with `hang_ms`).
const server = await startDevServer({ dataDir: process.argv[2], faults: process.argv.includes('--faults') });
process.stdout.write(`${JSON.stringify({ url: server.url, token: server.credentials.accessToken })}\n`);
closeWhenParentSays(() => server.close());
