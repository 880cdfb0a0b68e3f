/**
 * The safe download (#11 item 5): real servers on loopback, real redirects, real DNS for
 * `localhost`. Internal targets are refused in every notation, on every redirect hop, and the
 * connection goes to the address that was checked.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyAddress,
  DownloadPool,
  type HostRule,
  parseHostRules,
  SafeFetchError,
  type SafeFetchRule,
  safeDownload,
} from '../../src/index.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Served {
  server: Server;
  port: number;
  /** Paths requested, in order, with the Authorization header each carried. */
  hits: Array<{ path: string; authorization: string | undefined }>;
}

const servers: Server[] = [];

async function serve(handler: Handler, host = '127.0.0.1', port = 0): Promise<Served> {
  const hits: Served['hits'] = [];
  const server = createServer((req, res) => {
    hits.push({ path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port, hits };
}

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const json = (res: ServerResponse, body: unknown) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

let target: Served; // the "internal service": must never be reached where refused
let redirector: Served; // an allowed host that redirects to wherever `?to=` says
let hanging: Served;

beforeAll(async () => {
  target = await serve((req, res) => {
    if (req.url?.startsWith('/big')) {
      // No content-length: the limit must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 32; i++) res.write(chunk);
      res.end();
      return;
    }
    json(res, { objects: [], from: 'target', path: req.url });
  });
  redirector = await serve((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const hops = Number(url.searchParams.get('hops') ?? '0');
    if (hops > 0) {
      res.writeHead(302, { location: `/chain?hops=${hops - 1}` });
      res.end();
      return;
    }
    const to = url.searchParams.get('to');
    if (to) {
      res.writeHead(url.searchParams.get('code') === '307' ? 307 : 302, { location: to });
      res.end();
      return;
    }
    json(res, { objects: [], from: 'redirector' });
  });
  hanging = await serve(() => {
    // Never answers: only the download's own deadline ends the request.
  });
});

const rules = (...entries: string[]): HostRule[] => parseHostRules(entries, 'test');

async function refusal(promise: Promise<unknown>): Promise<SafeFetchError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafeFetchError);
  return err as SafeFetchError;
}

const download = (url: string, allow: HostRule[], extra: Partial<Parameters<typeof safeDownload>[1]> = {}) =>
  safeDownload(url, { rules: allow, maxBytes: 1024 * 1024, timeoutMs: 10_000, ...extra });

describe('classifyAddress', () => {
  it.each<[string, 'public' | 'internal' | 'forbidden']>([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'internal'],
    ['127.255.255.254', 'internal'],
    ['10.1.2.3', 'internal'],
    ['172.16.0.1', 'internal'],
    ['172.31.255.255', 'internal'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'internal'],
    ['100.64.0.1', 'internal'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'forbidden'],
    ['0.0.0.0', 'forbidden'],
    ['0.1.2.3', 'forbidden'],
    ['224.0.0.1', 'forbidden'],
    ['255.255.255.255', 'forbidden'],
    ['240.0.0.1', 'forbidden'],
    ['192.0.2.5', 'forbidden'],
    ['198.18.0.1', 'forbidden'],
    ['::1', 'internal'],
    ['::', 'forbidden'],
    ['::ffff:127.0.0.1', 'internal'],
    ['::ffff:7f00:1', 'internal'],
    ['0:0:0:0:0:ffff:7f00:1', 'internal'],
    ['::ffff:169.254.169.254', 'forbidden'],
    ['::ffff:a9fe:a9fe', 'forbidden'],
    ['::ffff:0:a00:1', 'internal'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'forbidden'],
    ['64:ff9b::7f00:1', 'internal'],
    ['64:ff9b::808:808', 'public'],
    ['2002:7f00:1::1', 'internal'],
    ['2002:a9fe:a9fe::', 'forbidden'],
    ['fc00::1', 'internal'],
    ['fd12:3456::1', 'internal'],
    ['fe80::1', 'forbidden'],
    ['fe80::1%eth0', 'forbidden'],
    ['ff02::1', 'forbidden'],
    ['2001:db8::1', 'forbidden'],
    ['2001:0::1', 'forbidden'],
    ['100::1', 'forbidden'],
    ['2606:4700:4700::1111', 'public'],
    ['[2606:4700:4700::1111]', 'public'],
  ])('%s is %s', (address, scope) => {
    expect(classifyAddress(address).scope).toBe(scope);
  });
});

describe('safeDownload', () => {
  it('fetches an allowed origin, and a host allowed with its port may be on loopback (localhost:9000 style)', async () => {
    const viaIp = await download(`http://127.0.0.1:${target.port}/a.json`, rules(`127.0.0.1:${target.port}`));
    expect(JSON.parse(viaIp.body.toString())).toEqual({ objects: [], from: 'target', path: '/a.json' });
    const viaName = await download(
      `http://localhost:${target.port}/b.json`,
      rules(`localhost:${target.port}`),
    );
    expect(JSON.parse(viaName.body.toString()).path).toBe('/b.json');
  });

  it('refuses a host that is not allowed before connecting, naming the URL without secrets', async () => {
    const before = target.hits.length;
    const err = await refusal(
      download(
        `http://user:pw@127.0.0.1:${target.port}/secret.json?X-Amz-Signature=TOPSECRET#frag`,
        rules(`127.0.0.1:${target.port + 1}`, 'storage.example.com'),
      ),
    );
    expect(err.rule).toBe<SafeFetchRule>('host');
    expect(err.message).toBe(
      `host '127.0.0.1:${target.port}' is not allowed (only the backend's origin and the allowed hosts are fetched) ` +
        `(http://127.0.0.1:${target.port}/secret.json)`,
    );
    expect(err.message).not.toMatch(/pw|TOPSECRET|frag/);
    expect(target.hits.length).toBe(before);
  });

  it('refuses loopback in every notation when the host is allowed without a port', async () => {
    const p = target.port;
    const notations: Array<[string, string]> = [
      [`http://127.0.0.1:${p}/x`, '127.0.0.1'],
      [`http://0x7f000001:${p}/x`, '127.0.0.1'], // hex
      [`http://2130706433:${p}/x`, '127.0.0.1'], // decimal
      [`http://017700000001:${p}/x`, '127.0.0.1'], // octal
      [`http://0177.0.0.1:${p}/x`, '127.0.0.1'], // octal dotted
      [`http://127.1:${p}/x`, '127.0.0.1'], // short
      [`http://0x7f.1:${p}/x`, '127.0.0.1'], // mixed
      [`http://[::ffff:127.0.0.1]:${p}/x`, '[::ffff:7f00:1]'], // IPv4-mapped IPv6
      [`http://[0:0:0:0:0:ffff:7f00:1]:${p}/x`, '[::ffff:7f00:1]'],
      [`http://[::1]:${p}/x`, '[::1]'],
      [`http://localhost:${p}/x`, 'localhost'], // a name that resolves to loopback
    ];
    const before = target.hits.length;
    for (const [url, allowed] of notations) {
      const err = await refusal(download(url, rules(allowed)));
      expect(err.rule, url).toBe<SafeFetchRule>('address');
      expect(err.message, url).toMatch(/a loopback( \(::1\))? address; internal addresses are fetched only/);
    }
    expect(target.hits.length).toBe(before);
  });

  it('never fetches link-local (metadata), unspecified or multicast addresses, even when allowed with a port', async () => {
    for (const [url, allowed, kind] of [
      ['http://169.254.169.254/latest/meta-data/', '169.254.169.254:80', 'link-local (cloud metadata)'],
      ['http://[::ffff:169.254.169.254]/latest/', '[::ffff:a9fe:a9fe]:80', 'link-local (cloud metadata)'],
      [`http://0:${target.port}/x`, `0.0.0.0:${target.port}`, 'unspecified'],
      ['http://224.0.0.1/x', '224.0.0.1:80', 'multicast'],
      ['http://[fe80::1]/x', '[fe80::1]:80', 'link-local (fe80::/10)'],
    ]) {
      const err = await refusal(download(url!, rules(allowed!)));
      expect(err.rule, url).toBe<SafeFetchRule>('address');
      expect(err.message, url).toContain(`a ${kind}`);
      expect(err.message, url).toContain('which is never fetched');
    }
  });

  it('checks every redirect hop again: other hosts, internal addresses, schemes', async () => {
    const allowRedirector = `127.0.0.1:${redirector.port}`;
    const p = target.port;
    const cases: Array<[string, string[], SafeFetchRule]> = [
      [`http://127.0.0.1:${p}/secret`, [], 'host'],
      [`http://0x7f000001:${p}/secret`, [], 'host'],
      [`http://2130706433:${p}/secret`, [], 'host'],
      [`http://[::ffff:127.0.0.1]:${p}/secret`, [], 'host'],
      [`http://localhost:${p}/secret`, ['localhost'], 'address'],
      [`http://0x7f.1:${p}/secret`, ['127.0.0.1'], 'address'],
      [`http://[::ffff:7f00:1]:${p}/secret`, ['[::ffff:7f00:1]'], 'address'],
      ['http://169.254.169.254/latest/meta-data/iam/', ['169.254.169.254:80'], 'address'],
      ['file:///etc/passwd', [], 'scheme'],
      ['gopher://127.0.0.1:70/x', [], 'scheme'],
    ];
    for (const code of ['302', '307']) {
      for (const [to, extra, rule] of cases) {
        const start = `http://127.0.0.1:${redirector.port}/r?code=${code}&to=${encodeURIComponent(to)}`;
        const err = await refusal(download(start, rules(allowRedirector, ...extra)));
        expect(err.rule, `${code} ${to}`).toBe(rule);
      }
    }
    expect(target.hits.filter((h) => h.path === '/secret')).toEqual([]);

    // An allowed second hop is followed; credentials in a URL are never sent.
    const ok = await download(
      `http://user:pw@127.0.0.1:${redirector.port}/r?to=${encodeURIComponent(`http://u:p@localhost:${p}/fine.json`)}`,
      rules(allowRedirector, `localhost:${p}`),
    );
    expect(ok.url).toBe(`http://localhost:${p}/fine.json`);
    expect(JSON.parse(ok.body.toString()).from).toBe('target');
    expect(target.hits.at(-1)).toEqual({ path: '/fine.json', authorization: undefined });
    expect(redirector.hits.at(-1)?.authorization).toBeUndefined();
  });

  it('follows at most 5 redirects', async () => {
    const allow = rules(`127.0.0.1:${redirector.port}`);
    const five = await download(`http://127.0.0.1:${redirector.port}/chain?hops=5`, allow);
    expect(JSON.parse(five.body.toString()).from).toBe('redirector');
    const err = await refusal(download(`http://127.0.0.1:${redirector.port}/chain?hops=6`, allow));
    expect(err.rule).toBe<SafeFetchRule>('redirect');
    expect(err.message).toMatch(/^more than 5 redirects \(http:\/\/127\.0\.0\.1:\d+\/chain\)$/);
  });

  it('connects to the address that was checked, not to what DNS answers next (rebinding)', async () => {
    // The same port on two loopback addresses: the checked one and the one DNS "rebinds" to.
    const pinned = target;
    let rebound: Served;
    try {
      rebound = await serve(
        (_req, res) => json(res, { objects: [], from: 'rebound' }),
        '127.0.0.2',
        pinned.port,
      );
    } catch {
      // 127.0.0.2 not routable here, or the port taken on it: nothing to compare against.
      return;
    }
    const answers: string[] = [];
    const resolve = async (hostname: string) => {
      answers.push(hostname);
      return [{ address: answers.length === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    };
    const res = await download(
      `http://rebind.test:${pinned.port}/pin.json`,
      rules(`rebind.test:${pinned.port}`),
      {
        resolve,
      },
    );
    expect(JSON.parse(res.body.toString())).toEqual({ objects: [], from: 'target', path: '/pin.json' });
    expect(answers).toEqual(['rebind.test']);
    expect(rebound.hits).toEqual([]);
  });

  it('with a pool, reuses a connection only to the address checked for that download', async () => {
    const pinned = target;
    let rebound: Served;
    try {
      rebound = await serve(
        (_req, res) => json(res, { objects: [], from: 'rebound' }),
        '127.0.0.2',
        pinned.port,
      );
    } catch {
      return; // 127.0.0.2 not routable here: see the rebinding test above
    }
    const answers = ['127.0.0.1', '127.0.0.1', '127.0.0.2'];
    const resolve = async () => [{ address: answers.shift()!, family: 4 }];
    let connections = 0;
    const count = () => connections++;
    pinned.server.on('connection', count);
    const pool = new DownloadPool();
    try {
      const get = (name: string) =>
        download(`http://pool.test:${pinned.port}/${name}`, rules(`pool.test:${pinned.port}`), {
          resolve,
          pool,
        });
      const first = await get('1.json');
      const second = await get('2.json');
      expect(JSON.parse(first.body.toString()).from).toBe('target');
      expect(JSON.parse(second.body.toString())).toEqual({ objects: [], from: 'target', path: '/2.json' });
      expect(connections).toBe(1);
      // DNS now answers another address: checked again, and the pooled socket is not used for it.
      const third = await get('3.json');
      expect(JSON.parse(third.body.toString()).from).toBe('rebound');
      expect(answers).toEqual([]);
      expect(connections).toBe(1);
    } finally {
      pool.close();
      pinned.server.off('connection', count);
    }
    expect(rebound.hits.map((h) => h.path)).toEqual(['/3.json']);
  });

  it('with a pool, sends a GET again on a new connection when the server closed the kept-alive one', async () => {
    // Answers the first request of each connection and drops the connection at its second.
    const perSocket = new WeakMap<object, number>();
    const closing = await serve((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n > 1) req.socket.destroy();
      else json(res, { objects: [], path: req.url });
    });
    const pool = new DownloadPool();
    try {
      const get = (name: string) =>
        download(`http://127.0.0.1:${closing.port}/${name}`, rules(`127.0.0.1:${closing.port}`), { pool });
      expect(JSON.parse((await get('a.json')).body.toString()).path).toBe('/a.json');
      expect(JSON.parse((await get('b.json')).body.toString()).path).toBe('/b.json');
      expect(closing.hits.map((h) => h.path)).toEqual(['/a.json', '/b.json', '/b.json']);
    } finally {
      pool.close();
    }
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const err = await refusal(download('http://mixed.test/x.json', rules('mixed.test'), { resolve }));
    expect(err.rule).toBe<SafeFetchRule>('address');
    expect(err.message).toContain("host 'mixed.test' resolves to 10.0.0.7, a private address");
  });

  it('bounds the body size and the time', async () => {
    const allow = rules(`127.0.0.1:${target.port}`, `127.0.0.1:${hanging.port}`);
    const big = await refusal(download(`http://127.0.0.1:${target.port}/big`, allow, { maxBytes: 100_000 }));
    expect(big.rule).toBe<SafeFetchRule>('size');
    expect(big.message).toContain('file exceeds the size limit of 100000 bytes');
    const slow = await refusal(download(`http://127.0.0.1:${hanging.port}/slow`, allow, { timeoutMs: 300 }));
    expect(slow.rule).toBe<SafeFetchRule>('timeout');
    expect(slow.message).toMatch(/^download timed out after 0\.3s/);
  });

  it('rejects malformed allow-list entries, naming the entry and the rule', () => {
    expect(() => parseHostRules('ok.example.com, evil.com/path', 'SYNAPSE_ALLOWED_HOSTS')).toThrow(
      "SYNAPSE_ALLOWED_HOSTS: 'evil.com/path' is not an allowed host entry: a host only, without path or query",
    );
    expect(() => parseHostRules(['user:pw@x.com'], 'allowed_hosts')).toThrow(
      'credentials are not allowed in an entry',
    );
    expect(() => parseHostRules(['ftp://x.com'], 'allowed_hosts')).toThrow('only http and https origins');
    expect(() => parseHostRules(['a.*.com'], 'allowed_hosts')).toThrow(
      "a wildcard is only allowed as a leading '*.'",
    );
    expect(parseHostRules('  ,https://files.example.com:8443, *.s3.amazonaws.com ', 'env')).toEqual([
      expect.objectContaining({
        hostname: 'files.example.com',
        protocol: 'https:',
        port: 8443,
        trustsInternal: true,
      }),
      expect.objectContaining({
        hostname: '*.s3.amazonaws.com',
        protocol: null,
        port: null,
        trustsInternal: false,
      }),
    ]);
  });
});
