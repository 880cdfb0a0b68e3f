/**
 * The dashboard's login: the platform's own credentials (the user's email and password, or one
 * of the user's tokens) open a session kept in a cookie. The server keeps only a SHA-256 of each
 * session id (a leaked store does not give sessions away), in its own context, with a bounded
 * lifetime and count. Failed logins are limited per client address.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { lookupToken, verifyPassword } from '../auth.ts';
import type { DevContext } from '../context.ts';

export const SESSION_COOKIE = 'synapse_dashboard';
/** A session lasts this long after login (then the dashboard asks again). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sessions kept at once; the oldest is dropped beyond it. */
const MAX_SESSIONS = 1000;
/** At most this many failed logins per client address in FAILURE_WINDOW_MS. */
export const MAX_FAILURES = 10;
const FAILURE_WINDOW_MS = 60 * 1000;
/** Client addresses whose failures are tracked at once (the oldest forgotten beyond it). */
const MAX_CLIENTS = 10_000;
/** Login fields longer than this are refused without being checked. */
const MAX_FIELD = 1024;

interface Session {
  userId: number;
  expires: number;
}

const digest = (id: string) => createHash('sha256').update(id).digest('hex');

export class DashboardSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #failures = new Map<string, number[]>();

  constructor(readonly ttlMs = SESSION_TTL_MS) {}

  /** A new session for the user; the returned id goes into the cookie and is not kept. */
  create(userId: number): string {
    const id = randomBytes(32).toString('base64url');
    this.#sessions.set(digest(id), { userId, expires: Date.now() + this.ttlMs });
    if (this.#sessions.size > MAX_SESSIONS)
      this.#sessions.delete(this.#sessions.keys().next().value as string);
    return id;
  }

  /** The user of a live session, or null (expired sessions are removed). */
  userOf(id: string | undefined): number | null {
    if (!id) return null;
    const key = digest(id);
    const session = this.#sessions.get(key);
    if (!session) return null;
    if (session.expires <= Date.now()) {
      this.#sessions.delete(key);
      return null;
    }
    return session.userId;
  }

  end(id: string | undefined): void {
    if (id) this.#sessions.delete(digest(id));
  }

  /** Seconds until this client may try again, 0 when it may now. */
  retryAfter(client: string): number {
    const now = Date.now();
    const recent = (this.#failures.get(client) ?? []).filter((t) => t > now - FAILURE_WINDOW_MS);
    if (recent.length === 0) this.#failures.delete(client);
    else this.#failures.set(client, recent);
    if (recent.length < MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((recent[0] + FAILURE_WINDOW_MS - now) / 1000));
  }

  recordFailure(client: string): void {
    const times = this.#failures.get(client) ?? [];
    this.#failures.delete(client);
    this.#failures.set(client, [...times, Date.now()].slice(-MAX_FAILURES));
    if (this.#failures.size > MAX_CLIENTS)
      this.#failures.delete(this.#failures.keys().next().value as string);
  }
}

/** The session id in the request's cookie header, if any. */
export function sessionCookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/** `Set-Cookie` for a session (or its removal with `id` null). */
export function sessionCookieHeader(ctx: DevContext, id: string | null, ttlMs = SESSION_TTL_MS): string {
  const secure = ctx.publicUrl.startsWith('https:') ? '; Secure' : '';
  const age = id ? Math.floor(ttlMs / 1000) : 0;
  return `${SESSION_COOKIE}=${id ?? ''}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${age}${secure}`;
}

const text = (v: unknown) => (typeof v === 'string' && v.length <= MAX_FIELD ? v.trim() : '');

/**
 * The user these login fields prove: `token` (an access or user token, not the agent's), or
 * `email` and `password`. Null when they prove nothing.
 */
export async function loginUser(ctx: DevContext, fields: Record<string, unknown>): Promise<number | null> {
  const token = text(fields.token).replace(/^(Token|Bearer)\s+/i, '');
  if (token) {
    const found = await lookupToken(ctx, token);
    return found && found.kind !== 'agent' ? found.subject : null;
  }
  const email = text(fields.email);
  const password =
    typeof fields.password === 'string' && fields.password.length <= MAX_FIELD ? fields.password : '';
  if (!email || !password) return null;
  const [user] = await ctx.db.query<{ id: number; doc: { password?: string } }>(
    `SELECT id, doc FROM users WHERE lower(doc->>'email') = lower($1)`,
    [email],
  );
  if (!user?.doc.password || !verifyPassword(password, user.doc.password)) return null;
  ctx.secrets.add(password);
  return user.id;
}
