/**
 * Presigned uploads (backend-api.md §6): the devserver plays the object store too. Signed URLs
 * point back at it, take raw bytes part by part (streamed to disk, answered with an S3-style
 * `ETag`), and `confirm_upload` assembles the parts, checks size and SHA-1, and creates the data
 * file. Pending uploads live in memory: a restart forgets them, as an expired URL would, and
 * the parts they left on disk are removed when the routes start.
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { type DevContext, requestBaseUrl } from '../context.ts';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { type Body, isObject, listField, objectBody, positiveInteger } from '../validate.ts';
import { storeDataFile } from './data-units.ts';
import type { RouteModule } from './index.ts';

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const MAX_EXPIRATION_S = 7 * 24 * 3600;
/** Unconfirmed uploads are dropped this long after their URLs expire. */
const PURGE_AFTER_MS = 3600 * 1000;
/** How long a test hold waits for its PUTs by default before failing them. */
const DEFAULT_HOLD_MS = 10_000;

interface PendingUpload {
  id: string;
  fileKey: string;
  filename: string;
  size: number;
  partSize: number;
  partCount: number;
  /** Set for multipart uploads only. */
  uploadId: string | null;
  expiresMs: number;
  parts: Map<number, { etag: string; size: number }>;
}

export interface PresignedUploadState {
  /** Signs URLs; per server, so URLs of another run are refused. */
  secret: Buffer;
  partSize: number;
  uploads: Map<string, PendingUpload>;
  /** Part PUTs being received now, and the most seen at once (emulator-observable). */
  active: number;
  peak: number;
  /**
   * Holds PUTs until `until` are in flight, so a test sees the client's full concurrency. If they
   * are not all there within its time limit, the held PUTs fail (503) instead of waiting forever.
   */
  hold: Hold | null;
}

type State = PresignedUploadState;

interface Hold {
  until: number;
  open: Promise<void>;
  release: () => void;
}

function startHold(state: State, until: number, ms: number): void {
  endHold(state);
  let release!: () => void;
  let fail!: (err: Error) => void;
  const open = new Promise<void>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  // Each held PUT sees the failure; none need be waiting when it comes.
  open.catch(() => {});
  const timer = setTimeout(() => {
    if (state.hold === hold) state.hold = null;
    const detail = `The hold timed out with ${state.active} of ${until} uploads in flight.`;
    fail(new ApiError(503, { detail }));
  }, ms);
  timer.unref();
  const hold: Hold = {
    until,
    open,
    release: () => {
      clearTimeout(timer);
      release();
    },
  };
  state.hold = hold;
}

function endHold(state: State): void {
  state.hold?.release();
  state.hold = null;
}

function stateOf(ctx: DevContext): State {
  let state = ctx.state.presignedUploads;
  if (!state) {
    state = {
      secret: randomBytes(32),
      partSize: DEFAULT_PART_SIZE,
      uploads: new Map(),
      active: 0,
      peak: 0,
      hold: null,
    };
    ctx.state.presignedUploads = state;
  }
  return state;
}

function sign(state: State, id: string, part: number, expires: number): string {
  return createHmac('sha256', state.secret).update(`${id}/${part}/${expires}`).digest('hex');
}

function presignedDir(ctx: DevContext): string {
  return join(ctx.dataDir, 'presigned');
}

function partDir(ctx: DevContext, id: string): string {
  return join(presignedDir(ctx), id);
}

/** `_emulator/reset`: pending uploads, their parts, the part size and any hold are forgotten. */
export async function resetPresignedUploads(ctx: DevContext): Promise<void> {
  const state = ctx.state.presignedUploads;
  if (!state) return;
  state.uploads.clear();
  state.partSize = DEFAULT_PART_SIZE;
  endHold(state);
  state.peak = state.active;
  await rm(presignedDir(ctx), { recursive: true, force: true });
}

/** The uploads listed in the request, each with its URL (or one URL per part). */
function issue(base: string, state: State, files: unknown[], expires: number) {
  const errors = files.map((f) => {
    if (!isObject(f)) return { non_field_errors: ['Expected a dictionary.'] };
    const e: Record<string, string[]> = {};
    if (typeof f.filename !== 'string' || !f.filename) e.filename = ['This field is required.'];
    // No empty files: a data file has bytes, as `data_files/` and chunked uploads insist too.
    if (!positiveInteger(f.size)) e.size = ['Ensure this value is a positive integer.'];
    return e;
  });
  if (errors.some((e) => Object.keys(e).length > 0)) throw badRequest({ files: errors });
  const url = (id: string, part: number) =>
    `${base}/_presigned/${id}?part=${part}&expires=${expires}&signature=${sign(state, id, part, expires)}`;
  return (files as Body[]).map((f) => {
    const id = randomUUID().replace(/-/g, '');
    const size = f.size as number;
    const partCount = Math.ceil(size / state.partSize);
    const upload: PendingUpload = {
      id,
      fileKey: `uploads/${id}/${f.filename}`,
      filename: f.filename as string,
      size,
      partSize: state.partSize,
      partCount,
      uploadId: partCount > 1 ? randomUUID() : null,
      expiresMs: expires * 1000,
      parts: new Map(),
    };
    state.uploads.set(id, upload);
    const info = { filename: upload.filename, file_key: upload.fileKey };
    if (!upload.uploadId) return { ...info, presigned_url: url(id, 1) };
    const parts = Array.from({ length: partCount }, (_, i) => ({
      part_number: i + 1,
      presigned_url: url(id, i + 1),
    }));
    return { ...info, multipart: { upload_id: upload.uploadId, part_size: upload.partSize, parts } };
  });
}

async function purgeExpired(ctx: DevContext, state: State): Promise<void> {
  for (const upload of state.uploads.values()) {
    if (upload.expiresMs + PURGE_AFTER_MS > Date.now()) continue;
    state.uploads.delete(upload.id);
    await rm(partDir(ctx, upload.id), { recursive: true, force: true });
  }
}

/**
 * Checks a presigned URL like S3: a bad or expired signature is 403 before any byte is read.
 * Runs as an `onRequest` hook, so the request recorder, later, only sees it redacted.
 */
function verifyUrl(state: State, req: FastifyRequest): void {
  const { id } = req.params as { id: string };
  const query = req.query as Record<string, string | undefined>;
  const expires = Number(query.expires);
  const given = Buffer.from(String(query.signature ?? ''));
  const expected = Buffer.from(sign(state, id, Number(query.part), expires));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError(403, { detail: 'Signature does not match.' });
  }
  if (!(expires * 1000 > Date.now())) throw new ApiError(403, { detail: 'Request has expired.' });
  req.query = { ...query, signature: '<redacted>' };
}

/** Streams one part to disk, hashing it for the ETag; at most the part's size is accepted. */
async function receivePart(ctx: DevContext, req: FastifyRequest, upload: PendingUpload, part: number) {
  const limit =
    part < upload.partCount ? upload.partSize : upload.size - upload.partSize * (upload.partCount - 1);
  const tooLarge = () => new ApiError(413, { detail: `Part ${part} is larger than its ${limit} bytes.` });
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const dir = partDir(ctx, upload.id);
  await mkdir(dir, { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  // Written aside and renamed: a retried or broken PUT never leaves half a part in place.
  const partial = join(dir, `${part}.${randomUUID()}.tmp`);
  try {
    await pipeline(
      req.raw,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          if (size > limit) throw tooLarge();
          md5.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(partial, { highWaterMark: 1024 * 1024 }),
    );
    await rename(partial, join(dir, String(part)));
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  const etag = md5.digest('hex');
  upload.parts.set(part, { etag, size });
  return etag;
}

/** The part files in order, after checking the confirmed parts against what was received. */
function partFiles(ctx: DevContext, upload: PendingUpload, item: Body): string[] {
  if (item.size !== upload.size)
    throw new Error(`Size ${item.size} does not match the requested ${upload.size}.`);
  if (upload.uploadId) {
    const multipart = isObject(item.multipart) ? item.multipart : {};
    if (multipart.upload_id !== upload.uploadId) throw new Error('multipart.upload_id does not match.');
    const listed = Array.isArray(multipart.parts) ? multipart.parts.filter(isObject) : [];
    if (listed.length !== upload.partCount) throw new Error(`Expected ${upload.partCount} parts.`);
    for (let n = 1; n <= upload.partCount; n++) {
      const etag = listed.find((p) => p.part_number === n)?.etag;
      const received = upload.parts.get(n);
      if (!received) throw new Error(`Part ${n} was not uploaded.`);
      if (typeof etag !== 'string' || etag.replace(/"/g, '') !== received.etag) {
        throw new Error(`ETag of part ${n} does not match.`);
      }
    }
  }
  let received = 0;
  for (let n = 1; n <= upload.partCount; n++) received += upload.parts.get(n)?.size ?? 0;
  if (received !== upload.size) throw new Error(`Received ${received} of ${upload.size} bytes.`);
  return Array.from({ length: upload.partCount }, (_, i) => join(partDir(ctx, upload.id), String(i + 1)));
}

/** The parts' bytes; throws at the end on a SHA-1 mismatch, so the data file is never kept. */
async function* verified(paths: string[], sha1: string): AsyncGenerator<Buffer> {
  const hash = createHash('sha1');
  for (const path of paths) {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      hash.update(chunk);
      yield chunk;
    }
  }
  if (hash.digest('hex') !== sha1) throw new Error('SHA-1 checksum does not match the uploaded bytes.');
}

/** One file of `confirm_upload`: its own success or error, never the others'. */
async function confirm(ctx: DevContext, state: State, item: unknown) {
  const body = isObject(item) ? item : {};
  const fileKey = typeof body.file_key === 'string' ? body.file_key : '';
  const checksum = typeof body.checksum === 'string' ? body.checksum.toLowerCase() : '';
  const upload = state.uploads.get(fileKey.split('/')[1] ?? '');
  if (upload?.fileKey !== fileKey) {
    return { file_key: fileKey, checksum, success: false, error: 'Unknown or expired file_key.' };
  }
  // Taken whatever the outcome: a file is confirmed once, and a failed one is requested anew.
  state.uploads.delete(upload.id);
  try {
    if (!/^[0-9a-f]{40}$/.test(checksum)) throw new Error('checksum must be a SHA-1 hex digest.');
    const file = await storeDataFile(ctx, upload.filename, verified(partFiles(ctx, upload, body), checksum));
    // The data file's own checksum is the MD5 `data_files/` computes; data units refer to it.
    return { file_key: fileKey, checksum, success: true, error: null, data_file_id: file.id };
  } catch (err) {
    return { file_key: fileKey, checksum, success: false, error: (err as Error).message };
  } finally {
    await rm(partDir(ctx, upload.id), { recursive: true, force: true });
  }
}

const routes: RouteModule = async (app, ctx) => {
  // The routes are mounted twice (with and without `/api`) on one state: the first mount starts it
  // clean, removing parts a previous run of this data directory left behind.
  if (!ctx.state.presignedUploads) await rm(presignedDir(ctx), { recursive: true, force: true });
  const state = stateOf(ctx);

  app.post('/data_files/presigned_upload/upload/', async (req) => {
    const body = objectBody(req.body);
    const files = listField(body, 'files');
    const expiration = body.expiration ?? 3600;
    if (!positiveInteger(expiration) || expiration > MAX_EXPIRATION_S) {
      throw badRequest({ expiration: [`Ensure this value is between 1 and ${MAX_EXPIRATION_S}.`] });
    }
    await purgeExpired(ctx, state);
    const expires = Math.floor(Date.now() / 1000) + expiration;
    return {
      files: issue(requestBaseUrl(ctx, req), state, files, expires),
      expires_at: new Date(expires * 1000).toISOString(),
    };
  });

  app.post('/data_files/presigned_upload/confirm_upload/', async (req) => {
    const files = listField(objectBody(req.body), 'files');
    const results = [];
    // One at a time: each assembly streams its parts, so memory and disk load stay flat.
    for (const item of files) results.push(await confirm(ctx, state, item));
    const created = results.filter((r) => r.success).length;
    return { results, created_count: created, failed_count: results.length - created };
  });

  // The object store's own scope: it takes any body as raw bytes, which the API routes must not.
  await app.register(async (store) => {
    store.removeAllContentTypeParsers();
    store.addContentTypeParser('*', (_req, _payload, done) => done(null));
    store.addHook('onRequest', async (req) => verifyUrl(state, req));
    store.put('/_presigned/:id', { config: { public: true } }, async (req, reply) => {
      const upload = state.uploads.get((req.params as { id: string }).id);
      const part = Number((req.query as { part: string }).part);
      if (!upload || part > upload.partCount) throw notFound('The upload does not exist.');
      state.active++;
      state.peak = Math.max(state.peak, state.active);
      try {
        const hold = state.hold;
        if (hold && state.active >= hold.until) {
          hold.release();
          state.hold = null;
        }
        await hold?.open;
        const etag = await receivePart(ctx, req, upload, part);
        if (state.uploads.get(upload.id) !== upload) throw notFound('The upload does not exist.');
        return reply.header('ETag', `"${etag}"`).send();
      } finally {
        state.active--;
        // Confirmed, purged or reset while this part came in: the directory this PUT (re)created
        // would never be removed otherwise.
        if (state.uploads.get(upload.id) !== upload) {
          await rm(partDir(ctx, upload.id), { recursive: true, force: true });
        }
      }
    });
  });

  const stats = () => ({
    part_size: state.partSize,
    active: state.active,
    peak: state.peak,
    pending: state.uploads.size,
  });
  app.get('/_emulator/presigned_upload', async () => stats());
  // Sets the part size of later uploads and (optionally) a hold, which fails the held PUTs after
  // `hold_ms`; starts a new peak observation.
  app.patch('/_emulator/presigned_upload', async (req) => {
    const body = objectBody(req.body);
    if (body.part_size !== undefined) {
      if (!positiveInteger(body.part_size))
        throw badRequest({ part_size: ['Ensure this value is a positive integer.'] });
      state.partSize = body.part_size;
    }
    const holdMs = body.hold_ms ?? DEFAULT_HOLD_MS;
    if (!positiveInteger(holdMs)) throw badRequest({ hold_ms: ['Ensure this value is a positive integer.'] });
    if (body.hold_until !== undefined) {
      if (!positiveInteger(body.hold_until))
        throw badRequest({ hold_until: ['Ensure this value is a positive integer.'] });
      startHold(state, body.hold_until, holdMs);
    }
    state.peak = state.active;
    return stats();
  });
};
export default routes;
