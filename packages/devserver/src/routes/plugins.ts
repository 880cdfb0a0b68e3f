/**
 * Plugins, plugin releases and plugin runs (backend-api.md §10). A release archive is streamed
 * to a holding file while its MD5 is computed, and only takes its final name
 * (`plugin_releases/<checksum>.zip`) once the whole request is valid.
 */
import { createHash, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { releaseChecksum, releaseCode as releaseCodeOf } from 'synapse-core';
import { type DevContext, expansions, getOr404, listResponse, present, queryParam } from '../context.ts';
import type { Doc } from '../db/collection.ts';
import { addCondition, emptyWhere, parseValue } from '../db/filters.ts';
import { ApiError, badRequest, invalidPk, notFound, required } from '../errors.ts';
import { findRelease, runAction } from '../plugin-run.ts';
import { type Body, isObject, objectBody } from '../validate.ts';
import type { RouteModule } from './index.ts';

const CATEGORIES = [
  'neural_net',
  'export',
  'upload',
  'smart_tool',
  'pre_annotation',
  'post_annotation',
  'data_validation',
  'converter',
];
const WRITABLE = [
  'name',
  'code',
  'category',
  'description',
  'is_active',
  'is_public',
  'system_only',
  'detail',
];
const DUPLICATE_CODE = '코드은/는 이미 존재합니다.';

type Errors = Record<string, string[]>;

function throwIfAny(errors: Errors): void {
  if (Object.keys(errors).length > 0) throw badRequest(errors);
}

/** The writable fields of a plugin, validated as a whole object. */
function pluginValues(body: Body): Body {
  const errors: Errors = {};
  for (const field of ['name', 'code', 'category']) {
    const value = body[field];
    if (typeof value !== 'string' || !value.trim()) errors[field] = ['This field is required.'];
  }
  if (!errors.category && !CATEGORIES.includes(body.category as string)) {
    errors.category = [`"${body.category}" is not a valid choice.`];
  }
  for (const field of ['is_active', 'is_public', 'system_only']) {
    if (body[field] !== undefined && typeof body[field] !== 'boolean')
      errors[field] = ['Must be a valid boolean.'];
  }
  if (body.description !== undefined && typeof body.description !== 'string') {
    errors.description = ['Not a valid string.'];
  }
  if (body.detail !== undefined && !isObject(body.detail))
    errors.detail = ['Expected a dictionary of items.'];
  throwIfAny(errors);
  return Object.fromEntries(WRITABLE.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

async function pluginByCode(ctx: DevContext, code: string): Promise<Doc | null> {
  const where = emptyWhere();
  addCondition(where, `doc->>'code' = $?`, code);
  return ctx.collections.plugins.findOne(where);
}

/** `plugins/<id or code>/`. */
async function pluginOr404(ctx: DevContext, idOrCode: string): Promise<Doc> {
  const plugin = (await ctx.collections.plugins.get(idOrCode)) ?? (await pluginByCode(ctx, idOrCode));
  if (!plugin) throw notFound();
  return plugin;
}

async function checkUniqueCode(ctx: DevContext, code: string, self?: Doc): Promise<void> {
  const other = await pluginByCode(ctx, code);
  if (other && other.id !== self?.id) throw badRequest({ code: [DUPLICATE_CODE] });
}

/** A publish for an unknown plugin code creates the plugin from the release config. */
async function pluginForRelease(ctx: DevContext, code: string, config: Body): Promise<Doc> {
  const existing = await pluginByCode(ctx, code);
  if (existing) return existing;
  const values = pluginValues({
    code,
    name: config.name ?? code,
    category: config.category,
    description: config.description ?? '',
  });
  return ctx.collections.plugins.create(values);
}

/** A JSON-encoded multipart field, or `fallback` when absent. */
function jsonField(fields: Record<string, string>, name: string, errors: Errors, fallback: unknown): unknown {
  if (fields[name] === undefined || fields[name] === '') return fallback;
  try {
    return JSON.parse(fields[name]);
  } catch {
    errors[name] = ['Value must be valid JSON.'];
    return fallback;
  }
}

interface Archive {
  /** Where the upload waits until the release is accepted. */
  ref: string;
  checksum: string;
}

/** Streams the zip to a holding file, computing its MD5 on the way (an oversized file fails with 413). */
async function receiveArchive(ctx: DevContext, file: Readable): Promise<Archive> {
  const hash = createHash('md5');
  async function* hashed() {
    for await (const chunk of file) {
      hash.update(chunk);
      yield chunk;
    }
  }
  const { ref } = await ctx.media.write(
    `plugin_releases/incoming/${randomUUID()}.zip`,
    Readable.from(hashed()),
  );
  return { ref, checksum: hash.digest('hex') };
}

async function publishRelease(ctx: DevContext, fields: Record<string, string>, archive: Archive | null) {
  const errors: Errors = {};
  const { plugin: code, version } = fields;
  if (!code) errors.plugin = ['This field is required.'];
  if (!version) errors.version = ['This field is required.'];
  if (!archive) errors.file = ['No file was submitted.'];
  const config = jsonField(fields, 'config', errors, {});
  if (!errors.config && !isObject(config)) errors.config = ['Expected a dictionary of items.'];
  const requirements = jsonField(fields, 'requirements', errors, []);
  if (!errors.requirements && !Array.isArray(requirements))
    errors.requirements = ['Expected a list of items.'];
  let debug = false;
  if (fields.debug !== undefined) {
    try {
      debug = parseValue('debug', 'bool', fields.debug) as boolean;
    } catch {
      errors.debug = ['Must be a valid boolean.'];
    }
  }
  throwIfAny(errors);

  const plugin = await pluginForRelease(ctx, code, config as Body);
  const existing = await findRelease(ctx, code, version);
  if (existing && !debug) throw badRequest({ version: [`Version ${version} already exists`] });
  const releaseCode = releaseCodeOf(code, version);
  const checksum = releaseChecksum(releaseCode);
  const file = await ctx.media.adopt(ctx.media.pathOf(archive!.ref)!, `plugin_releases/${checksum}.zip`);
  const values = {
    plugin: plugin.id,
    plugin_code: code,
    version,
    code: releaseCode,
    checksum,
    config,
    requirements,
    debug,
    file,
    archive_checksum: archive!.checksum,
  };
  const releases = ctx.collections.plugin_releases;
  return existing ? (await releases.update(existing.id, values))! : releases.create(values);
}

/** The validated body of `plugins/<x>/run/`; unknown keys are ignored. */
async function runRequest(ctx: DevContext, body: Body) {
  if (body.agent === undefined || body.agent === null) throw required('agent');
  const agent = await ctx.collections.agents.get(body.agent as number);
  if (!agent) throw invalidPk('agent', body.agent);
  if (typeof body.action !== 'string' || !body.action) throw required('action');
  const errors: Errors = {};
  if (body.params !== undefined && body.params !== null && !isObject(body.params)) {
    errors.params = ['Expected a dictionary of items.'];
  }
  for (const field of ['version', 'job_id']) {
    if (body[field] !== undefined && body[field] !== null && typeof body[field] !== 'string') {
      errors[field] = ['Not a valid string.'];
    }
  }
  if (body.debug !== undefined && body.debug !== null && typeof body.debug !== 'boolean') {
    errors.debug = ['Must be a valid boolean.'];
  }
  throwIfAny(errors);
  const storage = body.storage_id ?? null;
  if (storage !== null && !(await ctx.collections.storages.get(storage as number))) {
    throw invalidPk('storage_id', storage);
  }
  return {
    agent: agent.id as number,
    action: body.action,
    params: (body.params ?? {}) as Body,
    version: (body.version ?? undefined) as string | undefined,
    jobId: (body.job_id ?? undefined) as string | undefined,
    debug: (body.debug ?? false) as boolean,
    storage: storage as number | null,
  };
}

const routes: RouteModule = (app, ctx) => {
  const plugins = ctx.collections.plugins;
  const releases = ctx.collections.plugin_releases;

  app.get('/plugins/', (req) => listResponse(ctx, req, plugins));

  app.get('/plugins/:id/', async (req) =>
    present(ctx, req, await pluginOr404(ctx, (req.params as { id: string }).id)),
  );

  app.post('/plugins/', async (req, reply) => {
    const values = pluginValues(objectBody(req.body));
    await checkUniqueCode(ctx, values.code as string);
    return reply.code(201).send(present(ctx, req, await plugins.create(values)));
  });

  app.put('/plugins/:id/', async (req) => {
    const plugin = await pluginOr404(ctx, (req.params as { id: string }).id);
    const values = pluginValues({ ...plugin, ...objectBody(req.body) });
    await checkUniqueCode(ctx, values.code as string, plugin);
    return present(ctx, req, (await plugins.update(plugin.id, values))!);
  });

  app.post('/plugins/:id/run/', async (req) => {
    const plugin = await pluginOr404(ctx, (req.params as { id: string }).id);
    const run = await runRequest(ctx, objectBody(req.body));
    const release = await findRelease(ctx, plugin.code, run.version);
    if (!release) {
      const detail = run.version
        ? `Release ${plugin.code}@${run.version} does not exist.`
        : `Plugin ${plugin.code} has no release.`;
      throw badRequest({ version: [detail] });
    }
    const outcome = await runAction(ctx, {
      ...run,
      pluginCode: plugin.code,
      releaseCode: release.code,
      plugin: plugin.id as number,
      release,
      config: isObject(release.config) ? release.config : {},
    });
    return 'job' in outcome ? { job_id: outcome.job.id, status: outcome.job.status } : outcome.result;
  });

  app.get('/plugin_releases/', (req) => {
    const where = emptyWhere();
    const code = queryParam(req, 'plugin__code');
    if (code !== undefined) addCondition(where, `doc->>'plugin_code' = $?`, code);
    // `plugin` is the plugin's id or its code (the Python SDK's `list_plugin_releases(code)`).
    const plugin = queryParam(req, 'plugin');
    const byCode = plugin !== undefined && !/^\d+$/.test(plugin);
    if (byCode) addCondition(where, `doc->>'plugin_code' = $?`, plugin);
    return listResponse(ctx, req, releases, {
      where,
      handled: byCode ? ['plugin'] : [],
      serialize: (docs) => expandPlugins(req, docs),
    });
  });

  // The lookup is the release's id or `<plugin code>@<version>` (`get_plugin_release_by_lookup`).
  app.get('/plugin_releases/:lookup/', async (req) => {
    const lookup = (req.params as { lookup: string }).lookup;
    const at = lookup.lastIndexOf('@');
    const release = /^\d+$/.test(lookup)
      ? await getOr404(releases, lookup)
      : at > 0
        ? await findRelease(ctx, lookup.slice(0, at), lookup.slice(at + 1))
        : null;
    if (!release) throw notFound();
    const [shown] = await expandPlugins(req, [release]);
    return present(ctx, req, shown);
  });

  /** With `expand=plugin`, each release embeds its plugin. */
  async function expandPlugins(req: FastifyRequest, docs: Doc[]): Promise<Doc[]> {
    if (!expansions(req).has('plugin')) return docs;
    const plugins = await ctx.collections.plugins.getMany(docs.map((d) => d.plugin));
    return docs.map((d) => {
      const plugin = plugins.get(d.plugin);
      return plugin ? { ...d, plugin: present(ctx, req, plugin) } : d;
    });
  }

  app.post('/plugin_releases/', async (req, reply) => {
    if (!req.isMultipart()) {
      throw new ApiError(415, {
        detail: `Unsupported media type "${req.headers['content-type']}" in request.`,
      });
    }
    const fields: Record<string, string> = {};
    let archive: Archive | null = null;
    try {
      for await (const part of req.parts()) {
        if (part.type === 'field') fields[part.fieldname] = String(part.value);
        else if (part.fieldname === 'file' && !archive) archive = await receiveArchive(ctx, part.file);
        else part.file.resume();
      }
      const release = await publishRelease(ctx, fields, archive);
      return reply.code(201).send(present(ctx, req, release));
    } catch (err) {
      if (archive) await rm(ctx.media.pathOf(archive.ref)!, { force: true });
      throw err;
    }
  });
};
export default routes;
