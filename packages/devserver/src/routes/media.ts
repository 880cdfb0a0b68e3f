/**
 * `media/<path>`: stored bytes (model and plugin archives, data files, log files). A request needs
 * a credential (#11 item 3): a signed URL as the API hands them out (`?expires=&signature=`), or a
 * user/access token of the tenant the file belongs to.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
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
 * A small file's bytes, or the open descriptor and size of a larger one (to stream), or null when
 * there is no such regular file. Annotation files and images are a few KB: they are read
 * synchronously (open, fstat, read, close: microseconds each), which costs far less CPU than four
 * trips through the thread pool and a read stream; the size bound keeps the event loop's wait as
 * short. Opened non-blocking, so that a FIFO cannot hold the loop.
 */
function readMediaFile(path: string): Buffer | { fd: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  let streamed = false;
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return null;
    if (info.size > WHOLE_READ_MAX) {
      streamed = true;
      return { fd, size: info.size };
    }
    const body = Buffer.allocUnsafe(info.size);
    let filled = 0;
    while (filled < body.length) {
      const read = readSync(fd, body, filled, body.length - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return filled === body.length ? body : body.subarray(0, filled);
  } finally {
    // A streamed file's descriptor is closed by its stream.
    if (!streamed) closeSync(fd);
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
    // One turn of the event loop first: a burst of file requests interleaves with the other
    // requests waiting, as it would if the reads went through the thread pool.
    await new Promise((resolve) => setImmediate(resolve));
    const found = path ? readMediaFile(path) : null;
    if (!found) return reply.code(404).send({ detail: 'Not found.' });
    reply.type(TYPES[extname(relative).toLowerCase()] ?? 'application/octet-stream');
    if (Buffer.isBuffer(found)) return reply.send(found);
    return reply.header('content-length', found.size).send(createReadStream('', { fd: found.fd }));
  });
};
export default routes;
