/** The one redaction module: each credential shape, known secrets, and what must stay readable. */
import { describe, expect, it } from 'vitest';
import { isSecretKey, MASK, REDACTED, redactText, redactValue, SecretSet } from '../src/redact.ts';

describe('redactText', () => {
  it.each([
    ['https://user:pa55w0rd@example.com/x', 'https://user:***@example.com/x', 'pa55w0rd'],
    ['postgres://app:s3cr3t@db:5432/main', 'postgres://app:***@db:5432/main', 's3cr3t'],
    ['mysql://root:p@ss@db/x', 'mysql://root:***@db/x', 'ss@db'],
    ['host=db user=app password=hunter22 dbname=x', 'host=db user=app password=*** dbname=x', 'hunter22'],
    ['Server=db;User Id=app;Password=hunter22;', 'Server=db;User Id=app;Password=***;', 'hunter22'],
    ['Authorization: Bearer abcdefgh12345678', 'Authorization: Bearer ***', 'abcdefgh12345678'],
    ['authorization=Token syn_0123456789abcdef', 'authorization=Token ***', 'syn_0123456789abcdef'],
    [
      '-H "Authorization: Basic dXNlcjpwYXNzd29yZA=="',
      '-H "Authorization: Basic ***"',
      'dXNlcjpwYXNzd29yZA==',
    ],
    ['curl -H "Bearer abcdefgh12345678"', 'curl -H "Bearer ***"', 'abcdefgh12345678'],
    ['got syn_0123456789abcdef0123 back', `got syn_${MASK} back`, '0123456789abcdef0123'],
    ['{"api_key": "k-12345", "model": "m"}', '{"api_key": "***", "model": "m"}', 'k-12345'],
    ["{'password': 'x y z'}", "{'password': '***'}", 'x y z'],
    [
      'https://b.example/a.jpg?X-Amz-Signature=abc123&size=2',
      'https://b.example/a.jpg?X-Amz-Signature=***&size=2',
      'abc123',
    ],
    ['GET /models/?token=query-secret&page=2', 'GET /models/?token=***&page=2', 'query-secret'],
    ['SYNAPSE_AGENT_TOKEN=0a1b2c3d4e', 'SYNAPSE_AGENT_TOKEN=***', '0a1b2c3d4e'],
  ])('masks %s', (input, expected, secret) => {
    const out = redactText(input);
    expect(out).toBe(expected);
    expect(out).not.toContain(secret);
  });

  it('masks JWT-shaped strings', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXBhcnQ';
    expect(redactText(`token was ${jwt}.`)).toBe(`token was ***.`);
  });

  it('keeps ordinary text, counts and URLs without credentials', () => {
    for (const text of [
      'Token expired, log in again',
      'token_count=12 max_tokens: 512',
      'https://example.com/a?page=2&size=10',
      'postgres://app@db/main',
      'the password rules: 8 characters',
      'epoch 1/3 loss=0.25',
      // A path segment named like a key is not a key (an unsafe entrypoint's own message).
      "Unsafe entrypoint '../../../etc/passwd:X'",
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('masks known secrets anywhere, longest first, ignoring short ones', () => {
    const known = new SecretSet(['0123456789abcdef', '0123456789abcdef-long', 'short']);
    expect(known.size).toBe(2);
    expect(redactText('x0123456789abcdef-longy and 0123456789abcdef; short', { known })).toBe(
      'x***y and ***; short',
    );
    known.add('later-added-secret');
    expect(redactText('now later-added-secret', { known })).toBe('now ***');
    expect(redactText('a.b*c(d)e[f]g', { known: new SecretSet(['a.b*c(d)e[f]g']) })).toBe('***');
  });
});

describe('isSecretKey', () => {
  it('reads the last word of the key', () => {
    for (const key of [
      'token',
      'access_token',
      'X-Amz-Signature',
      'dbPassword',
      'api_key',
      'apiKey',
      'secret_access_key',
      'synapse-access-token',
      'Authorization',
      'sig',
    ])
      expect(isSecretKey(key), key).toBe(true);
    for (const key of ['token_count', 'max_tokens', 'keyboard', 'key', 'model', 'password_rules', 'monkey'])
      expect(isSecretKey(key), key).toBe(false);
  });
});

describe('redactValue', () => {
  it('replaces values under secret keys at any depth and masks strings', () => {
    const value = {
      params: { api_key: 'nested-api-key', model: 'm', steps: [{ token: 'list-token' }], none: null },
      password: null,
      dsn: { nested: 'x' },
      source: 'https://u:pw-in-url@h/x',
      count: 3,
    };
    expect(redactValue(value)).toEqual({
      params: { api_key: REDACTED, model: 'm', steps: [{ token: REDACTED }], none: null },
      password: null,
      dsn: REDACTED,
      source: 'https://u:***@h/x',
      count: 3,
    });
  });

  it('takes extra keys and known secrets, and cuts hostile nesting', () => {
    const known = new SecretSet(['known-secret-value']);
    expect(
      redactValue(
        { 'synapse-user': 'Token x', note: 'has known-secret-value' },
        { known, extraKeys: /^synapse-user$/i },
      ),
    ).toEqual({
      'synapse-user': REDACTED,
      note: 'has ***',
    });
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(JSON.stringify(redactValue(deep))).toContain(REDACTED);
  });
});
