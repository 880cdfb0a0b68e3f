/** Typed access to one resource table: create, read, patch, delete, and paged lists. */
import { randomUUID } from 'node:crypto';
import { currentTenant, DEFAULT_TENANT, type Tenancy } from '../tenancy.ts';
import type { Database } from './database.ts';
import { addCondition, emptyWhere, type Where } from './filters.ts';
import type { ResourceDef } from './resources.ts';

export type Doc = Record<string, any> & { id: number | string };

export interface PageResult {
  count: number;
  results: Doc[];
}

const now = () => new Date().toISOString();

/** A table row as its record; what the table holds is what this server wrote, in its family's shape. */
function row<T extends Doc>(r: { id: number | string; doc: Record<string, unknown> }): T {
  return { id: r.id, ...r.doc } as T;
}

function whereSql(where: Where | undefined): string {
  return where && where.sql.length > 0 ? `WHERE ${where.sql.join(' AND ')}` : '';
}

/**
 * One resource table. `T` is the wire shape of its records (the contract's, see db/records.ts);
 * unknown families keep the loose `Doc`.
 */
export class Collection<T extends Doc = Doc> {
  /** Bumped on every write: cached counts and page boundaries are valid for one version. */
  private version = 0;
  private readonly counts = new Map<string, { version: number; count: number }>();
  private readonly boundaries = new Map<string, { version: number; lastId: number | string }>();

  constructor(
    readonly db: Database,
    readonly def: ResourceDef,
    readonly tenancy: Tenancy,
  ) {}

  private get table(): string {
    return this.def.table;
  }

  /**
   * `where` narrowed to the current request's tenant: every read and write goes through here, so
   * a user never reaches another tenant's records (work outside a request sees all tenants).
   */
  scoped(where: Where = emptyWhere()): Where {
    const tenant = currentTenant(this.tenancy);
    if (tenant === null) return where;
    const narrowed = { sql: [...where.sql], params: [...where.params] };
    addCondition(narrowed, 'tenant = $?', tenant);
    return narrowed;
  }

  private byId(id: number | string): Where {
    const where = emptyWhere();
    addCondition(where, 'id = $?', id);
    return this.scoped(where);
  }

  /** A new document: defaults, then `values`; timestamps set; `id` assigned unless given. */
  prepare(values: Record<string, unknown>): Record<string, unknown> {
    const stamp = now();
    const doc: Record<string, unknown> = { ...this.def.defaults() };
    for (const t of this.def.timestamps) doc[t] = stamp;
    return { ...doc, ...values };
  }

  async create(values: Record<string, unknown>): Promise<T> {
    const [created] = await this.createMany([values]);
    return created;
  }

  /** Inserts many documents in one statement; explicit ids are kept and the sequence follows them. */
  async createMany(items: Array<Record<string, unknown>>): Promise<T[]> {
    if (items.length === 0) return [];
    this.version++;
    const docs = items.map((v) => this.prepare(v));
    const withId = docs.map(({ id, ...doc }) => ({
      id: id ?? (this.def.id === 'uuid' ? randomUUID() : null),
      doc,
    }));
    const explicit = withId.some((d) => d.id !== null && this.def.id === 'serial');
    const idExpr =
      this.def.id === 'uuid' ? `e->>'id'` : `COALESCE((e->>'id')::int, nextval('${this.table}_id_seq')::int)`;
    const rows = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `INSERT INTO ${this.table} (id, doc, tenant)
       SELECT ${idExpr}, e->'doc', $2 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n
       RETURNING id, doc`,
      [JSON.stringify(withId), currentTenant(this.tenancy) ?? DEFAULT_TENANT],
    );
    if (explicit) {
      await this.db.query(
        `SELECT setval('${this.table}_id_seq', GREATEST((SELECT max(id) FROM ${this.table}), 1))`,
      );
    }
    return rows.map((r) => row<T>(r));
  }

  async get(id: number | string): Promise<T | null> {
    if (this.def.id === 'serial' && !/^\d+$/.test(String(id))) return null;
    const where = this.byId(id);
    const [r] = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `SELECT id, doc FROM ${this.table} ${whereSql(where)}`,
      where.params,
    );
    return r ? row<T>(r) : null;
  }

  async getMany(ids: Array<number | string>): Promise<Map<number | string, T>> {
    const unique = [...new Set(ids.filter((i) => i !== null && i !== undefined))];
    if (unique.length === 0) return new Map();
    const where = emptyWhere();
    addCondition(where, 'id = ANY($?)', unique);
    const scoped = this.scoped(where);
    const rows = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `SELECT id, doc FROM ${this.table} ${whereSql(scoped)}`,
      scoped.params,
    );
    return new Map(rows.map((r) => [r.id, row<T>(r)]));
  }

  /** Merges `values` into the stored document (top-level keys replaced wholesale). */
  async update(id: number | string, values: Record<string, unknown>): Promise<T | null> {
    this.version++;
    // $1 is the patch; the conditions number their parameters after it.
    const where: Where = { sql: [], params: [JSON.stringify(values)] };
    addCondition(where, 'id = $?', id);
    const scoped = this.scoped(where);
    const [r] = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `UPDATE ${this.table} SET doc = doc || $1::jsonb ${whereSql(scoped)} RETURNING id, doc`,
      scoped.params,
    );
    return r ? row<T>(r) : null;
  }

  async remove(id: number | string): Promise<boolean> {
    this.version++;
    const where = this.byId(id);
    const rows = await this.db.query(
      `DELETE FROM ${this.table} ${whereSql(where)} RETURNING id`,
      where.params,
    );
    return rows.length > 0;
  }

  async clear(): Promise<void> {
    this.version++;
    const where = this.scoped();
    if (where.sql.length > 0) {
      await this.db.query(`DELETE FROM ${this.table} ${whereSql(where)}`, where.params);
      return;
    }
    await this.db.exec(`TRUNCATE ${this.table}${this.def.id === 'serial' ? ' RESTART IDENTITY' : ''}`);
  }

  async find(unscoped?: Where, limit?: number): Promise<T[]> {
    const where = this.scoped(unscoped);
    const rows = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `SELECT id, doc FROM ${this.table} ${whereSql(where)} ORDER BY id ${this.def.order}${limit ? ` LIMIT ${limit}` : ''}`,
      where?.params ?? [],
    );
    return rows.map((r) => row<T>(r));
  }

  async findOne(where: Where): Promise<T | null> {
    return (await this.find(where, 1))[0] ?? null;
  }

  async count(unscoped?: Where): Promise<number> {
    const where = this.scoped(unscoped);
    const key = `${whereSql(where)}|${JSON.stringify(where?.params ?? [])}`;
    const cached = this.counts.get(key);
    if (cached?.version === this.version) return cached.count;
    const [r] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.table} ${whereSql(where)}`,
      where?.params ?? [],
    );
    this.counts.set(key, { version: this.version, count: r.n });
    return r.n;
  }

  /**
   * One page of a filtered list. Reading page after page is the common case, so the last id of
   * each page is remembered and the next page starts from it instead of scanning an OFFSET.
   */
  async page(unscoped: Where, page: number, pageSize: number): Promise<PageResult> {
    const count = await this.count(unscoped);
    const where = this.scoped(unscoped);
    const key = `${whereSql(where)}|${JSON.stringify(where.params)}|${pageSize}`;
    const previous = this.boundaries.get(`${key}|${page - 1}`);
    const params = [...where.params];
    const conditions = [...where.sql];
    let offset = (page - 1) * pageSize;
    if (page > 1 && previous?.version === this.version) {
      params.push(previous.lastId);
      conditions.push(`id ${this.def.order === 'asc' ? '>' : '<'} $${params.length}`);
      offset = 0;
    }
    const rows = await this.db.query<{ id: number; doc: Record<string, unknown> }>(
      `SELECT id, doc FROM ${this.table} ${whereSql({ sql: conditions, params })}
       ORDER BY id ${this.def.order} LIMIT ${pageSize} OFFSET ${offset}`,
      params,
    );
    if (rows.length > 0) {
      if (this.boundaries.size > 1000) this.boundaries.clear();
      this.boundaries.set(`${key}|${page}`, { version: this.version, lastId: rows[rows.length - 1].id });
    }
    return { count, results: rows.map((r) => row<T>(r)) };
  }
}
