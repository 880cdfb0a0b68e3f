/**
 * The web dashboard under `/ui/`: server-rendered pages read straight from the collections, a
 * stylesheet, and one small script for the live parts. Every page needs a login with the
 * platform's own credentials (ui/session.ts) unless the server runs with `dashboardAuth: false`
 * on loopback; each request then acts for its platform user (`req.principal`: the user's tenant
 * scopes every page, as it scopes the API). Pages show no
 * credential: free-form values are masked where they are rendered, and each page and live answer
 * gets a final sweep for every secret the server knows.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOfUser } from '../auth.ts';
import type { DevContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { stopJob } from '../jobs.ts';
import { callServeApplication } from '../plugin-run.ts';
import { stopServeApp } from '../serve-apps.ts';
import { heading, section } from './components.ts';
import { pageParam } from './data.ts';
import { type Html, html, layout, uiPath } from './html.ts';
import { jobLive, jobOr404, jobPage, jobsPage } from './pages/jobs.ts';
import { modelsPage } from './pages/models.ts';
import { overviewPage } from './pages/overview.ts';
import { pluginsPage } from './pages/plugins.ts';
import { projectPage, projectsPage } from './pages/projects.ts';
import {
  type ServeCall,
  serveApplicationOr404,
  serveApplicationPage,
  serveApplicationsPage,
} from './pages/serve-applications.ts';
import { taskPage } from './pages/task.ts';
import {
  type DashboardSessions,
  loginUser,
  MAX_FAILURES,
  sessionCookie,
  sessionCookieHeader,
} from './session.ts';

const PUBLIC = { config: { public: true } };
const HTML = 'text/html; charset=utf-8';

/** Only this server's own script, styles and data; images may also be plain external URLs. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const ASSETS: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Pages reachable without a session: the login itself and what it is drawn with. */
const OPEN_PATHS = new Set([
  '/ui/login',
  '/ui/logout',
  '/ui/assets/dashboard.css',
  '/ui/assets/dashboard.js',
  '/ui/assets/favicon.svg',
]);
/** Form bodies of the login are small. */
const FORM_LIMIT = 16 * 1024;

const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
const queryOf = (req: FastifyRequest) => (req.query ?? {}) as Record<string, unknown>;

function errorPage(status: number): Html {
  const [title, text] =
    status === 404
      ? ['Not found', 'There is nothing at this address: it may have been deleted, or the link is wrong.']
      : ['Something went wrong', 'The page could not be rendered; the devserver log has the details.'];
  return layout(title, null, html`${heading(title, text)}<p><a href="/ui/">Back to the overview</a></p>`);
}

/** A path under `/ui/` to return to after login (anything else is the overview). */
function nextPath(value: unknown): string {
  return typeof value === 'string' && /^\/ui\/(?!\/)[^\\\s]*$/.test(value) && value.length <= 2048
    ? value
    : '/ui/';
}

function loginPage(next: string, message?: string): Html {
  const form = html`<form class="login" method="post" action="/ui/login">
<input type="hidden" name="next" value="${next}">
<label>Email <input name="email" type="email" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<p class="note">or</p>
<label>Access token <input name="token" type="password" autocomplete="off"></label>
<button type="submit">Log in</button>
</form>`;
  return layout(
    'Log in',
    null,
    html`${heading('Log in', 'The dashboard uses the platform’s own login: the email and password in login.json (in the data directory of synapse dev or npm start), or your access token (in ~/.synapse/config.json).')}
${message && html`<p class="error" role="alert">${message}</p>`}
${section('Credentials', form)}`,
  );
}

/** The user behind the request's session, or null. */
function sessionUser(sessions: DashboardSessions, req: FastifyRequest): number | null {
  return sessions.userOf(sessionCookie(req));
}

/** The first user (the developer) acts for every request when the login is off. */
async function soleUser(ctx: DevContext): Promise<number | undefined> {
  const [user] = await ctx.db.query<{ id: number }>('SELECT id FROM users ORDER BY id LIMIT 1');
  return user?.id;
}

export default async function uiRoutes(app: FastifyInstance, ctx: DevContext): Promise<void> {
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) {
    assets.set(name, await readFile(new URL(`./assets/${name}`, import.meta.url)));
  }

  app.addHook('onSend', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  // Every page asks for a session first; the live JSON and non-GET requests answer 401 instead
  // of a redirect (a script cannot follow a login form).
  const sessions = ctx.dashboardSessions;
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0].replace(/\/+$/, '') || '/ui';
    const user = sessions ? sessionUser(sessions, req) : await soleUser(ctx);
    const principal = user == null ? null : await principalOfUser(ctx, user);
    if (principal) {
      req.principal = principal;
      return;
    }
    if (OPEN_PATHS.has(path)) return;
    if (req.method !== 'GET' || path.endsWith('/live')) {
      return reply.code(401).send({ detail: 'Log in to the dashboard first (/ui/login).' });
    }
    return reply.redirect(`/ui/login?next=${encodeURIComponent(req.url)}`, 303);
  });

  app.get('/login', PUBLIC, async (req, reply) => {
    const next = nextPath(queryOf(req).next);
    if (req.principal) return reply.redirect(next, 303);
    return reply.type(HTML).send(String(loginPage(next)));
  });

  app.post('/login', PUBLIC, async (req, reply) => {
    const fields = (req.body ?? {}) as Record<string, unknown>;
    const next = nextPath(fields.next);
    if (!sessions) return reply.redirect(next, 303);
    const wait = sessions.retryAfter(req.ip);
    if (wait > 0) {
      const message = `Too many failed logins (${MAX_FAILURES} a minute): try again in ${wait} s.`;
      return reply
        .code(429)
        .header('retry-after', String(wait))
        .type(HTML)
        .send(String(loginPage(next, message)));
    }
    const user = await loginUser(ctx, fields);
    if (user === null) {
      sessions.recordFailure(req.ip);
      const message = 'Wrong email or password, or an unknown token.';
      return reply
        .code(401)
        .type(HTML)
        .send(String(loginPage(next, message)));
    }
    sessions.end(sessionCookie(req));
    const id = sessions.create(user);
    return reply.header('set-cookie', sessionCookieHeader(ctx, id, sessions.ttlMs)).redirect(next, 303);
  });

  app.post('/logout', PUBLIC, async (req, reply) => {
    sessions?.end(sessionCookie(req));
    return reply.header('set-cookie', sessionCookieHeader(ctx, null)).redirect('/ui/login', 303);
  });
  app.setErrorHandler((error, req, reply) => {
    const status = error instanceof ApiError && error.statusCode === 404 ? 404 : 500;
    if (status === 500) req.log.error(error);
    return reply
      .code(status)
      .type(HTML)
      .send(String(errorPage(status)));
  });
  app.setNotFoundHandler((_req, reply) =>
    reply
      .code(404)
      .type(HTML)
      .send(String(errorPage(404))),
  );

  const page = (url: string, render: (req: FastifyRequest) => Promise<Html>) =>
    app.get(url, PUBLIC, async (req, reply) =>
      reply.type(HTML).send(ctx.secrets.sweep(String(await render(req)))),
    );

  page('/', () => overviewPage(ctx));
  page('/projects', (req) => projectsPage(ctx, pageParam(req.query)));
  page('/projects/:id', (req) => projectPage(ctx, idOf(req), pageParam(req.query)));
  page('/tasks/:id', (req) => taskPage(ctx, idOf(req)));
  page('/jobs', (req) => jobsPage(ctx, pageParam(req.query)));
  page('/jobs/:id', (req) => jobPage(ctx, idOf(req)));
  page('/models', (req) => modelsPage(ctx, pageParam(req.query)));
  page('/plugins', (req) => pluginsPage(ctx, queryOf(req)));
  page('/serve-applications', (req) => serveApplicationsPage(ctx, pageParam(req.query)));

  page('/serve-applications/:id', (req) => serveApplicationPage(ctx, idOf(req)));

  // Actions are forms posted to this server (the session cookie is SameSite=Strict, so another
  // site cannot post them); each answers with the page that shows the outcome.
  app.post('/jobs/:id/stop', PUBLIC, async (req, reply) => {
    await stopJob(ctx, (await jobOr404(ctx, idOf(req))).id as string);
    return reply.redirect(uiPath('jobs', idOf(req)), 303);
  });

  app.post('/serve-applications/:id/stop', PUBLIC, async (req, reply) => {
    await stopServeApp(ctx, await serveApplicationOr404(ctx, idOf(req)));
    return reply.redirect('/ui/serve-applications', 303);
  });

  app.post('/serve-applications/:id/call', PUBLIC, async (req, reply) => {
    const fields = (req.body ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const call: ServeCall = {
      json: text(fields.json) || '{}',
      path: text(fields.path) || '/',
      model: text(fields.model).trim(),
    };
    const app = await serveApplicationOr404(ctx, idOf(req));
    try {
      const json = JSON.parse(call.json);
      if (call.model && !/^\d+$/.test(call.model)) throw new Error('The model id must be a whole number.');
      call.answer = await callServeApplication(ctx, app, {
        json,
        path: call.path,
        model: call.model || undefined,
      });
    } catch (err) {
      const detail = err instanceof ApiError ? (err.body as { detail?: unknown }).detail : undefined;
      call.error =
        err instanceof SyntaxError
          ? `The input is not valid JSON: ${err.message}`
          : `The application answered an error: ${typeof detail === 'string' ? detail : JSON.stringify(detail ?? (err as Error).message)}`;
    }
    const body = String(await serveApplicationPage(ctx, idOf(req), call));
    return reply
      .code(call.error ? 400 : 200)
      .type(HTML)
      .send(ctx.secrets.sweep(body));
  });

  app.get('/jobs/:id/live', PUBLIC, async (req) =>
    ctx.secrets.sweepValue(await jobLive(ctx, idOf(req), queryOf(req))),
  );

  app.get('/assets/:name', PUBLIC, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const body = assets.get(name);
    if (!body) return reply.callNotFound();
    return reply.type(ASSETS[name]).send(body);
  });
}
