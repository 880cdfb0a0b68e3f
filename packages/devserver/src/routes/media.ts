/**
 * `media/<path>`: stored bytes (model and plugin archives, data files, log files). A request needs
 * a credential (#11 item 3): a signed URL as the API hands them out (`?expires=&signature=`), or a
 * user/access token of the tenant the file belongs to.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
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

/** Files up to this size are read whole and sent from one buffer; larger ones are streamed. */
const WHOLE_READ_MAX = 1024 * 1024;

/**
 * A small file's bytes, or the open file and size of a larger one (to stream), or null when there
 * is no such regular file. Annotation files and images are a few KB: one read into one buffer, not
 * a stream's machinery. Opened non-blocking, so that a FIFO cannot hold a thread of the pool.
 */
async function readMediaFile(path: string): Promise<Buffer | { file: FileHandle; size: number } | null> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => null);
  if (!file) return null;
  let streamed = false;
  try {
    const info = await file.stat();
    if (!info.isFile()) return null;
    if (info.size > WHOLE_READ_MAX) {
      streamed = true;
      return { file, size: info.size };
    }
    const body = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < body.length) {
      const { bytesRead } = await file.read(body, filled, body.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === body.length ? body : body.subarray(0, filled);
  } finally {
    // A streamed file is closed by its stream.
    if (!streamed) await file.close();
  }
}

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
    const found = path ? await readMediaFile(path) : null;
    if (!found) return reply.code(404).send({ detail: 'Not found.' });
    reply.type(TYPES[extname(relative).toLowerCase()] ?? 'application/octet-stream');
    if (Buffer.isBuffer(found)) return reply.send(found);
    return reply.header('content-length', found.size).send(found.file.createReadStream({ start: 0 }));
  });
};
export default routes;
