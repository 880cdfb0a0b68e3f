/** `media/<path>`: stored bytes (model and plugin archives, data files, log files), no auth. */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { RouteModule } from './index.ts';

const TYPES: Record<string, string> = {
  '.zip': 'application/zip',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv',
  '.pdf': 'application/pdf',
};

const routes: RouteModule = (app, ctx) => {
  app.get('/media/*', { config: { public: true } }, async (req, reply) => {
    const relative = decodeURIComponent((req.params as { '*': string })['*']);
    const path = ctx.media.resolve(relative);
    const info = path ? await stat(path).catch(() => null) : null;
    if (!info?.isFile()) return reply.code(404).send({ detail: 'Not found.' });
    return reply
      .type(TYPES[extname(relative).toLowerCase()] ?? 'application/octet-stream')
      .header('content-length', info.size)
      .send(ctx.media.open(relative));
  });
};
export default routes;
