/**
 * Data files and data units (backend-api.md §6). A data file is uploaded bytes, found again by
 * the MD5 checksum computed while they stream in; a data unit groups data files under its
 * collection's file specifications, keyed by specification name.
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { FileSpecification } from 'synapse-sdk';
import { type DevContext, getOr404, listResponse, present } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere } from '../db/filters.ts';
import { badRequest, invalidPk, required } from '../errors.ts';
import { metaSchemaErrors } from '../meta-schema.ts';
import { type Body, isObject, listField, objectBody } from '../validate.ts';
import { claimChunkedUpload } from './chunked-upload.ts';
import { fileSpecifications } from './data-collections.ts';
import type { RouteModule } from './index.ts';

/** A stored name that is safe in a path and a URL; the original name is kept on the document. */
function safeFileName(name: string): string {
  return (
    basename(name.replace(/\\/g, '/'))
      .replace(/[^\w.-]+/g, '_')
      .replace(/^\.+/, '') || 'file'
  );
}

/** Each data file gets its own folder, so equal names never collide. */
function dataFilePath(name: string): string {
  const id = randomBytes(8).toString('hex');
  return `data_files/${id.slice(0, 2)}/${id}/${safeFileName(name)}`;
}

async function* hashing(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Writes bytes to the media store, hashing them on the way, and records the data file. */
export async function storeDataFile(
  ctx: DevContext,
  filename: string,
  source: AsyncIterable<Buffer> | Buffer,
): Promise<Doc> {
  const hash = createHash('md5');
  let bytes: Buffer | Readable;
  if (Buffer.isBuffer(source)) {
    hash.update(source);
    bytes = source;
  } else {
    bytes = Readable.from(hashing(source, hash));
  }
  const { ref, size } = await ctx.media.write(dataFilePath(filename), bytes);
  if (size === 0) {
    await rm(ctx.media.pathOf(ref)!, { force: true });
    throw badRequest({ file: ['The submitted file is empty.'] });
  }
  return ctx.collections.data_files.create({
    file: ref,
    checksum: hash.digest('hex'),
    size,
    file_name_original: filename,
  });
}

/** The wire shape: the original name is internal (data units show it, data files do not). */
function dataFileWire({ file_name_original: _, ...wire }: Doc): Doc {
  return wire as Doc;
}

/** `POST data_files/` multipart: the first `file` part is stored, other parts are drained. */
async function uploadedDataFile(ctx: DevContext, req: FastifyRequest): Promise<Doc> {
  let stored: Promise<Doc> | null = null;
  for await (const part of req.parts()) {
    if (part.type !== 'file') continue;
    if (part.fieldname !== 'file' || stored) {
      part.file.resume();
      continue;
    }
    // Settled here so the remaining parts are still drained when the file is rejected.
    stored = storeDataFile(ctx, part.filename || 'file', part.file);
    await stored.catch(() => {});
  }
  if (!stored) throw badRequest({ file: ['No file was submitted.'] });
  return stored;
}

interface FileInput {
  checksum: string;
  path?: string;
  index?: number;
}

/** The create items' checksums, each resolved to a data file (the one at `path` when several match). */
async function resolveChecksums(ctx: DevContext, inputs: FileInput[]): Promise<(i: FileInput) => Doc> {
  const where = emptyWhere();
  addCondition(where, `(doc->>'checksum') = ANY($?)`, [...new Set(inputs.map((i) => i.checksum))]);
  const byChecksum = new Map<string, Doc[]>();
  for (const file of await ctx.collections.data_files.find(where)) {
    byChecksum.set(file.checksum, [...(byChecksum.get(file.checksum) ?? []), file]);
  }
  for (const input of inputs) {
    if (!byChecksum.has(input.checksum)) throw badRequest({ files: [`Unknown checksum: ${input.checksum}`] });
  }
  return (input) => {
    const candidates = byChecksum.get(input.checksum)!;
    const atPath = candidates.find((f) => input.path?.endsWith(`/${f.file}`));
    return atPath ?? candidates[candidates.length - 1];
  };
}

function fileInput(spec: string, value: unknown, index?: number): FileInput {
  if (!isObject(value) || typeof value.checksum !== 'string' || !value.checksum) {
    throw badRequest({ files: [`Missing checksum for file specification: ${spec}`] });
  }
  return {
    checksum: value.checksum,
    path: typeof value.path === 'string' ? value.path : undefined,
    index: Number.isInteger(value.index) ? (value.index as number) : index,
  };
}

interface UnitPlan {
  data_collection: number;
  meta: Body;
  files: Array<{ spec: FileSpecification; inputs: FileInput[] }>;
}

/** Checks one create item against its collection's specifications. */
async function planUnit(ctx: DevContext, item: unknown): Promise<UnitPlan> {
  const body = objectBody(item);
  const collectionId = body.data_collection;
  if (collectionId === undefined || collectionId === null) throw required('data_collection');
  const collection = Number.isInteger(collectionId)
    ? await ctx.collections.data_collections.get(collectionId as number)
    : null;
  if (!collection) throw invalidPk('data_collection', collectionId);
  const meta = body.meta ?? {};
  if (!isObject(meta)) throw badRequest({ meta: ['Value must be valid JSON object.'] });
  const schemaErrors = metaSchemaErrors(collection.meta?.data_unit_meta_schema, meta);
  if (schemaErrors.length > 0) throw badRequest({ meta: schemaErrors });
  if (body.files === undefined || body.files === null) throw required('files');
  if (!isObject(body.files)) throw badRequest({ files: ['Expected a dictionary of items.'] });
  const given = body.files;
  const specs = fileSpecifications(collection);
  const unknown = Object.keys(given).find((name) => !specs.some((s) => s.name === name));
  if (unknown !== undefined) throw badRequest({ files: [`Unknown file specification: ${unknown}`] });
  const files: UnitPlan['files'] = [];
  // Stored in the collection's specification order, so the primary file comes where it is declared.
  for (const spec of specs) {
    const value = given[spec.name];
    if (value === undefined || value === null) {
      if (spec.is_required)
        throw badRequest({ files: [`Missing required file specification: ${spec.name}`] });
      continue;
    }
    if (spec.is_sequential !== Array.isArray(value)) {
      const expected = spec.is_sequential ? 'a list of files' : 'a single file';
      throw badRequest({ files: [`File specification ${spec.name} expects ${expected}`] });
    }
    const inputs = Array.isArray(value)
      ? value.map((v, i) => fileInput(spec.name, v, i + 1))
      : [fileInput(spec.name, value)];
    files.push({ spec, inputs });
  }
  return { data_collection: collectionId as number, meta, files };
}

function unitFile(spec: FileSpecification, file: Doc, index?: number) {
  return {
    url: file.file,
    is_primary: spec.is_primary,
    file_name_original: file.file_name_original ?? basename(file.file),
    checksum: file.checksum,
    size: file.size,
    ...(index === undefined ? {} : { index }),
  };
}

/** Validates every item first (all or nothing), then creates the data units. */
export async function createDataUnits(ctx: DevContext, items: unknown[]): Promise<Doc[]> {
  const plans = await Promise.all(items.map((item) => planUnit(ctx, item)));
  const dataFileOf = await resolveChecksums(
    ctx,
    plans.flatMap((p) => p.files.flatMap((f) => f.inputs)),
  );
  return ctx.collections.data_units.createMany(
    plans.map((plan) => ({
      data_collection: plan.data_collection,
      meta: plan.meta,
      files: Object.fromEntries(
        plan.files.map(({ spec, inputs }) => [
          spec.name,
          spec.is_sequential
            ? inputs.map((i) => unitFile(spec, dataFileOf(i), i.index))
            : unitFile(spec, dataFileOf(inputs[0])),
        ]),
      ),
    })),
  );
}

const routes: RouteModule = (app, ctx) => {
  const { data_units: units, data_files: files } = ctx.collections;

  app.get('/data_units/', (req) => listResponse(ctx, req, units));

  // `expand=files` is accepted: files are always embedded.
  app.get('/data_units/:id/', async (req) =>
    present(ctx, req, await getOr404(units, (req.params as { id: string }).id)),
  );

  app.post('/data_units/', async (req, reply) => {
    const many = Array.isArray(req.body);
    const created = await createDataUnits(ctx, many ? (req.body as unknown[]) : [req.body]);
    const wire = created.map((unit) => present(ctx, req, unit));
    return reply.code(201).send(many ? wire : wire[0]);
  });

  app.post('/data_files/', async (req, reply) => {
    let file: Doc;
    if (req.isMultipart()) {
      file = await uploadedDataFile(ctx, req);
    } else {
      const upload = objectBody(req.body).chunked_upload;
      if (upload === undefined || upload === null) throw badRequest({ file: ['No file was submitted.'] });
      const claimed = await claimChunkedUpload(ctx, 'chunked_upload', upload, dataFilePath);
      file = await files.create({
        file: claimed.ref,
        checksum: claimed.checksum,
        size: claimed.size,
        file_name_original: claimed.filename,
      });
    }
    return reply.code(201).send(present(ctx, req, dataFileWire(file)));
  });

  app.post('/data_files/verify_checksums/', async (req) => {
    const checksums = listField(objectBody(req.body), 'checksums');
    if (checksums.some((c) => typeof c !== 'string'))
      throw badRequest({ checksums: ['Not a valid string.'] });
    const unique = [...new Set(checksums as string[])];
    const where = emptyWhere();
    addCondition(where, `(doc->>'checksum') = ANY($?)`, unique);
    const known = new Set((await files.find(where)).map((f) => f.checksum));
    return { existing: unique.filter((c) => known.has(c)), missing: unique.filter((c) => !known.has(c)) };
  });
};
export default routes;
