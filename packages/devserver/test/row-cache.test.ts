/**
 * The rows a collection keeps in memory (db/row-cache.ts): what it keeps and when it refuses to,
 * and over real HTTP that concurrent writes of one task leave the API showing what the database
 * holds. Own server: it reads the database behind the API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RowCache } from '../src/db/row-cache.ts';
import { type DevServer, startDevServer } from '../src/index.ts';

const key = (id: number | string) => Number(id);
const row = (id: number, doc: Record<string, unknown>) => ({ id, tenant: 'default', doc });

describe('RowCache', () => {
  it('keeps what a lone write returned, as copies its readers cannot change', () => {
    const cache = new RowCache(key);
    const write = cache.writeStarted([1]);
    cache.writeEnded(write, [row(1, { data: { n: 1 } })]);
    const first = cache.get('1')!;
    expect(first).toEqual({ tenant: 'default', doc: { data: { n: 1 } } });
    (first.doc.data as { n: number }).n = 99;
    expect(cache.get(1)!.doc).toEqual({ data: { n: 1 } });
  });

  it('keeps nothing of writes of the same row that overlapped, whichever ends last', () => {
    const cache = new RowCache(key);
    cache.writeEnded(cache.writeStarted([1]), [row(1, { v: 0 })]);
    const a = cache.writeStarted([1]);
    expect(cache.get(1)).toBeUndefined();
    const b = cache.writeStarted([1]);
    cache.writeEnded(b, [row(1, { v: 2 })]);
    cache.writeEnded(a, [row(1, { v: 1 })]);
    expect(cache.get(1)).toBeUndefined();
    // Writes of other rows do not overlap it.
    const c = cache.writeStarted([1]);
    cache.writeEnded(cache.writeStarted([2]), [row(2, { v: 3 })]);
    cache.writeEnded(c, [row(1, { v: 4 })]);
    expect(cache.get(1)!.doc).toEqual({ v: 4 });
    expect(cache.get(2)!.doc).toEqual({ v: 3 });
  });

  it('keeps a read only when no write ran while it did, nor was running when it began', () => {
    const cache = new RowCache(key);
    const quiet = cache.readStarted();
    cache.readEnded(quiet, [row(1, { v: 1 })]);
    expect(cache.get(1)!.doc).toEqual({ v: 1 });

    const during = cache.readStarted();
    cache.writeEnded(cache.writeStarted([3]), []);
    cache.readEnded(during, [row(2, { v: 2 })]);
    expect(cache.get(2)).toBeUndefined();

    const running = cache.writeStarted([5]);
    const meanwhile = cache.readStarted();
    cache.readEnded(meanwhile, [row(4, { v: 4 })]);
    expect(cache.get(4)).toBeUndefined();
    cache.writeEnded(running, []);
  });

  it('keeps nothing a write returns after the table was emptied', () => {
    const cache = new RowCache(key);
    cache.created([row(1, { v: 1 })], cache.epoch);
    const write = cache.writeStarted([2]);
    cache.clear();
    cache.writeEnded(write, [row(2, { v: 2 })]);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(2)).toBeUndefined();
  });

  it('lets the least recently used rows go when its text outgrows the bound', () => {
    const cache = new RowCache(key);
    const big = 'x'.repeat(400_000);
    // Twenty rows fit in the bound; row 0, used again, is then the most recent.
    for (let id = 0; id < 20; id++) cache.created([row(id, { big })], cache.epoch);
    expect(cache.get(0)).toBeDefined();
    for (let id = 20; id < 24; id++) cache.created([row(id, { big })], cache.epoch);
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(0)).toBeDefined();
    expect(cache.get(23)).toBeDefined();
    // A row of more than a sixteenth of the bound is not kept at all.
    cache.created([row(99, { big: 'x'.repeat(600_000) })], cache.epoch);
    expect(cache.get(99)).toBeUndefined();
  });
});

describe('a task written concurrently', () => {
  let server: DevServer;
  const headers = () => ({
    'Synapse-Access-Token': `Token ${server.credentials.accessToken}`,
    'Content-Type': 'application/json',
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/${path}`, {
      method,
      headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    server = await startDevServer({});
  });
  afterAll(() => server?.close());

  it('reads back what the database holds after overlapping annotations', async () => {
    const fixtures = await call('POST', '_emulator/fixtures', {
      data_units: [{ files: { annotation: { path: 'media/a.json' } } }],
    });
    const [unit] = fixtures.body.data_units;
    const created = await call('POST', '_emulator/fixtures', { tasks: [{ project: 1, data_unit: unit }] });
    const [task] = created.body.tasks;
    const puts = await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        call('PUT', `tasks/${task}/annotate_task_data/`, { action: 'submit', data: { n } }),
      ),
    );
    expect(puts.map((p) => p.status)).toEqual(puts.map(() => 200));
    const [stored] = await server.ctx.db.query<{ doc: { data: unknown } }>(
      'SELECT doc FROM tasks WHERE id = $1',
      [task],
    );
    const read = await call('GET', `tasks/${task}/?expand=data_unit`);
    expect(read.body.data).toEqual(stored.doc.data);
    expect(read.body.data_unit.id).toBe(unit);
    expect(read.body.data_unit.files.annotation.path).toBe('media/a.json');
    // Read again (now from memory if kept): the same.
    expect((await call('GET', `tasks/${task}/`)).body.data).toEqual(stored.doc.data);
  });

  it('answers 404 for a missing task before judging the body, and 400 for a bad body of a real one', async () => {
    expect((await call('PUT', 'tasks/999999/annotate_task_data/', { action: 'nope' })).status).toBe(404);
    expect((await call('PUT', 'tasks/abc/annotate_task_data/', { action: 'submit', data: {} })).status).toBe(
      404,
    );
    const created = await call('POST', '_emulator/fixtures', { tasks: [{ project: 1 }] });
    const bad = await call('PUT', `tasks/${created.body.tasks[0]}/annotate_task_data/`, { action: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      action: ['"nope" is not a valid choice.'],
      data: ['This field is required.'],
    });
  });
});
