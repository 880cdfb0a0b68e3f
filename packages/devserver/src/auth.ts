/**
 * Credentials issued by the devserver itself (backend-api.md §1.2): one user with an access
 * token created at first start, user tokens from `users/login/`, and the agent's token.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { DevContext } from './context.ts';
import { ApiError } from './errors.ts';

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
  await ctx.collections.storages.create({
    name: 'default',
    category: 'internal',
    provider: 'file_system',
    configuration: { location: ctx.media.root },
    is_default: true,
  });
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

type TokenInfo = { kind: TokenKind; subject: number };

/**
 * Known tokens, per database: every request is authenticated, and tokens are never revoked, so a
 * token found once needs no second query. Unknown tokens are not cached (they may be issued later).
 */
const knownTokens = new WeakMap<object, Map<string, TokenInfo>>();

export async function lookupToken(ctx: DevContext, token: string): Promise<TokenInfo | null> {
  const known = knownTokens.get(ctx.db) ?? new Map<string, TokenInfo>();
  knownTokens.set(ctx.db, known);
  const cached = known.get(token);
  if (cached) return cached;
  const [r] = await ctx.db.query<TokenInfo>('SELECT kind, subject FROM tokens WHERE token = $1', [token]);
  if (r) known.set(token, r);
  return r ?? null;
}

/** Backend auth: any one valid credential among the accepted headers; 401 otherwise. */
export async function authenticate(ctx: DevContext, req: FastifyRequest): Promise<void> {
  const candidates = [
    tokenOf(req.headers['synapse-access-token']),
    tokenOf(req.headers.authorization),
    tokenOf(req.headers['synapse-agent']),
  ].filter((t): t is string => t !== null);
  if (candidates.length === 0)
    throw new ApiError(401, { detail: 'Authentication credentials were not provided.' });
  for (const token of candidates) {
    if (await lookupToken(ctx, token)) return;
  }
  throw new ApiError(401, { detail: 'Invalid token.' });
}

/** Agent API auth: the raw agent token in `Authorization`. */
export async function authenticateAgent(ctx: DevContext, req: FastifyRequest): Promise<number> {
  const token = tokenOf(req.headers.authorization);
  const found = token ? await lookupToken(ctx, token) : null;
  if (found?.kind !== 'agent') throw new ApiError(401, { detail: 'Invalid token.' });
  return found.subject;
}
