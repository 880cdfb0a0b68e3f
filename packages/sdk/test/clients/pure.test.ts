import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from '../../src/clients/http.ts';
import { appendQuery, buildUrl } from '../../src/clients/url.ts';
import {
  AuthenticationError,
  type ClientError,
  GpuUnavailableError,
  HTTPError,
  NotFoundError,
  RateLimitError,
  raiseForStatus,
  ServerError,
  ValidationError,
} from '../../src/index.ts';

describe('buildUrl', () => {
  const base = 'http://10.0.0.5:3000/api';
  it('joins relative paths and keeps absolute ones', () => {
    expect(buildUrl(base, 'models/1/')).toBe('http://10.0.0.5:3000/api/models/1/');
    expect(buildUrl(base, '/models/')).toBe('http://10.0.0.5:3000/api/models/');
    expect(buildUrl(base, '')).toBe('http://10.0.0.5:3000/api/');
    expect(buildUrl(base, 'https://x.test/p?page=2')).toBe('https://x.test/p?page=2');
  });
  it('adds a trailing slash before the query when asked', () => {
    expect(buildUrl(base, 'models?x=1', true)).toBe('http://10.0.0.5:3000/api/models/?x=1');
    expect(buildUrl(base, 'models/', true)).toBe('http://10.0.0.5:3000/api/models/');
  });
});

describe('appendQuery', () => {
  it('encodes the spec rules: undefined dropped, null empty, arrays repeated, __in joined', () => {
    const url = appendQuery('http://h/tasks/', {
      project: 1,
      assignee: null,
      skip: undefined,
      is_active: true,
      ids: [1, 2],
      status__in: ['pending', 'in_progress'],
      search: 'a b&c',
    });
    expect(url).toBe(
      'http://h/tasks/?project=1&assignee=&is_active=true&ids=1&ids=2&status__in=pending%2Cin_progress&search=a%20b%26c',
    );
  });
  it('appends to an existing query', () => {
    expect(appendQuery('http://h/x/?a=1', { b: 2 })).toBe('http://h/x/?a=1&b=2');
    expect(appendQuery('http://h/x/', {})).toBe('http://h/x/');
  });
});

describe('retry timing', () => {
  it('waits 0, 2, 4 s with factor 1, capped at 120', () => {
    expect([1, 2, 3].map((n) => backoffDelay(n, 1))).toEqual([0, 2, 4]);
    expect(backoffDelay(20, 1)).toBe(120);
    expect(backoffDelay(3, 0)).toBe(0);
  });
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter('999')).toBe(120);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });
});

describe('errors', () => {
  const thrown = (status: number, detail: unknown) => {
    try {
      raiseForStatus(status, detail);
    } catch (e) {
      return e as ClientError;
    }
    return null;
  };

  it('maps statuses to the hierarchy', () => {
    expect(thrown(200, {})).toBeNull();
    expect(thrown(401, {})).toBeInstanceOf(AuthenticationError);
    expect(thrown(404, {})).toBeInstanceOf(NotFoundError);
    expect(thrown(422, {})).toBeInstanceOf(ValidationError);
    expect(thrown(429, {})).toBeInstanceOf(RateLimitError);
    expect(thrown(409, {})?.constructor).toBe(HTTPError);
    expect(thrown(502, 'bad gateway')).toBeInstanceOf(ServerError);
    expect(thrown(503, { error_type: 'gpu_unavailable' })).toBeInstanceOf(GpuUnavailableError);
    expect(thrown(503, { error_type: 'other' })).toBeInstanceOf(ServerError);
  });

  it('formats messages and keeps the seed aliases', () => {
    const e = thrown(400, { name: ['This field is required.'] })!;
    expect(e.name).toBe('ValidationError');
    expect(e.message).toBe('400: {"name":["This field is required."]}');
    expect([e.status_code, e.response, e.reason]).toEqual([400, e.detail, e.detail]);
    expect(thrown(413, 'Payload Too Large')!.message).toBe('413: Payload Too Large');
    expect((thrown(503, { error_type: 'gpu_unavailable' }) as GpuUnavailableError).message).toBe(
      '503: GPU unavailable',
    );
  });

  it('renders FastAPI validation lists line by line', () => {
    const detail = {
      detail: [
        {
          loc: ['body', 'num_cpus'],
          msg: 'Input should be a valid number',
          type: 'float_parsing',
          input: 'x'.repeat(60),
        },
        { loc: ['body', 'kind'], msg: 'Field required', type: 'missing' },
      ],
    };
    expect(thrown(422, detail)!.message).toBe(
      [
        '422 Validation Error:',
        `  body -> num_cpus: Input should be a valid number (type=float_parsing) [input="${'x'.repeat(49)}...]`,
        '  body -> kind: Field required (type=missing)',
      ].join('\n'),
    );
  });
});
