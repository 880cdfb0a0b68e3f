/** The base URL of the links a response carries (#14 item 7): configured, forwarded, or the Host. */
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { type DevContext, requestBaseUrl } from '../src/context.ts';

const LISTEN = 'http://127.0.0.1:8000';

function base(headers: Record<string, string | string[]>, configured?: string): string {
  const ctx = {
    publicUrl: configured ?? LISTEN,
    publicUrlConfigured: configured !== undefined,
  } as DevContext;
  return requestBaseUrl(ctx, { headers } as unknown as FastifyRequest);
}

describe('requestBaseUrl', () => {
  it('follows X-Forwarded-Host and -Proto, the first of each list, over Host', () => {
    expect(
      base({
        host: '10.0.0.5:8000',
        'x-forwarded-host': 'synapse.example.com',
        'x-forwarded-proto': 'https',
      }),
    ).toBe('https://synapse.example.com');
    expect(
      base({ 'x-forwarded-host': 'edge.example:8443, inner.proxy', 'x-forwarded-proto': 'https,http' }),
    ).toBe('https://edge.example:8443');
    expect(base({ host: 'gateway.local:9000' })).toBe('http://gateway.local:9000');
    expect(base({ host: '[::1]:8000', 'x-forwarded-proto': 'HTTPS' })).toBe('https://[::1]:8000');
  });

  it('uses a configured public URL whatever the request says', () => {
    expect(base({ host: 'a.example', 'x-forwarded-host': 'b.example' }, 'https://synapse.example.com')).toBe(
      'https://synapse.example.com',
    );
  });

  it('ignores a host that is not a plain host[:port], and a scheme that is not http(s)', () => {
    for (const host of [
      'evil.example/path',
      'user@evil.example',
      'evil.example:99999x',
      '',
      'a'.repeat(300),
    ]) {
      expect(base({ host: 'x', 'x-forwarded-host': host }), host).toBe(host === '' ? 'http://x' : LISTEN);
    }
    expect(base({})).toBe(LISTEN);
    expect(base({ host: 'ok.example', 'x-forwarded-proto': 'javascript' })).toBe('http://ok.example');
  });
});
