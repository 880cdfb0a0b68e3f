/**
 * Request bodies checked against the contract (synapse-core): a body whose fields break their wire
 * type gets a DRF-shaped 400 naming each field and its rule, and nothing is stored.
 * Own server: "nothing is stored" is proven by the count of every model on the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson } from '../../../test-support/harness.ts';
import { type DevServer, startDevServer } from '../src/index.ts';

let server: DevServer;

const call = (method: string, path: string, body?: unknown) => requestJson(server, method, path, body);

beforeAll(async () => {
  server = await startDevServer({ runJobs: false });
});
afterAll(() => server?.close());

describe('POST models/ against the contract', () => {
  it('names each field of a wrong type with its rule, and stores nothing', async () => {
    const res = await call('POST', 'models/', {
      name: 5,
      is_active: 'yes',
      metrics: ['not', 'an', 'object'],
      configuration: { ok: true },
      unknown_key: 'ignored',
    });
    expect(res).toEqual({
      status: 400,
      body: {
        name: ['Invalid input: expected string, received number'],
        is_active: ['Invalid input: expected boolean, received string'],
        metrics: ['Invalid input: expected record, received array'],
      },
    });
    expect((await call('GET', 'models/')).body.count).toBe(0);

    // The same body with its fields fixed is created, with only the writable fields kept.
    const created = await call('POST', 'models/', {
      name: 'ok',
      is_active: false,
      metrics: { map: 0.5 },
      unknown_key: 'x',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'ok', is_active: false, metrics: { map: 0.5 } });
    expect(created.body).not.toHaveProperty('unknown_key');
  });

  it("answers DRF's messages for a missing or blank name and a body that is not an object", async () => {
    expect(await call('POST', 'models/', { description: 'x' })).toEqual({
      status: 400,
      body: { name: ['This field is required.'] },
    });
    expect(await call('POST', 'models/', { name: '  ' })).toEqual({
      status: 400,
      body: { name: ['This field is required.'] },
    });
    expect(await call('POST', 'models/', [{ name: 'x' }])).toEqual({
      status: 400,
      body: { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
    });
  });
});
