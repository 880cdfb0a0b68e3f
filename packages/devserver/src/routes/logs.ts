/**
 * Job logs (backend-api.md §11.2): one item or a list, all validated before any is stored;
 * `data:` URI attachments become media files.
 */
import { createHash } from 'node:crypto';
import { type DevContext, listResponse, present } from '../context.ts';
import { badRequest, invalidPk } from '../errors.ts';
import type { SecretRegistry } from '../secrets.ts';
import { type Body, isObject, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

const DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$/;
const DATA_URI = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*)(;base64)?,(.*)$/s;

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'text/plain': 'txt',
  'image/svg+xml': 'svg',
};

interface Attachment {
  bytes: Buffer;
  extension: string;
}

/** The bytes and file extension of a `data:` URI, or null when it is not one. */
function decodeDataUri(uri: string): Attachment | null {
  const m = DATA_URI.exec(uri);
  if (!m) return null;
  const mime = (m[1] ?? 'text/plain').toLowerCase();
  const bytes = m[3] ? Buffer.from(m[4], 'base64') : Buffer.from(decodeURIComponent(m[4]));
  const extension = EXTENSIONS[mime] ?? mime.split('/')[1].replace(/[^a-z0-9]/g, '');
  return { bytes, extension: extension || 'bin' };
}

interface LogInput {
  values: Body;
  attachment: Attachment | null;
}

function logInput(item: unknown, secrets: SecretRegistry): LogInput {
  const body = objectBody(item);
  const errors: Record<string, string[]> = {};
  if (typeof body.event !== 'string' || !body.event) errors.event = ['This field is required.'];
  if (body.data === undefined || body.data === null) errors.data = ['This field is required.'];
  else if (!isObject(body.data)) errors.data = ['Expected a dictionary of items.'];
  if (body.datetime !== undefined && body.datetime !== null) {
    if (typeof body.datetime !== 'string' || !DATETIME.test(body.datetime)) {
      errors.datetime = ['Datetime has wrong format. Use this format: YYYY-MM-DD HH:MM:SS.ffffff.'];
    }
  }
  let attachment: Attachment | null = null;
  if (body.file !== undefined && body.file !== null && body.file !== '') {
    attachment = typeof body.file === 'string' ? decodeDataUri(body.file) : null;
    if (!attachment) errors.file = ['Expected a base64 data URI.'];
  }
  if (Object.keys(errors).length > 0) throw badRequest(errors);
  return {
    values: {
      job: body.job ?? null,
      event: body.event,
      // Stored masked: the API and the dashboard never hold a secret a plugin logged.
      data: secrets.value(body.data),
      datetime: body.datetime ?? new Date().toISOString(),
    },
    attachment,
  };
}

/** Every referenced job must exist. */
async function checkJobs(ctx: DevContext, inputs: LogInput[]): Promise<void> {
  const ids = inputs.map((i) => i.values.job).filter((j) => j !== null);
  const found = await ctx.collections.jobs.getMany(ids.filter((j) => typeof j === 'string'));
  const missing = ids.find((j) => !found.has(j as string));
  if (missing !== undefined) throw invalidPk('job', missing);
}

/** Stores an attachment under its content hash: identical screenshots share one file. */
async function storeAttachment(ctx: DevContext, attachment: Attachment): Promise<string> {
  const name = createHash('md5').update(attachment.bytes).digest('hex');
  return (await ctx.media.write(`logs/${name}.${attachment.extension}`, attachment.bytes)).ref;
}

const routes: RouteModule = (app, ctx) => {
  const logs = ctx.collections.logs;

  app.get('/logs/', (req) => listResponse(ctx, req, logs));

  app.post('/logs/', async (req, reply) => {
    const items = Array.isArray(req.body) ? req.body : [req.body];
    const inputs = items.map((item) => logInput(item, ctx.secrets));
    await checkJobs(ctx, inputs);
    const docs = [];
    for (const { values, attachment } of inputs) {
      docs.push({ ...values, file: attachment ? await storeAttachment(ctx, attachment) : null });
    }
    const created = await logs.createMany(docs);
    return reply.code(201).send(created.map((log) => present(ctx, req, log)));
  });
};
export default routes;
