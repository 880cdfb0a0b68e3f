/** Runs a devserver in its own process for benchmarks, and prints its URL and token as JSON. */
import { startDevServer } from 'synapse-devserver';

const server = await startDevServer({ dataDir: process.argv[2] });
process.stdout.write(`${JSON.stringify({ url: server.url, token: server.credentials.accessToken })}\n`);
process.on('SIGTERM', async () => {
  await server.close();
  process.exit(0);
});
