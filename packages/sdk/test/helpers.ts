/**
 * The SDK tests' helpers: the platform harness both packages' tests share (`test-support/`),
 * and what only the SDK's tests need.
 */
import { createServer } from 'node:net';

export * from '../../../test-support/harness.ts';

/** A port on this machine that nothing listens on (for "connection refused"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
