import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createServeMultiplexedModelId,
  decodeServeMultiplexedModelId,
  MultiplexTokenError,
} from '../../src/index.ts';
import { modelIdOfClaims } from '../../src/serve/multiplex-token.ts';

/** HS256 computed independently by Python's standard library, the way PyJWT serialises. */
const PYTHON_HS256 = `
import base64, hashlib, hmac, json, sys
model, token, key, tenant = json.loads(sys.stdin.read())
def seg(obj, **kw):
    raw = json.dumps(obj, separators=(',', ':'), ensure_ascii=True, **kw).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b'=')
payload = {'model': str(model), 'token': token}
if tenant:
    payload['tenant'] = tenant
signing_input = seg({'typ': 'JWT', 'alg': 'HS256'}, sort_keys=True) + b'.' + seg(payload)
sig = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
sys.stdout.write((signing_input + b'.' + base64.urlsafe_b64encode(sig).rstrip(b'=')).decode())
`;

function pythonJwt(model: number | string, token: string, key: string, tenant: string | null): string {
  return execFileSync('python3', ['-c', PYTHON_HS256], { input: JSON.stringify([model, token, key, tenant]) })
    .toString()
    .trim();
}

const URL = 'https://api.example.com';

/** A token with this header and payload, signed (or not) with `key`. */
function forge(
  header: object,
  payload: object,
  key: string | null,
  alg: 'sha256' | 'sha512' = 'sha256',
): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const sig = key === null ? '' : createHmac(alg, key).update(input).digest('base64url');
  return `${input}.${sig}`;
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64url');
}

describe('createServeMultiplexedModelId', () => {
  it.each([
    [
      123,
      'user_access_token',
      'https://api.example.com',
      'my-tenant',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjEyMyIsInRva2VuIjoidXNlcl9hY2Nlc3NfdG9rZW4iLCJ0ZW5hbnQiOiJteS10ZW5hbnQifQ.hTiR5kSyNxLXpv6v7V5BUgn_9rszJv93e_YPXdvwNig',
    ],
    [
      34,
      'abc',
      'http://localhost:8000',
      undefined,
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjM0IiwidG9rZW4iOiJhYmMifQ.YbL3W6m6VmTfAvdCfLc77qLQsmKy1qNe_0OMx1qhQX8',
    ],
    [
      7,
      'tök€n',
      'https://api.synapse.sh',
      'テナント',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjciLCJ0b2tlbiI6InRcdTAwZjZrXHUyMGFjbiIsInRlbmFudCI6Ilx1MzBjNlx1MzBjYVx1MzBmM1x1MzBjOCJ9.JShnBJcDlhP6EfnSE3ClXS9RAFtO8aVb2EZlDdNT3Z4',
    ],
    [
      1,
      'a\x7fb\n"\\/',
      'k'.repeat(40),
      undefined,
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjEiLCJ0b2tlbiI6ImFcdTAwN2ZiXG5cIlxcLyJ9.UvKnGEvLuQm42iP4rf5kL3BDthHyJ2xo4dGIp78mDWo',
    ],
  ])('matches the spec vector for model %s', (model, token, key, tenant, jwt) => {
    expect(createServeMultiplexedModelId(model, token, key, tenant)).toBe(jwt);
  });

  it.each([
    [123, 'user_access_token', URL, 'my-tenant'],
    ['34', 'abc', 'http://localhost:8000/api/v1/?x=1', null],
    [7, 'tök€n\u0000\t\r\b\f', 'https://api.synapse.sh', 'テナント'],
    ['m-😀', 'emoji 😀 and \u2028 and lone \ud800', 'https://例え.jp/パス', 'ténant 😀'],
    [9, '"quoted" \\ back </script>', 'http://127.0.0.1:8080/base/path', ''],
  ])('is byte-identical to an HS256 computed by Python (%s)', (model, token, key, tenant) => {
    expect(createServeMultiplexedModelId(model, token, key, tenant)).toBe(
      pythonJwt(model, token, key, tenant),
    );
  });

  it('leaves an empty or missing tenant out of the payload', () => {
    const withEmpty = createServeMultiplexedModelId(1, 't', URL, '');
    expect(withEmpty).toBe(createServeMultiplexedModelId(1, 't', URL));
    expect(withEmpty).toBe(createServeMultiplexedModelId(1, 't', URL, null));
    expect(JSON.parse(Buffer.from(withEmpty.split('.')[1]!, 'base64url').toString())).toEqual({
      model: '1',
      token: 't',
    });
  });

  it('refuses an empty key like PyJWT', () => {
    expect(() => createServeMultiplexedModelId(1, 't', '')).toThrow('HMAC key must not be empty.');
  });
});

describe('decodeServeMultiplexedModelId', () => {
  it('round-trips the claims, non-ASCII included', () => {
    const jwt = createServeMultiplexedModelId(7, 'tök€n 😀', URL, 'テナント');
    expect(decodeServeMultiplexedModelId(jwt, URL)).toEqual({
      model: '7',
      token: 'tök€n 😀',
      tenant: 'テナント',
    });
    const plain = createServeMultiplexedModelId('abc', 'tok', URL);
    expect(decodeServeMultiplexedModelId(plain, URL)).toEqual({ model: 'abc', token: 'tok' });
  });

  it('accepts a token made by Python', () => {
    expect(decodeServeMultiplexedModelId(pythonJwt(5, 'p', URL, 't'), URL)).toEqual({
      model: '5',
      token: 'p',
      tenant: 't',
    });
  });

  const good = createServeMultiplexedModelId(123, 'user_access_token', URL, 'my-tenant');
  const [header, payload, signature] = good.split('.') as [string, string, string];

  it.each([
    [
      'a tampered payload',
      `${header}.${b64('{"model":"124","token":"user_access_token"}')}.${signature}`,
      /signature/,
    ],
    ['a tampered signature', `${header}.${payload}.${signature.slice(0, -2)}AA`, /signature/],
    ['a truncated signature', `${header}.${payload}.${signature.slice(0, 10)}`, /signature/],
    ['an empty signature', `${header}.${payload}.`, /signature/],
    ['alg none', forge({ alg: 'none', typ: 'JWT' }, { model: '1', token: 't' }, null), /algorithm "none"/],
    ['alg HS512', forge({ alg: 'HS512', typ: 'JWT' }, { model: '1', token: 't' }, URL, 'sha512'), /"HS512"/],
    ['no alg', forge({ typ: 'JWT' }, { model: '1', token: 't' }, URL), /algorithm/],
    ['two segments', `${header}.${payload}`, /malformed/],
    ['four segments', `${good}.x`, /malformed/],
    ['garbage', 'not a token', /malformed/],
    ['an empty string', '', /malformed/],
    ['standard base64', `${header}.${payload}+/.${signature}`, /malformed/],
    ['a header that is not JSON', `${b64('{alg')}.${payload}.${signature}`, /header is not valid JSON/],
    [
      'a header that is not an object',
      `${b64('"HS256"')}.${payload}.${signature}`,
      /header is not a JSON object/,
    ],
    ['a signed array payload', forge({ alg: 'HS256', typ: 'JWT' }, [], URL), /payload is not a JSON object/],
    ['a signed payload without token', forge({ alg: 'HS256', typ: 'JWT' }, { model: '1' }, URL), /"token"/],
    ['a numeric model', forge({ alg: 'HS256', typ: 'JWT' }, { model: 1, token: 't' }, URL), /"model"/],
  ])('refuses %s', (_, jwt, reason) => {
    const refuse = () => decodeServeMultiplexedModelId(jwt, URL);
    expect(refuse).toThrow(MultiplexTokenError);
    expect(refuse).toThrow(/^Invalid model token: /);
    expect(refuse).toThrow(reason);
  });

  it('refuses a token signed for another backend', () => {
    const other = createServeMultiplexedModelId(
      123,
      'user_access_token',
      'https://evil.example.com',
      'my-tenant',
    );
    expect(() => decodeServeMultiplexedModelId(other, URL)).toThrow(
      new MultiplexTokenError('signature verification failed'),
    );
    expect(() => decodeServeMultiplexedModelId(good, '')).toThrow(
      'Invalid model token: HMAC key must not be empty.',
    );
  });

  it('names itself for the 401 the serve app answers', () => {
    const error = new MultiplexTokenError('x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MultiplexTokenError');
    expect(error.message).toBe('Invalid model token: x');
  });
});

describe('modelIdOfClaims', () => {
  it('reads a plain positive integer and refuses anything else (parseInt would read "1; DROP" as 1)', () => {
    expect(modelIdOfClaims({ model: '34', token: 't' })).toBe(34);
    expect(modelIdOfClaims({ model: String(Number.MAX_SAFE_INTEGER), token: 't' })).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    for (const model of ['1; DROP', '0', '-1', '', '1e3', '0x10', '007', '1 ', '9007199254740992', 'abc']) {
      expect(() => modelIdOfClaims({ model, token: 't' })).toThrow(MultiplexTokenError);
      expect(() => modelIdOfClaims({ model, token: 't' })).toThrow(/model claim must be a model id/);
    }
  });
});
