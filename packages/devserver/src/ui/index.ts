/**
 * The web dashboard under `/ui/`: server-rendered pages read straight from the collections, a
 * stylesheet, and one small script for the live parts. No login: the devserver serves the local
 * machine, and the pages never show a credential.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DevContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { heading } from './components.ts';
import { pageParam } from './data.ts';
import { type Html, html, layout } from './html.ts';
import { jobLive, jobPage, jobsPage } from './pages/jobs.ts';
import { modelsPage } from './pages/models.ts';
import { overviewPage } from './pages/overview.ts';
import { pluginsPage } from './pages/plugins.ts';
import { projectPage, projectsPage } from './pages/projects.ts';
import { serveApplicationsPage } from './pages/serve-applications.ts';
import { taskPage } from './pages/task.ts';

const PUBLIC = { config: { public: true } };
const HTML = 'text/html; charset=utf-8';

/** Only this server's own script, styles and data; images may also be plain external URLs. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const ASSETS: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;
const queryOf = (req: FastifyRequest) => (req.query ?? {}) as Record<string, unknown>;

function errorPage(status: number): Html {
  const [title, text] =
    status === 404
      ? ['Not found', 'There is nothing at this address: it may have been deleted, or the link is wrong.']
      : ['Something went wrong', 'The page could not be rendered; the devserver log has the details.'];
  return layout(title, null, html`${heading(title, text)}<p><a href="/ui/">Back to the overview</a></p>`);
}

export default async function uiRoutes(app: FastifyInstance, ctx: DevContext): Promise<void> {
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) {
    assets.set(name, await readFile(new URL(`./assets/${name}`, import.meta.url)));
  }

  app.addHook('onSend', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
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
    app.get(url, PUBLIC, async (req, reply) => reply.type(HTML).send(String(await render(req))));

  page('/', () => overviewPage(ctx));
  page('/projects', (req) => projectsPage(ctx, pageParam(req.query)));
  page('/projects/:id', (req) => projectPage(ctx, idOf(req), pageParam(req.query)));
  page('/tasks/:id', (req) => taskPage(ctx, idOf(req)));
  page('/jobs', (req) => jobsPage(ctx, pageParam(req.query)));
  page('/jobs/:id', (req) => jobPage(ctx, idOf(req)));
  page('/models', (req) => modelsPage(ctx, pageParam(req.query)));
  page('/plugins', (req) => pluginsPage(ctx, queryOf(req)));
  page('/serve-applications', (req) => serveApplicationsPage(ctx, pageParam(req.query)));

  app.get('/jobs/:id/live', PUBLIC, (req) => jobLive(ctx, idOf(req), queryOf(req)));

  app.get('/assets/:name', PUBLIC, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const body = assets.get(name);
    if (!body) return reply.callNotFound();
    return reply.type(ASSETS[name]).send(body);
  });
}
