/** A real devserver per test file, and clients pointed at it. */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { type DevServer, type DevServerOptions, startDevServer } from 'synapse-devserver';
import { afterAll, beforeAll } from 'vitest';
import { AgentClient, BackendClient, type BackendClientOptions } from '../src/index.ts';

export interface Harness {
  server: DevServer;
  client: BackendClient;
  /** A client with custom options (timeouts, retries) against the same server. */
  makeClient(options?: BackendClientOptions): BackendClient;
  agent: AgentClient;
  /** Calls an emulator-only route with the access token. */
  admin(method: string, path: string, body?: unknown): Promise<any>;
}

export function useDevServer(options: DevServerOptions = {}): Harness {
  const harness = {} as Harness;
  const clients: Array<BackendClient | AgentClient> = [];
  beforeAll(async () => {
    const server = await startDevServer(options);
    const token = server.credentials.accessToken;
    harness.server = server;
    harness.makeClient = (opts = {}) => {
      const c = new BackendClient(server.url, { accessToken: token, ...opts });
      clients.push(c);
      return c;
    };
    harness.client = harness.makeClient();
    harness.agent = new AgentClient(server.agentUrl, server.credentials.agentToken);
    clients.push(harness.agent);
    harness.admin = async (method, path, body) => {
      const res = await fetch(`${server.url}/${path}`, {
        method,
        headers: {
          'Synapse-Access-Token': `Token ${token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await harness.server?.close();
  });
  return harness;
}

/**
 * The signed URL the devserver hands out now for a stored `media/...` reference: media needs a
 * token or a signed URL, and API responses carry signed ones.
 */
export function signedMediaUrl(h: Harness, ref: string): string {
  return h.server.ctx.media.signedUrl(h.server.url, ref);
}

/** The query of a signed media URL, for patterns that end at the file name. */
export const SIGNED_QUERY = String.raw`\?expires=\d+&signature=[0-9a-f]{64}`;

let releases = 0;

/** A plugin with one release `1.0.0` of this config, loaded as fixtures (no archive). */
export async function fixtureRelease(h: Harness, config: Record<string, unknown>) {
  const code = `fx-${++releases}`;
  const { plugins } = await h.admin('POST', '_emulator/fixtures', {
    plugins: [{ code, name: code, category: 'neural_net' }],
  });
  const { plugin_releases } = await h.admin('POST', '_emulator/fixtures', {
    plugin_releases: [
      {
        plugin: plugins[0],
        plugin_code: code,
        version: '1.0.0',
        code: `${code}@1.0.0`,
        checksum: createHash('md5').update(`${code}@1.0.0`).digest('hex'),
        config: { ...config, code },
      },
    ],
  });
  return { code, pluginId: plugins[0] as number, releaseId: plugin_releases[0] as number };
}

/** A port on this machine that nothing listens on (for "connection refused"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
