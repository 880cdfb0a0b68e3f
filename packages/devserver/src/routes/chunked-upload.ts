/**
 * Chunked upload (backend-api.md §7): each PUT appends one Content-Range part, the MD5 is kept
 * running so finalising does not re-read the file, and a bad part or checksum leaves nothing
 * half-written behind.
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { CHUNKED_UPLOAD_STATUS } from 'synapse-core';
import { apiBase, type DevContext, getOr404, requestBaseUrl } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { ApiError, badRequest, invalidPk } from '../errors.ts';
import type { RouteModule } from './index.ts';

const EXPIRY_MS = 24 * 3600 * 1000;

function partPath(ctx: DevContext, id: string): string {
  return join(ctx.dataDir, 'uploads', `${id}.part`);
}

async function md5Of(path: string): Promise<Hash> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash;
}

function parseRange(header: string | undefined): { start: number; end: number; total: number } {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header ?? '');
  if (!m) throw badRequest({ detail: 'Invalid Content-Range' });
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (end < start || end >= total) throw badRequest({ detail: 'Invalid Content-Range' });
  return { start, end, total };
}

async function discard(req: FastifyRequest): Promise<void> {
  for await (const part of req.parts()) if (part.type === 'file') part.file.resume();
}

/**
 * The request's multipart parts; a body the parser cannot read (cut off before its closing
 * boundary, say) is the client's error, a 400 naming what is wrong, not a 500.
 */
async function* parts(req: FastifyRequest) {
  try {
    yield* req.parts();
  } catch (err) {
    throw asClientError(err);
  }
}

function asClientError(err: unknown): unknown {
  if (err instanceof ApiError || (err as { statusCode?: number }).statusCode) return err;
  return badRequest({ detail: `Multipart form parse error - ${(err as Error).message}` });
}

async function putChunk(ctx: DevContext, req: FastifyRequest, existing: Doc | null) {
  const range = parseRange(req.headers['content-range'] as string | undefined);
  const offset = existing?.offset ?? 0;
  if (existing && existing.total !== range.total) throw badRequest({ detail: 'Invalid Content-Range' });
  if (range.start !== offset) {
    await discard(req);
    throw badRequest({ detail: 'Offsets do not match', offset });
  }
  const id = (existing?.id as string) ?? randomUUID();
  const path = partPath(ctx, id);
  await mkdir(join(ctx.dataDir, 'uploads'), { recursive: true });
  const hashes = ctx.state.uploadHashes;
  let hash = hashes.get(id) ?? (existing ? await md5Of(path) : createHash('md5'));
  let filename = existing?.filename as string | undefined;
  let received = -1;
  for await (const part of parts(req)) {
    if (part.type === 'field') {
      if (part.fieldname === 'filename' && !existing) filename = String(part.value);
      continue;
    }
    if (part.fieldname !== 'file' || received !== -1) {
      part.file.resume();
      continue;
    }
    // Hash a copy: the running hash only moves on once the part is known to be whole.
    const partHash = hash.copy();
    received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        partHash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(
        part.file,
        counter,
        createWriteStream(path, { flags: existing ? 'r+' : 'w', start: offset, highWaterMark: 1024 * 1024 }),
      );
    } catch (err) {
      await truncate(path, offset).catch(() => {});
      throw asClientError(err);
    }
    if (part.file.truncated || received !== range.end - range.start + 1) {
      await (existing ? truncate(path, offset) : rm(path, { force: true }));
      throw badRequest({ detail: 'Invalid Content-Range' });
    }
    hash = partHash;
  }
  if (received === -1) throw badRequest({ file: ['No file was submitted.'] });
  if (!filename) throw badRequest({ filename: ['This field is required.'] });
  hashes.set(id, hash);
  const values = { filename, offset: range.end + 1, total: range.total, status: 'uploading' };
  const doc = existing
    ? await ctx.collections.chunked_uploads.update(id, values)
    : await ctx.collections.chunked_uploads.create({
        id,
        ...values,
        expires: new Date(Date.now() + EXPIRY_MS).toISOString(),
        created_at: new Date().toISOString(),
      });
  return {
    id,
    url: `${apiBase(ctx, req)}/chunked_upload/${id}/`,
    offset: doc!.offset,
    filename,
    expires: doc!.expires,
  };
}

const routes: RouteModule = (app, ctx) => {
  const uploads = ctx.collections.chunked_uploads;

  app.put('/chunked_upload/', (req) => putChunk(ctx, req, null));

  app.put('/chunked_upload/:id/', async (req) => {
    const upload = await getOr404(uploads, (req.params as { id: string }).id);
    if (upload.status !== 'uploading') throw badRequest({ detail: 'Upload already completed' });
    return putChunk(ctx, req, upload);
  });

  // An upload's state (`get_chunked_upload`): the Python SDK reads `completed_at` to learn whether
  // a finish whose answer it lost went through.
  app.get('/chunked_upload/:id/', async (req) => {
    const upload = await getOr404(uploads, (req.params as { id: string }).id);
    const complete = upload.status === 'complete';
    return {
      id: upload.id,
      url: `${apiBase(ctx, req)}/chunked_upload/${upload.id}/`,
      file: complete ? ctx.media.signedUrl(requestBaseUrl(ctx, req), upload.file) : null,
      filename: upload.filename,
      offset: upload.offset,
      status: complete ? CHUNKED_UPLOAD_STATUS.complete : CHUNKED_UPLOAD_STATUS.uploading,
      created_at: upload.created_at ?? null,
      completed_at: complete ? (upload.completed_at ?? null) : null,
      expires: upload.expires,
    };
  });

  app.post('/chunked_upload/:id/', async (req) => {
    const upload = await getOr404(uploads, (req.params as { id: string }).id);
    const id = upload.id as string;
    if (upload.status === 'complete') {
      return {
        id,
        file: ctx.media.signedUrl(requestBaseUrl(ctx, req), upload.file),
        checksum: upload.checksum,
        size: upload.total,
      };
    }
    const md5 = (req.body as { md5?: unknown } | null)?.md5;
    if (typeof md5 !== 'string' || !md5) throw badRequest({ md5: ['This field is required.'] });
    if (upload.offset !== upload.total) throw badRequest({ detail: 'Upload is incomplete' });
    const path = partPath(ctx, id);
    const hashes = ctx.state.uploadHashes;
    const actual = (hashes.get(id) ?? (await md5Of(path))).digest('hex');
    hashes.delete(id);
    if (actual !== md5.toLowerCase()) {
      await rm(path, { force: true });
      await uploads.remove(id);
      throw badRequest({ detail: 'md5 checksum does not match' });
    }
    const file = await ctx.media.adopt(path, `chunked_uploads/${id}/${upload.filename}`);
    await uploads.update(id, {
      status: 'complete',
      file,
      checksum: actual,
      completed_at: new Date().toISOString(),
    });
    return {
      id,
      file: ctx.media.signedUrl(requestBaseUrl(ctx, req), file),
      checksum: actual,
      size: (await stat(ctx.media.pathOf(file)!)).size,
    };
  });
};
export default routes;

/** Takes a completed upload for a new owner (model, data file): its file moves to `target`. */
export async function claimChunkedUpload(
  ctx: DevContext,
  field: string,
  id: unknown,
  target: (filename: string) => string,
) {
  const upload = typeof id === 'string' ? await ctx.collections.chunked_uploads.get(id) : null;
  if (upload?.status !== 'complete') {
    throw invalidPk(field, id);
  }
  const source = ctx.media.pathOf(upload.file)!;
  const ref = await ctx.media.adopt(source, target(upload.filename));
  await ctx.collections.chunked_uploads.remove(upload.id);
  return {
    ref,
    checksum: upload.checksum as string,
    size: upload.total as number,
    filename: upload.filename as string,
  };
}
