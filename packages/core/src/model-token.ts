/**
 * The multiplexed model token's format (inference.md §5): an HS256 JWT whose bytes equal PyJWT's
 * for the same inputs (header and claim order, compact separators and Python's `ensure_ascii`
 * escaping are all part of the token), sent in the `serve_multiplexed_model_id` header.
 *
 * The contract holds the format: the claims, their encoding, the signing input and the checks of
 * a token's shape. The HMAC-SHA256 signature itself is computed by the SDK (serve/multiplex-token.ts)
 * with `node:crypto`: the contract stays free of Node-only APIs, Web Crypto's HMAC is asynchronous
 * (the SDK's `createServeMultiplexedModelId` is not), and a signature check wants a vetted
 * constant-time comparison rather than one written here.
 */

/** The request header the token travels in; the serve gateway routes by it. */
export const MULTIPLEX_HEADER = 'serve_multiplexed_model_id';

export interface ServeModelClaims {
  model: string;
  token: string;
  tenant?: string;
}

/** A token that is malformed, unsigned by this backend or not HS256; the serve app answers 401. */
export class MultiplexTokenError extends Error {
  constructor(reason: string) {
    super(`Invalid model token: ${reason}`);
    this.name = 'MultiplexTokenError';
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Base64url without padding of the string's UTF-8 bytes (what `Buffer.toString('base64url')` gives). */
function base64url(text: string): string {
  return base64urlOfBytes(new TextEncoder().encode(text));
}

/** Base64url without padding of bytes: the form of every token segment, the signature included. */
export function base64urlOfBytes(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The text of a base64url segment, decoded the way Node's `Buffer` decodes it: a lone last
 * character (length 1 mod 4) carries no whole byte and is dropped rather than refused.
 */
function textOfSegment(segment: string): string {
  const whole = segment.length % 4 === 1 ? segment.slice(0, -1) : segment;
  const binary = atob(whole.replace(/-/g, '+').replace(/_/g, '/'));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

const HEADER = base64url('{"alg":"HS256","typ":"JWT"}');

/** The token's claims, in their order: `model`, `token`, then `tenant` only when non-empty. */
export function modelTokenClaims(
  modelId: number | string,
  token: string,
  tenant?: string | null,
): ServeModelClaims {
  const claims: ServeModelClaims = { model: String(modelId), token };
  if (typeof tenant === 'string' && tenant !== '') claims.tenant = tenant;
  return claims;
}

/** What the signature is computed over: `<header>.<payload>`, both base64url, ASCII only. */
export function modelTokenSigningInput(claims: ServeModelClaims): string {
  return `${HEADER}.${base64url(pythonJson(claims))}`;
}

/** A token split into what its signature covers, its payload segment and its signature segment. */
export interface ModelTokenParts {
  signingInput: string;
  payload: string;
  signature: string;
}

/**
 * Checks a token's shape (three base64url segments, an HS256 header) before its signature is
 * verified; throws `MultiplexTokenError`. The claims are read after verification, with
 * `modelTokenClaimsOf`, so an unsigned payload is never trusted.
 */
export function splitModelToken(jwt: string): ModelTokenParts {
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new MultiplexTokenError('malformed token');
  }
  const [header, payload, signature] = parts as [string, string, string];
  const alg = parseSegment(header, 'header').alg;
  if (alg !== 'HS256') throw new MultiplexTokenError(`unsupported algorithm ${JSON.stringify(alg)}`);
  return { signingInput: `${header}.${payload}`, payload, signature };
}

/** The claims of a (verified) payload segment; throws `MultiplexTokenError`. */
export function modelTokenClaimsOf(payload: string): ServeModelClaims {
  const { model, token, tenant } = parseSegment(payload, 'payload');
  if (
    typeof model !== 'string' ||
    typeof token !== 'string' ||
    (tenant !== undefined && typeof tenant !== 'string')
  ) {
    throw new MultiplexTokenError('payload needs string "model" and "token"');
  }
  return tenant === undefined ? { model, token } : { model, token, tenant };
}

/** A model id as the claim carries it: digits only, no leading zero, within JavaScript's exact integers. */
const MODEL_ID = /^[1-9][0-9]{0,15}$/;

/**
 * The model id of a verified token's `model` claim. The claim is text: `parseInt` would read
 * `"1; DROP"` as model 1, so anything but a plain positive integer is refused.
 */
export function modelIdOfClaims(claims: ServeModelClaims): number {
  const id = MODEL_ID.test(claims.model) ? Number(claims.model) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new MultiplexTokenError(
      `the model claim must be a model id: a positive integer of digits only, at most ${Number.MAX_SAFE_INTEGER}`,
    );
  }
  return id;
}

/**
 * `json.dumps(value, separators=(',', ':'))`: JSON.stringify already escapes like Python;
 * `ensure_ascii` additionally escapes every UTF-16 code unit outside printable ASCII.
 */
function pythonJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function parseSegment(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(textOfSegment(part));
  } catch {
    throw new MultiplexTokenError(`${what} is not valid JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new MultiplexTokenError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
