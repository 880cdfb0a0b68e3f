/**
 * The model token of serve multiplexing (inference.md §5): an HS256 JWT keyed with the backend
 * URL. Hand-rolled so that the bytes equal PyJWT's for the same inputs: header and claim order,
 * compact separators and Python's `ensure_ascii` escaping are all part of the token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

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

const HEADER = segment('{"alg":"HS256","typ":"JWT"}');
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function createServeMultiplexedModelId(
  modelId: number | string,
  token: string,
  backendUrl: string,
  tenant?: string | null,
): string {
  const claims: ServeModelClaims = { model: String(modelId), token };
  if (typeof tenant === 'string' && tenant !== '') claims.tenant = tenant;
  const signingInput = `${HEADER}.${segment(pythonJson(claims))}`;
  return `${signingInput}.${sign(signingInput, backendUrl).toString('base64url')}`;
}

/** Verifies the token against `backendUrl` and returns its claims; throws `MultiplexTokenError`. */
export function decodeServeMultiplexedModelId(jwt: string, backendUrl: string): ServeModelClaims {
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new MultiplexTokenError('malformed token');
  }
  const [header, payload, signature] = parts as [string, string, string];
  const alg = parseSegment(header, 'header').alg;
  if (alg !== 'HS256') throw new MultiplexTokenError(`unsupported algorithm ${JSON.stringify(alg)}`);
  if (!backendUrl) throw new MultiplexTokenError('HMAC key must not be empty.');
  const expected = sign(`${header}.${payload}`, backendUrl);
  const actual = Buffer.from(signature, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new MultiplexTokenError('signature verification failed');
  }
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

function sign(signingInput: string, backendUrl: string): Buffer {
  if (!backendUrl) throw new Error('HMAC key must not be empty.');
  return createHmac('sha256', Buffer.from(backendUrl, 'utf8')).update(signingInput, 'ascii').digest();
}

function segment(json: string): string {
  return Buffer.from(json, 'utf8').toString('base64url');
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
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new MultiplexTokenError(`${what} is not valid JSON`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new MultiplexTokenError(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
