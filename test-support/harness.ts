/**
 * A real local platform for a test file, and clients pointed at it: the one the suite shares
 * (`useSharedPlatform`), or a devserver of the file's own (`useDevServer`) for tests that change
 * server-wide state or reach into the server. Both packages' tests use it (the SDK's through
 * `packages/sdk/test/helpers.ts`).
 */
import { createHash, randomUUID } from 'node:crypto';
import { type DevServer, type DevServerOptions, startDevServer } from 'synapse-devserver';
import { AgentClient, BackendClient, type BackendClientOptions } from 'synapse-sdk';
import { afterAll, beforeAll, inject } from 'vitest';

/**
 * One JSON request to a platform's backend API with the platform user's token, as raw HTTP (for
 * tests of what the server answers, errors included): the status and the parsed body.
 */
export async function requestJson(
  server: { url: string; credentials: { accessToken: string } },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/${path}`, {
    method,
    headers: {
      'Synapse-Access-Token': `Token ${server.credentials.accessToken}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** What a test reaches of a platform it does not own: its URLs and credentials. */
export interface PlatformAddress {
  url: string;
  agentUrl: string;
  credentials: { accessToken: string; agentToken: string; agentId: number };
}

export interface PlatformHarness<S extends PlatformAddress = PlatformAddress> {
  server: S;
  client: BackendClient;
  /** A client with custom options (timeouts, retries) against the same server. */
  makeClient(options?: BackendClientOptions): BackendClient;
  agent: AgentClient;
  /** Calls an emulator-only route with the access token. */
  admin(method: string, path: string, body?: unknown): Promise<any>;
}

export type Harness = PlatformHarness<DevServer>;

/** The platform the suite shares (scripts/test-platform.ts); the file must not depend on what others store. */
export function useSharedPlatform(): PlatformHarness {
  const { url, agentUrl, accessToken, agentToken, agentId } = inject('localPlatform');
  return useHarness(async () => ({ url, agentUrl, credentials: { accessToken, agentToken, agentId } }));
}

/** A devserver of this file's own, started before its tests and closed after them. */
export function useDevServer(options: DevServerOptions = {}): Harness {
  return useHarness(
    () => startDevServer(options),
    (server) => server.close(),
  );
}

function useHarness<S extends PlatformAddress>(
  start: () => Promise<S>,
  stop: (server: S) => Promise<void> = async () => {},
): PlatformHarness<S> {
  const harness = {} as PlatformHarness<S>;
  const clients: Array<BackendClient | AgentClient> = [];
  beforeAll(async () => {
    const server = await start();
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
    if (harness.server) await stop(harness.server);
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

/** A plugin with one release `1.0.0` of this config, loaded as fixtures (no archive). */
export async function fixtureRelease(h: PlatformHarness, config: Record<string, unknown>) {
  // Unique across the suite's workers, which may share one platform.
  const code = `fx-${randomUUID().slice(0, 8)}`;
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
