/**
 * `media/<path>`: stored bytes (model and plugin archives, data files, log files). A request needs
 * a credential (#11 item 3): a signed URL as the API hands them out (`?expires=&signature=`), or a
 * user/access token of the tenant the file belongs to.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { authenticate } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { tenantOfMediaPath } from '../tenancy.ts';
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
  // Public to the token check in front of every route: this route checks either credential itself.
  app.get('/media/*', { config: { public: true } }, async (req, reply) => {
    // The router has decoded the path once already (a second decode would misread `%25`).
    const relative = ctx.media.canonical((req.params as { '*': string })['*']);
    if (relative === null) return reply.code(404).send({ detail: 'Not found.' });
    const { expires, signature } = req.query as { expires?: unknown; signature?: unknown };
    if (expires !== undefined || signature !== undefined) {
      const check = ctx.media.checkSignature(relative, expires, signature);
      if (check === 'expired') throw new ApiError(403, { detail: 'This media URL has expired.' });
      if (check === 'invalid')
        throw new ApiError(403, { detail: 'This media URL has an invalid signature.' });
    } else {
      const principal = await authenticate(ctx, req);
      // Another tenant's file is as absent as a missing one: its existence is not revealed.
      if (tenantOfMediaPath(relative) !== principal.tenant)
        return reply.code(404).send({ detail: 'Not found.' });
    }
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
