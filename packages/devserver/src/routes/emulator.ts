/**
 * Emulator-only surface (backend-api.md §15): reset, bulk fixtures, readiness control,
 * canned run results, recorded requests, and fault injection when enabled.
 */
import type { FastifyRequest } from 'fastify';
import { createUser } from '../auth.ts';
import { getOr404 } from '../context.ts';
import { RESOURCES, type ResourceName } from '../db/resources.ts';
import { badRequest, notFound } from '../errors.ts';
import type { Fault } from '../faults.ts';
import { DEFAULT_TENANT } from '../tenancy.ts';
import type { RouteModule } from './index.ts';
import { resetPresignedUploads } from './presigned-upload.ts';

/** Bootstrap state (the user, its tokens, the agent, the default storage) survives a reset. */
const KEPT: ResourceName[] = ['users', 'agents', 'storages'];
const RECORDED_MAX = 500;

export interface RecordedRequest {
  method: string;
  path: string;
  query: unknown;
  headers: Record<string, unknown>;
  body: unknown;
}

/** A request as it came, kept until the recorder is read: masking happens then, not per request. */
interface RawRequest {
  method: string;
  path: string;
  query: unknown;
  headers: Record<string, unknown>;
  /** The body as JSON text: a snapshot, as a handler may change the parsed object afterwards. */
  body: string | undefined;
}

const routes: RouteModule = (app, ctx) => {
  const recorded: RawRequest[] = [];

  app.addHook('preHandler', async (req: FastifyRequest) => {
    if (req.url.includes('/_emulator/')) return;
    recorded.push({
      method: req.method,
      path: req.url.split('?')[0],
      query: req.query,
      headers: req.headers,
      body: req.jsonText ?? JSON.stringify(req.isMultipart() ? '<multipart>' : req.body),
    });
    if (recorded.length > RECORDED_MAX) recorded.shift();
  });

  // Recorded requests keep their shape but not their credentials, at any depth (run params too);
  // masked when read, with every secret known by then.
  const redacted = (r: RawRequest): RecordedRequest => ({
    method: r.method,
    // A path can carry a token too (`agents/<token>/node_install_script`).
    path: ctx.secrets.text(r.path),
    query: ctx.secrets.value(r.query),
    headers: ctx.secrets.value(r.headers),
    body: ctx.secrets.value(r.body === undefined ? undefined : JSON.parse(r.body)),
  });

  app.post('/_emulator/reset', async () => {
    for (const name of Object.keys(RESOURCES) as ResourceName[]) {
      if (!KEPT.includes(name)) await ctx.collections[name].clear();
    }
    await ctx.db.query(`DELETE FROM settings WHERE key LIKE 'run_fixture:%' OR key LIKE 'agent_releases:%'`);
    await resetPresignedUploads(ctx);
    recorded.length = 0;
    ctx.faults?.clear();
    return { status: 'reset' };
  });

  app.post('/_emulator/fixtures', { bodyLimit: 1024 ** 3 }, async (req) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const created: Record<string, Array<number | string>> = {};
    for (const [name, items] of Object.entries(body)) {
      if (!(name in RESOURCES)) throw badRequest({ [name]: ['Unknown fixture collection.'] });
      if (!Array.isArray(items)) throw badRequest({ [name]: ['Expected a list of objects.'] });
      const docs = await ctx.collections[name as ResourceName].createMany(
        items as Array<Record<string, unknown>>,
      );
      created[name] = docs.map((d) => d.id);
    }
    return created;
  });

  app.patch('/_emulator/serve_applications/:id', async (req) => {
    const app = await getOr404(ctx.collections.serve_applications, (req.params as { id: string }).id);
    const { status } = (req.body ?? {}) as { status?: string };
    return ctx.collections.serve_applications.update(app.id, { status, modified: new Date().toISOString() });
  });

  app.put('/_emulator/run_fixtures/:code/:action', async (req) => {
    const { code, action } = req.params as { code: string; action: string };
    await ctx.db.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [`run_fixture:${code}:${action}`, JSON.stringify(req.body ?? null)],
    );
    return { code, action, result: req.body ?? null };
  });

  // A further user, in the default tenant or another one (created on first use), for trying
  // what one tenant's user can see of another's data. Answers its access token once.
  app.post('/_emulator/users', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const errors: Record<string, string[]> = {};
    if (typeof body.email !== 'string' || !/^[^\s@]{1,64}@[^\s@]{1,190}$/.test(body.email))
      errors.email = ['Enter a valid email address.'];
    if (typeof body.password !== 'string' || body.password.length < 8 || body.password.length > 256)
      errors.password = ['A password of 8 to 256 characters is required.'];
    if (body.tenant !== undefined && typeof body.tenant !== 'string') errors.tenant = ['Must be a string.'];
    if (body.is_admin !== undefined && typeof body.is_admin !== 'boolean')
      errors.is_admin = ['Must be a boolean.'];
    if (Object.keys(errors).length > 0) throw badRequest(errors);
    const tenant = (body.tenant as string | undefined) ?? DEFAULT_TENANT;
    const user = await createUser(ctx, {
      email: body.email as string,
      password: body.password as string,
      tenant,
      isAdmin: (body.is_admin as boolean | undefined) ?? false,
    });
    return reply.code(201).send({ id: user.id, email: body.email, tenant, access_token: user.accessToken });
  });

  app.get('/_emulator/requests', async () => recorded.map(redacted));
  app.delete('/_emulator/requests', async (_req, reply) => {
    recorded.length = 0;
    return reply.code(204).send();
  });

  app.post('/_emulator/faults', async (req) => {
    if (!ctx.faults) throw notFound('Fault injection is off: start the devserver with faults enabled.');
    const fault = (req.body ?? {}) as Fault;
    if (fault.status === undefined && fault.hang_ms === undefined) {
      throw badRequest({ non_field_errors: ['Give "status" or "hang_ms".'] });
    }
    ctx.faults.add(fault);
    return fault;
  });

  app.get('/_emulator/faults', async () => {
    if (!ctx.faults) throw notFound('Fault injection is off: start the devserver with faults enabled.');
    return ctx.faults.pending();
  });

  app.delete('/_emulator/faults', async (_req, reply) => {
    ctx.faults?.clear();
    return reply.code(204).send();
  });
};
export default routes;
