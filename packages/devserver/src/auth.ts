/**
 * Credentials issued by the devserver itself (backend-api.md §1.2): one user with an access
 * token created at first start, user tokens from `users/login/`, and the agent's token.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { DevContext } from './context.ts';
import { ApiError } from './errors.ts';
import { DEFAULT_TENANT, type Principal, TENANT_CODE } from './tenancy.ts';

export type TokenKind = 'access' | 'user' | 'agent';

export interface Bootstrap {
  accessToken: string;
  agentToken: string;
  agentId: number;
  email: string;
  /** Only on the start that created the user; never stored in clear. */
  password?: string;
}

export const DEV_EMAIL = 'dev@synapse.local';

function hashPassword(password: string, salt = randomBytes(16).toString('hex')): string {
  return `${salt}:${scryptSync(password, salt, 32).toString('hex')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const [salt, hash] = stored.split(':');
  const actual = Buffer.from(hashPassword(password, salt).split(':')[1], 'hex');
  return timingSafeEqual(actual, Buffer.from(hash, 'hex'));
}

export async function issueToken(
  ctx: DevContext,
  kind: TokenKind,
  subject: number,
  token?: string,
): Promise<string> {
  const value =
    token ?? (kind === 'agent' ? randomBytes(20).toString('hex') : `syn_${randomBytes(20).toString('hex')}`);
  ctx.secrets.add(value);
  await ctx.db.query('INSERT INTO tokens (token, kind, subject) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    value,
    kind,
    subject,
  ]);
  return value;
}

/** The tenant's internal file storage, where its uploads and media live (backend-api.md §13). */
function createDefaultStorage(ctx: DevContext): Promise<unknown> {
  return ctx.collections.storages.create({
    name: 'default',
    category: 'internal',
    provider: 'file_system',
    configuration: { location: ctx.media.root },
    is_default: true,
  });
}

async function setting<T>(ctx: DevContext, key: string): Promise<T | undefined> {
  const [r] = await ctx.db.query<{ value: T }>('SELECT value FROM settings WHERE key = $1', [key]);
  return r?.value;
}

/** Creates the user, its access token, the agent and the default storage on first start. */
export async function bootstrap(ctx: DevContext): Promise<Bootstrap> {
  const agentUrl = `${ctx.publicUrl}/agent`;
  const existing = await setting<Bootstrap>(ctx, 'bootstrap');
  if (existing) {
    await ctx.collections.agents.update(existing.agentId, { url: agentUrl });
    return existing;
  }
  const password = randomBytes(9).toString('base64url');
  const user = await ctx.collections.users.create({
    email: DEV_EMAIL,
    name: 'Developer',
    password: hashPassword(password),
    is_admin: true,
  });
  const accessToken = await issueToken(ctx, 'access', user.id as number);
  const agentToken = randomBytes(20).toString('hex');
  const agent = await ctx.collections.agents.create({
    name: 'local',
    url: agentUrl,
    status: 'connected',
    token: agentToken,
    node_install_script: `${ctx.publicUrl}/agents/${agentToken}/node_install_script`,
  });
  await issueToken(ctx, 'agent', agent.id as number, agentToken);
  await createDefaultStorage(ctx);
  const result: Bootstrap = { accessToken, agentToken, agentId: agent.id as number, email: DEV_EMAIL };
  await ctx.db.query('INSERT INTO settings (key, value) VALUES ($1, $2)', [
    'bootstrap',
    JSON.stringify(result),
  ]);
  return { ...result, password };
}

/** `Token <t>`, `Bearer <t>` or a bare token. */
function tokenOf(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  return value.replace(/^(Token|Bearer)\s+/i, '').trim() || null;
}

/** A known token: its kind, whom it was issued to, and that subject's tenant. */
export interface TokenInfo {
  kind: TokenKind;
  subject: number;
  tenant: string;
  /** For user and access tokens: whether the user administers its tenant. */
  isAdmin: boolean;
}

export async function lookupToken(ctx: DevContext, token: string): Promise<TokenInfo | null> {
  const known = ctx.state.knownTokens;
  const cached = known.get(token);
  if (cached) return cached;
  // The subject's own row says its tenant (agents and users are tenant records like any other).
  const [r] = await ctx.db.query<TokenInfo>(
    `SELECT t.kind, t.subject, COALESCE(u.tenant, a.tenant, $2) AS tenant,
            COALESCE((u.doc->>'is_admin')::boolean, true) AS "isAdmin"
     FROM tokens t
     LEFT JOIN users u ON t.kind <> 'agent' AND u.id = t.subject
     LEFT JOIN agents a ON t.kind = 'agent' AND a.id = t.subject
     WHERE t.token = $1`,
    [token, DEFAULT_TENANT],
  );
  if (r) known.set(token, r);
  return r ?? null;
}

/**
 * Backend auth (#11 item 4): a user or access token among the accepted headers, else 401. The
 * agent's token is a credential of the agent API only: alone (in any header) it is refused, and
 * in `SYNAPSE-Agent` it is accepted only beside a user token of the agent's own tenant.
 */
export async function authenticate(ctx: DevContext, req: FastifyRequest): Promise<Principal> {
  const userCandidates = [
    tokenOf(req.headers['synapse-access-token']),
    tokenOf(req.headers.authorization),
  ].filter((t): t is string => t !== null);
  const agentToken = tokenOf(req.headers['synapse-agent']);
  if (userCandidates.length === 0) {
    if (agentToken) {
      throw new ApiError(401, {
        detail: 'An agent token is accepted on the backend API only together with a user token.',
      });
    }
    throw new ApiError(401, { detail: 'Authentication credentials were not provided.' });
  }
  let user: TokenInfo | null = null;
  let agentOnly = false;
  for (const token of userCandidates) {
    const found = await lookupToken(ctx, token);
    if (found?.kind === 'agent') agentOnly = true;
    else if (found) {
      user = found;
      break;
    }
  }
  if (!user) {
    throw new ApiError(401, {
      detail: agentOnly ? 'The agent token is accepted on the agent API only.' : 'Invalid token.',
    });
  }
  if (agentToken) {
    const agent = await lookupToken(ctx, agentToken);
    if (agent?.kind !== 'agent') throw new ApiError(401, { detail: 'Invalid agent token.' });
    if (agent.tenant !== user.tenant) {
      throw new ApiError(403, { detail: "The agent belongs to another tenant than the user's token." });
    }
  }
  return { userId: user.subject, tenant: user.tenant, isAdmin: user.isAdmin };
}

/** Whom a user acts as (the dashboard's session user): their tenant and admin flag, or null if gone. */
export async function principalOfUser(ctx: DevContext, userId: number): Promise<Principal | null> {
  const [u] = await ctx.db.query<{ tenant: string | null; isAdmin: boolean }>(
    `SELECT tenant, COALESCE((doc->>'is_admin')::boolean, true) AS "isAdmin" FROM users WHERE id = $1`,
    [userId],
  );
  return u ? { userId, tenant: u.tenant ?? DEFAULT_TENANT, isAdmin: u.isAdmin } : null;
}

/** Agent API auth: the raw agent token in `Authorization`. */
export async function authenticateAgent(ctx: DevContext, req: FastifyRequest): Promise<number> {
  const token = tokenOf(req.headers.authorization);
  const found = token ? await lookupToken(ctx, token) : null;
  if (found?.kind !== 'agent') throw new ApiError(401, { detail: 'Invalid token.' });
  return found.subject;
}

/**
 * The user a plugin run acts as: whoever started it (the request's principal, which the run's
 * async work carries), else the bootstrap user (runs restored at startup, the agent API).
 */
export async function runUserId(ctx: DevContext): Promise<number> {
  const principal = ctx.tenancy.getStore();
  if (principal) return principal.userId;
  const [user] = await ctx.db.query<{ id: number }>(`SELECT id FROM users WHERE doc->>'email' = $1`, [
    DEV_EMAIL,
  ]);
  return user.id;
}

export interface NewUser {
  email: string;
  password: string;
  tenant: string;
  isAdmin: boolean;
}

/**
 * A further user (the emulator's `POST /_emulator/users`), with an access token. The first user
 * of a tenant other than the default one also gets the tenant's default storage.
 */
export async function createUser(
  ctx: DevContext,
  spec: NewUser,
): Promise<{ id: number; accessToken: string }> {
  if (!TENANT_CODE.test(spec.tenant)) {
    throw new ApiError(400, {
      tenant: [
        'A tenant code is 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit.',
      ],
    });
  }
  return ctx.tenancy.run({ userId: 0, tenant: spec.tenant, isAdmin: true }, async () => {
    // Login is by email across tenants, so an email names one user on the whole platform.
    const taken = await ctx.db.query(`SELECT 1 FROM users WHERE lower(doc->>'email') = lower($1)`, [
      spec.email,
    ]);
    if (taken.length > 0) {
      throw new ApiError(400, { email: ['A user with this email already exists.'] });
    }
    const user = await ctx.collections.users.create({
      email: spec.email,
      name: spec.email,
      password: hashPassword(spec.password),
      is_admin: spec.isAdmin,
    });
    if ((await ctx.collections.storages.count()) === 0) await createDefaultStorage(ctx);
    return { id: user.id as number, accessToken: await issueToken(ctx, 'access', user.id as number) };
  });
}
