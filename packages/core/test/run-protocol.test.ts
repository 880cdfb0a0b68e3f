/**
 * The run protocol as the contract defines it (plugins.md §10.5, §13; inference.md §5, §6), with
 * real values: the release checksum against Node's own MD5, the model token's bytes against the
 * spec's PyJWT vectors, and the job output markers read back from what a job prints.
 */
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  base64urlOfBytes,
  DATA_TYPES,
  defaultMethodFor,
  JOB_ENV,
  JobResultError,
  LOG_LEVELS,
  MESSAGE_CONTEXTS,
  MULTIPLEX_HEADER,
  MultiplexTokenError,
  modelIdOfClaims,
  modelTokenClaims,
  modelTokenClaimsOf,
  modelTokenSigningInput,
  PACKAGE_MANAGERS,
  PARAMS_ENV_LIMIT,
  PLUGIN_CATEGORIES,
  parseResult,
  RESULT_END,
  RESULT_START,
  ResultBlockFilter,
  ResultScanner,
  RUN_ENV,
  RUN_METHODS,
  releaseChecksum,
  releaseCode,
  releaseRoutePrefix,
  resultBlock,
  resultMarker,
  SERVE_ENV,
  splitModelToken,
  withoutResultBlock,
} from 'synapse-core';
import { describe, expect, it } from 'vitest';

const nodeMd5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

describe('release code, checksum and route prefix', () => {
  it('names a release `<code>@<version>` and routes it at `/<md5 hex of the code>`', () => {
    const code = releaseCode('echo-serve', '1.0.0');
    expect(code).toBe('echo-serve@1.0.0');
    expect(releaseChecksum(code)).toBe('0b29c0e6335ecd901701dd0387289ea5');
    expect(releaseRoutePrefix(releaseChecksum(code))).toBe('/0b29c0e6335ecd901701dd0387289ea5');
  });

  it("computes Node's MD5 for every length around the block boundaries and for any text", () => {
    const texts = [
      '',
      'object-detection@0.1.0',
      'tök€n 😀 テナント@1.0.0',
      'é'.repeat(1000),
      ...Array.from({ length: 140 }, (_, n) => 'x'.repeat(n)),
    ];
    for (const text of texts) expect(releaseChecksum(text), text).toBe(nodeMd5(text));
  });
});

describe('environment variables', () => {
  it('keeps their wire names and the serve gateway default', () => {
    expect(Object.values(RUN_ENV).map((v) => v.name)).toEqual([
      'SYNAPSE_PLUGIN_RUN_HOST',
      'SYNAPSE_PLUGIN_RUN_USER_TOKEN',
      'SYNAPSE_PLUGIN_RUN_TENANT',
      'SYNAPSE_PLUGIN_RELEASE_CODE',
      'SYNAPSE_PLUGIN_RELEASE_CHECKSUM',
      'SYNAPSE_AGENT_ID',
      'SYNAPSE_AGENT_URL',
      'SYNAPSE_AGENT_TOKEN',
    ]);
    expect(Object.values(JOB_ENV).map((v) => v.name)).toEqual([
      'SYNAPSE_JOB_ID',
      'SYNAPSE_ACTION_ENTRYPOINT',
      'SYNAPSE_ACTION_PARAMS',
      'SYNAPSE_ACTION_PARAMS_FILE',
      'RAY_JOB_ID',
    ]);
    expect(SERVE_ENV.serveAddress).toMatchObject({
      name: 'RAY_SERVE_ADDRESS',
      default: 'http://localhost:8100',
    });
    expect(PARAMS_ENV_LIMIT).toBe(32_000);
  });
});

/** The spec's vectors (inference.md §5), checked against PyJWT. */
const VECTORS = [
  {
    args: [123, 'user_access_token', 'https://api.example.com', 'my-tenant'] as const,
    jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjEyMyIsInRva2VuIjoidXNlcl9hY2Nlc3NfdG9rZW4iLCJ0ZW5hbnQiOiJteS10ZW5hbnQifQ.hTiR5kSyNxLXpv6v7V5BUgn_9rszJv93e_YPXdvwNig',
  },
  {
    args: [34, 'abc', 'http://localhost:8000', undefined] as const,
    jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjM0IiwidG9rZW4iOiJhYmMifQ.YbL3W6m6VmTfAvdCfLc77qLQsmKy1qNe_0OMx1qhQX8',
  },
  {
    args: [7, 'tök€n', 'https://api.synapse.sh', 'テナント'] as const,
    jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjciLCJ0b2tlbiI6InRcdTAwZjZrXHUyMGFjbiIsInRlbmFudCI6Ilx1MzBjNlx1MzBjYVx1MzBmM1x1MzBjOCJ9.JShnBJcDlhP6EfnSE3ClXS9RAFtO8aVb2EZlDdNT3Z4',
  },
  {
    args: [1, 'a\u007fb\n"\\/', 'k'.repeat(40), undefined] as const,
    jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtb2RlbCI6IjEiLCJ0b2tlbiI6ImFcdTAwN2ZiXG5cIlxcLyJ9.UvKnGEvLuQm42iP4rf5kL3BDthHyJ2xo4dGIp78mDWo',
  },
];

describe('the multiplexed model token format', () => {
  it("builds PyJWT's bytes: the contract's signing input, signed with HMAC-SHA256 keyed by the backend URL", () => {
    for (const { args, jwt } of VECTORS) {
      const [model, token, backendUrl, tenant] = args;
      const signingInput = modelTokenSigningInput(modelTokenClaims(model, token, tenant));
      const signature = createHmac('sha256', backendUrl).update(signingInput, 'ascii').digest();
      expect(`${signingInput}.${base64urlOfBytes(signature)}`).toBe(jwt);
    }
    expect(MULTIPLEX_HEADER).toBe('serve_multiplexed_model_id');
  });

  it('reads the claims back from a token split into its parts', () => {
    const { args, jwt } = VECTORS[2]!;
    const parts = splitModelToken(jwt);
    expect(parts.signingInput).toBe(jwt.slice(0, jwt.lastIndexOf('.')));
    expect(parts.signature).toBe(jwt.slice(jwt.lastIndexOf('.') + 1));
    expect(modelTokenClaimsOf(parts.payload)).toEqual({ model: '7', token: args[1], tenant: args[3] });
    expect(modelIdOfClaims(modelTokenClaimsOf(parts.payload))).toBe(7);
    // An empty tenant is no tenant: the claim is left out, as PyJWT's callers do.
    expect(modelTokenClaims(5, 't', '')).toEqual({ model: '5', token: 't' });
  });

  it('refuses a token of the wrong shape, algorithm or claims', () => {
    const header = (json: string) => Buffer.from(json).toString('base64url');
    const payload = (json: string) => Buffer.from(json).toString('base64url');
    expect(() => splitModelToken('a.b')).toThrow(new MultiplexTokenError('malformed token'));
    expect(() => splitModelToken('a+.b.c')).toThrow(new MultiplexTokenError('malformed token'));
    expect(() => splitModelToken(`${header('{"alg":"none"}')}.${payload('{}')}.`)).toThrow(
      new MultiplexTokenError('unsupported algorithm "none"'),
    );
    expect(() => splitModelToken(`${header('[1]')}.x.y`)).toThrow(
      new MultiplexTokenError('header is not a JSON object'),
    );
    // A lone trailing character carries no byte: dropped, as Node's Buffer drops it.
    const hs256 = header('{"alg":"HS256"}');
    expect(Buffer.from(`${hs256}x`, 'base64url').toString()).toBe('{"alg":"HS256"}');
    expect(splitModelToken(`${hs256}x.p.s`).signingInput).toBe(`${hs256}x.p`);
    expect(() => modelTokenClaimsOf(payload('{"model":7,"token":"t"}'))).toThrow(
      new MultiplexTokenError('payload needs string "model" and "token"'),
    );
    expect(() => modelIdOfClaims({ model: '07', token: 't' })).toThrow(/model claim must be a model id/);
  });
});

describe('job output markers', () => {
  it('prints a result between the markers and reads it back, wrapping a non-object', () => {
    expect(resultBlock({ epochs: 4 })).toBe(`\n${RESULT_START}\n{"epochs":4}\n${RESULT_END}\n`);
    expect(RESULT_START).toBe('__SYNAPSE_RESULT_START__');
    expect(RESULT_END).toBe('__SYNAPSE_RESULT_END__');
    expect(parseResult(`training...${resultBlock({ epochs: 4 })}`)).toEqual({ epochs: 4 });
    expect(parseResult(resultBlock(42))).toEqual({ result: 42 });
    expect(parseResult(resultBlock(undefined))).toEqual({ result: null });
    expect(parseResult(resultBlock([1, 2]))).toEqual({ result: [1, 2] });
  });

  it('keeps the last complete block, reads \\r\\n output alike and ignores an unterminated one', () => {
    const scanner = new ResultScanner();
    const lines = [
      RESULT_START,
      '{"first":1}',
      RESULT_END,
      `${RESULT_START}\r`,
      '{"last":2}\r',
      `${RESULT_END}\r`,
    ];
    for (const line of lines) scanner.line(line);
    expect(scanner.result()).toEqual({ last: 2 });
    expect(resultMarker(`  ${RESULT_END}\r`)).toBe('end');
    expect(resultMarker(`x ${RESULT_START}`)).toBeUndefined();
    expect(parseResult(`${RESULT_START}\n{"a":1}\n`)).toBeNull();
    expect(parseResult('')).toBeNull();
    expect(() => parseResult(`${RESULT_START}\nnot json\n${RESULT_END}`)).toThrow(JobResultError);
    expect(() => parseResult(`${RESULT_START}\nnot json\n${RESULT_END}`)).toThrow(/^Invalid job result: /);
  });

  it('leaves the block and the empty line before it out of the output people read', () => {
    const printed = `INFO: step 1\n\nINFO: step 2${resultBlock({ epochs: 4 })}`;
    expect(withoutResultBlock(printed)).toBe('INFO: step 1\n\nINFO: step 2\n');
    expect(withoutResultBlock(`done\n${resultBlock({ a: 1 })}`)).toBe('done\n');
    expect(withoutResultBlock(resultBlock({ a: 1 }))).toBe('');
    expect(withoutResultBlock('no result\nat all')).toBe('no result\nat all');
    // Line by line, as a job prints: an empty line waits for the next to show it is no block's.
    const filter = new ResultBlockFilter();
    const shown = ['a', '', 'b', '', `${RESULT_START}\r`, '{"a":1}', RESULT_END, 'after'].map((line) =>
      filter.push(line),
    );
    expect(shown).toEqual([['a'], [], ['', 'b'], [], [], [], [], ['after']]);
  });
});

describe('enums', () => {
  it('keep their wire casing (plugins.md §2)', () => {
    expect(PLUGIN_CATEGORIES.join(', ')).toBe(
      'neural_net, export, upload, smart_tool, post_annotation, pre_annotation, data_validation, custom',
    );
    expect(RUN_METHODS).toEqual(['job', 'task', 'serve', 'restapi']);
    expect(PACKAGE_MANAGERS).toEqual(['pip', 'uv']);
    expect(DATA_TYPES).toEqual(['image', 'text', 'video', 'pcd', 'audio']);
    expect(LOG_LEVELS).toEqual(['debug', 'info', 'warning', 'error', 'critical']);
    expect(MESSAGE_CONTEXTS).toEqual(['info', 'success', 'warning', 'danger', 'error']);
    expect(['inference', 'train', 'to_task', 'auto_label', 'anything'].map(defaultMethodFor)).toEqual([
      'serve',
      'job',
      'job',
      'task',
      'task',
    ]);
  });
});

describe('the contract package', () => {
  it('uses no Node-only API, so any runtime can implement either side of the protocol', () => {
    const src = join(import.meta.dirname, '../src');
    const found: string[] = [];
    for (const name of readdirSync(src)) {
      // Comments may name Node's APIs (to say what the code matches); code may not.
      const text = readFileSync(join(src, name), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const pattern of [/from 'node:/, /\bBuffer\b/, /\bprocess\./, /require\(/]) {
        if (pattern.test(text)) found.push(`${name}: ${pattern}`);
      }
    }
    expect(found).toEqual([]);
  });
});
