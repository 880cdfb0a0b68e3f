/**
 * The dashboard's login, through real HTTP: no session → the login page (or 401 for scripts);
 * wrong credentials refused; the platform's email/password or a user token → a session cookie
 * (HttpOnly, SameSite=Strict, bounded) that opens the pages; failed logins limited per client;
 * the opt-out only on loopback; the login file of a persistent server.
 * Own servers: login limits per client, the dashboardAuth option, and a restart on a data folder.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../src/index.ts';
import { isLoopbackHost } from '../src/server.ts';

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer({ runJobs: false });
});
afterAll(() => server?.close());

function login(target: DevServer, fields: Record<string, string>, cookie?: string) {
  return fetch(`${target.url}/ui/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
}

const get = (path: string, cookie?: string, target = server) =>
  fetch(`${target.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });

const cookieOf = (res: Response) => (res.headers.get('set-cookie') ?? '').split(';')[0];

describe('dashboard login', () => {
  it('sends a visitor without a session to the login page, and scripts get 401', async () => {
    for (const path of ['/ui/', '/ui/jobs', '/ui/projects/1']) {
      const res = await get(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent(path)}`);
    }
    const live = await get('/ui/jobs/00000000-0000-0000-0000-000000000000/live');
    expect(live.status).toBe(401);
    expect(await live.json()).toEqual({ detail: 'Log in to the dashboard first (/ui/login).' });
    const page = await get('/ui/login?next=/ui/jobs');
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('<form class="login" method="post" action="/ui/login">');
    expect(text).toContain('value="/ui/jobs"');
    // The stylesheet of the login page needs no session.
    expect((await get('/ui/assets/dashboard.css')).status).toBe(200);
  });

  it('refuses wrong credentials and the agent token', async () => {
    const { email, agentToken } = server.credentials;
    const attempts: Array<Record<string, string>> = [
      { email, password: 'not-the-password' },
      { email: 'nobody@example.com', password: server.credentials.password! },
      { token: agentToken },
      { token: 'syn_0000000000000000000000000000000000000000' },
      {},
    ];
    for (const fields of attempts) {
      const res = await login(server, fields);
      expect(res.status, JSON.stringify(Object.keys(fields))).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      const text = await res.text();
      expect(text).toContain('Wrong email or password, or an unknown token.');
      expect(text).not.toContain(agentToken);
    }
  });

  it('opens a session with the email and password, with a safe cookie', async () => {
    const res = await login(server, {
      email: server.credentials.email,
      password: server.credentials.password!,
      next: '/ui/jobs',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/jobs');
    const header = res.headers.get('set-cookie') ?? '';
    const [pair, ...flags] = header.split(';').map((p) => p.trim());
    expect(pair).toMatch(/^synapse_dashboard=[A-Za-z0-9_-]{43}$/);
    expect(flags).toEqual(
      expect.arrayContaining(['Path=/ui', 'HttpOnly', 'SameSite=Strict', `Max-Age=${12 * 60 * 60}`]),
    );
    for (const path of ['/ui/', '/ui/jobs', '/ui/models'])
      expect((await get(path, pair)).status, path).toBe(200);
    // A forged or foreign `next` goes to the overview, not elsewhere.
    const away = await login(server, { token: server.credentials.accessToken, next: '//evil.example/x' });
    expect(away.headers.get('location')).toBe('/ui/');

    // Logging out ends the session on the server.
    const out = await fetch(`${server.url}/ui/logout`, {
      method: 'POST',
      headers: { cookie: pair },
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await get('/ui/', pair)).status).toBe(303);
    expect((await get('/ui/', 'synapse_dashboard=made-up-session-id')).status).toBe(303);
  });

  it('opens a session with an access token', async () => {
    const res = await login(server, { token: `Token ${server.credentials.accessToken}` });
    expect(res.status).toBe(303);
    expect((await get('/ui/', cookieOf(res))).status).toBe(200);
  });

  it('limits failed logins per client, even for the right password afterwards', async () => {
    const limited = await startDevServer({ runJobs: false });
    try {
      for (let i = 0; i < 10; i++) {
        expect(
          (await login(limited, { email: limited.credentials.email, password: `wrong-${i}` })).status,
        ).toBe(401);
      }
      const res = await login(limited, {
        email: limited.credentials.email,
        password: limited.credentials.password!,
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toContain('Too many failed logins (10 a minute)');
    } finally {
      await limited.close();
    }
  });
});

describe('dashboard login opt-out', () => {
  it('knows loopback addresses in every spelling', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of [
      '0.0.0.0',
      '::',
      '192.168.1.20',
      '10.0.0.1',
      'example.com',
      '127.0.0.1.example.com',
      '::ffff:10.0.0.1',
    ])
      expect(isLoopbackHost(host), host).toBe(false);
  });

  it('is refused on an address other than loopback, with a clear message', async () => {
    await expect(startDevServer({ host: '0.0.0.0', dashboardAuth: false, runJobs: false })).rejects.toThrow(
      /dashboard login can be turned off .* only on a loopback address; this server would bind 0\.0\.0\.0/,
    );
  });

  it('serves the pages without a login on loopback', async () => {
    const open = await startDevServer({ host: '127.0.0.1', dashboardAuth: false, runJobs: false });
    try {
      expect((await get('/ui/', undefined, open)).status).toBe(200);
      expect((await get('/ui/jobs', undefined, open)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('login file', () => {
  it('holds the email and password (mode 0600) of a persistent server, and they log in', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'devserver-login-'));
    try {
      const first = await startDevServer({ dataDir, runJobs: false });
      let path: string | null;
      try {
        path = first.loginFile;
        expect(path).toBe(join(dataDir, 'login.json'));
        expect((await stat(path!)).mode & 0o777).toBe(0o600);
      } finally {
        await first.close();
      }
      // A later start no longer knows the password, but the file is still there and still works.
      const again = await startDevServer({ dataDir, runJobs: false });
      try {
        expect(again.credentials.password).toBeUndefined();
        expect(again.loginFile).toBe(path);
        const saved = JSON.parse(await readFile(path!, 'utf8'));
        const res = await login(again, saved);
        expect(res.status).toBe(303);
        expect((await get('/ui/', cookieOf(res), again)).status).toBe(200);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
