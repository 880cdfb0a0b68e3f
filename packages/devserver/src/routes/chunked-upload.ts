/**
 * Chunked upload (backend-api.md §7): each PUT appends one Content-Range part, the MD5 is kept
 * running so finalising does not re-read the file, and a bad part or checksum leaves nothing
 * half-written behind.
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { CHUNKED_UPLOAD_STATUS } from 'synapse-core';
import { apiBase, type DevContext, getOr404, requestBaseUrl } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { badRequest, invalidPk } from '../errors.ts';
import { FormStreamParser, formBoundary } from '../form-stream.ts';
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

/** The rest of a request whose chunk is refused, read and dropped so the answer gets through. */
async function discard(req: FastifyRequest): Promise<void> {
  for await (const _ of req.raw);
}

/**
 * After a refused part the rest of the body is still read (and dropped), so that the client,
 * still sending, gets the 400; past this much the connection is dropped instead.
 */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/** Bytes gathered before each disk write: few, large writes, and memory bounded near twice this. */
const WRITE_BATCH = 4 * 1024 * 1024;

/**
 * The chunk's bytes on their way to disk: hashed as they arrive (on a copy of the running hash,
 * which only moves on once the chunk is known to be whole), gathered into large writes at the
 * chunk's offset, one write in flight while the next batch fills.
 */
class ChunkWriter {
  received = 0;
  readonly hash: Hash;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #position: number;
  #written = Promise.resolve();
  #handle: Promise<FileHandle> | null = null;

  constructor(
    readonly path: string,
    readonly append: boolean,
    start: number,
    readonly expected: number,
    hash: Hash,
  ) {
    this.#position = start;
    this.hash = hash.copy();
  }

  add(data: Buffer): void {
    this.received += data.length;
    // More bytes than the range announced: refused now, not after reading them all.
    if (this.received > this.expected) throw badRequest({ detail: 'Invalid Content-Range' });
    this.hash.update(data);
    this.#batch.push(data);
    this.#batchBytes += data.length;
  }

  get full(): boolean {
    return this.#batchBytes >= WRITE_BATCH;
  }

  /** Waits for the write in flight, then starts writing the gathered batch. */
  async flush(): Promise<void> {
    await this.#written;
    if (this.#batchBytes === 0) return;
    const [batch, bytes, position] = [this.#batch, this.#batchBytes, this.#position];
    this.#batch = [];
    this.#batchBytes = 0;
    this.#position += bytes;
    this.#handle ??= open(this.path, this.append ? 'r+' : 'w');
    const handle = await this.#handle;
    this.#written = handle.writev(batch, position).then(({ bytesWritten }) => {
      if (bytesWritten !== bytes) throw new Error(`Short write to ${this.path}`);
    });
    this.#written.catch(() => {}); // awaited by the next flush or by close
  }

  /** Writes what is left and closes the file; the first failure of any write is thrown here. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.#written;
    } finally {
      const handle = this.#handle;
      this.#handle = null;
      await (await handle?.catch(() => null))?.close();
    }
  }
}

async function putChunk(ctx: DevContext, req: FastifyRequest, existing: Doc | null) {
  const range = parseRange(req.headers['content-range'] as string | undefined);
  const offset = existing?.offset ?? 0;
  if (existing && existing.total !== range.total) throw badRequest({ detail: 'Invalid Content-Range' });
  if (range.start !== offset) {
    await discard(req);
    throw badRequest({ detail: 'Offsets do not match', offset });
  }
  const boundary = formBoundary(req.headers['content-type'] as string | undefined);
  const id = (existing?.id as string) ?? randomUUID();
  const path = partPath(ctx, id);
  await mkdir(join(ctx.dataDir, 'uploads'), { recursive: true });
  const hashes = ctx.state.uploadHashes;
  const hash = hashes.get(id) ?? (existing ? await md5Of(path) : createHash('md5'));
  let filename = existing?.filename as string | undefined;
  // Set by the parser's callbacks (the casts keep TypeScript from narrowing them to null). The
  // file part's bytes go to `writer` only while the first `file` part is being read.
  let writer = null as ChunkWriter | null;
  let current = null as ChunkWriter | null;
  const parser = new FormStreamParser(boundary, {
    field(name, value) {
      if (name === 'filename' && !existing) filename = value;
    },
    fileStart(name) {
      current = null;
      if (name !== 'file' || writer) return;
      writer = current = new ChunkWriter(path, !!existing, offset, range.end - range.start + 1, hash);
    },
    fileData(data) {
      current?.add(data);
    },
  });
  // Undoes this chunk's bytes: the file goes back to the previous offset (or away).
  const undo = () => (existing ? truncate(path, offset) : rm(path, { force: true }));
  let failure: unknown = null;
  let drained = 0;
  for await (const data of req.raw) {
    if (failure === null) {
      try {
        parser.push(data);
        if (writer?.full) await writer.flush();
      } catch (err) {
        failure = err;
      }
    } else if ((drained += data.length) > DRAIN_LIMIT) {
      break; // leaving the loop destroys the connection: no answer for a body this far off
    }
  }
  try {
    if (failure !== null) throw failure;
    parser.end();
    if (!writer) throw badRequest({ file: ['No file was submitted.'] });
    await writer.close();
    if (writer.received !== writer.expected) throw badRequest({ detail: 'Invalid Content-Range' });
  } catch (err) {
    await writer?.close().catch(() => {});
    if (writer) await undo().catch(() => {});
    throw err;
  }
  if (!filename) throw badRequest({ filename: ['This field is required.'] });
  hashes.set(id, writer.hash);
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
