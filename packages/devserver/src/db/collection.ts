/** Typed access to one resource table: create, read, patch, delete, and paged lists. */
import { randomUUID } from 'node:crypto';
import { currentTenant, DEFAULT_TENANT, type Tenancy } from '../tenancy.ts';
import type { Database } from './database.ts';
import { addCondition, emptyWhere, type Where } from './filters.ts';
import type { ResourceDef } from './resources.ts';
import { RowCache, type RowId } from './row-cache.ts';

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
  /** Rows read or written lately, so a record read again is not a query (see row-cache.ts). */
  private readonly cache: RowCache;

  constructor(
    readonly db: Database,
    readonly def: ResourceDef,
    readonly tenancy: Tenancy,
  ) {
    // One spelling per id: `7` from a document and `'7'` from a URL are the same row.
    this.cache = new RowCache((id) =>
      def.id === 'serial' && /^\d+$/.test(String(id)) ? Number(id) : String(id),
    );
  }

  /**
   * The kept row with this id as the current tenant may see it: the record, null when it is
   * another tenant's (as absent as a missing one), undefined when not kept.
   */
  private cached(id: RowId): T | null | undefined {
    const hit = this.cache.get(id);
    if (!hit) return undefined;
    const tenant = currentTenant(this.tenancy);
    if (tenant !== null && hit.tenant !== tenant) return null;
    return row<T>({ id: this.def.id === 'serial' ? Number(id) : id, doc: hit.doc });
  }

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
    const epoch = this.cache.epoch;
    const rows = await this.db.query<{ id: number; doc: Record<string, unknown>; tenant: string }>(
      `INSERT INTO ${this.table} (id, doc, tenant)
       SELECT ${idExpr}, e->'doc', $2 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n
       RETURNING id, doc, tenant`,
      [JSON.stringify(withId), currentTenant(this.tenancy) ?? DEFAULT_TENANT],
    );
    this.cache.created(rows, epoch);
    if (explicit) {
      await this.db.query(
        `SELECT setval('${this.table}_id_seq', GREATEST((SELECT max(id) FROM ${this.table}), 1))`,
      );
    }
    return rows.map(({ id, doc }) => row<T>({ id, doc }));
  }

  async get(id: number | string): Promise<T | null> {
    if (this.def.id === 'serial' && !/^\d+$/.test(String(id))) return null;
    const kept = this.cached(id);
    if (kept !== undefined) return kept;
    const token = this.cache.readStarted();
    // Read whatever the tenant, so that the row is kept; the tenant is checked on it.
    const [r] = await this.db.query<{ id: number; doc: Record<string, unknown>; tenant: string }>(
      `SELECT id, doc, tenant FROM ${this.table} WHERE id = $1`,
      [id],
    );
    if (!r) return null;
    this.cache.readEnded(token, [r]);
    const tenant = currentTenant(this.tenancy);
    return tenant === null || r.tenant === tenant ? row<T>(r) : null;
  }

  /**
   * The record with this id and the record of `other` that its `field` references (null when it
   * references none of the tenant's), in one query: a detail view that embeds its parent (a task
   * and its data unit) is one round trip, not two. Both sides are narrowed to the current tenant.
   */
  async getWith<R extends Doc>(
    id: number | string,
    field: string,
    other: Collection<R>,
  ): Promise<{ doc: T; related: R | null } | null> {
    if (this.def.id === 'serial' && !/^\d+$/.test(String(id))) return null;
    const kept = this.cached(id);
    if (kept === null) return null;
    if (kept !== undefined) {
      const ref = kept[field];
      const serialRef = typeof ref === 'number' && Number.isInteger(ref) && ref >= 0;
      const refOk = other.def.id === 'serial' ? serialRef : typeof ref === 'string';
      if (!refOk) return { doc: kept, related: null };
      const related = other.cached(ref as RowId);
      if (related !== undefined) return { doc: kept, related };
    }
    // As `getMany` matches it: a reference is the referenced id itself (a number for serial ids).
    const ref = `(m.doc->>'${field}')`;
    const target =
      other.def.id === 'serial'
        ? `CASE WHEN jsonb_typeof(m.doc->'${field}') = 'number' AND ${ref} ~ '^[0-9]{1,9}$' THEN ${ref}::int END`
        : ref;
    const tenant = currentTenant(this.tenancy);
    const params: unknown[] = [id];
    if (tenant !== null) params.push(tenant);
    const token = this.cache.readStarted();
    const otherToken = other.cache.readStarted();
    const [r] = await this.db.query<{
      id: number | string;
      doc: Record<string, unknown>;
      tenant: string;
      related_id: number | string | null;
      related_doc: Record<string, unknown> | null;
      related_tenant: string | null;
    }>(
      `SELECT m.id, m.doc, m.tenant, o.id AS related_id, o.doc AS related_doc, o.tenant AS related_tenant
       FROM ${this.table} m LEFT JOIN ${other.table} o ON o.id = ${target}${tenant === null ? '' : ' AND o.tenant = $2'}
       WHERE m.id = $1${tenant === null ? '' : ' AND m.tenant = $2'}`,
      params,
    );
    if (!r) return null;
    this.cache.readEnded(token, [r]);
    if (r.related_id !== null) {
      other.cache.readEnded(otherToken, [
        { id: r.related_id, doc: r.related_doc!, tenant: r.related_tenant! },
      ]);
    }
    return {
      doc: row<T>(r),
      related: r.related_id === null ? null : row<R>({ id: r.related_id, doc: r.related_doc! }),
    };
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
    if (this.def.id === 'serial' && !/^\d+$/.test(String(id))) return null;
    this.version++;
    // $1 is the patch; the conditions number their parameters after it.
    const where: Where = { sql: [], params: [JSON.stringify(values)] };
    addCondition(where, 'id = $?', id);
    const scoped = this.scoped(where);
    const write = this.cache.writeStarted([id]);
    let rows: Array<{ id: number; doc: Record<string, unknown>; tenant: string }> = [];
    try {
      rows = await this.db.query(
        `UPDATE ${this.table} SET doc = doc || $1::jsonb ${whereSql(scoped)} RETURNING id, doc, tenant`,
        scoped.params,
      );
    } finally {
      this.cache.writeEnded(write, rows);
    }
    const [r] = rows;
    return r ? row<T>({ id: r.id, doc: r.doc }) : null;
  }

  async remove(id: number | string): Promise<boolean> {
    this.version++;
    const where = this.byId(id);
    const write = this.cache.writeStarted([id]);
    try {
      const rows = await this.db.query(
        `DELETE FROM ${this.table} ${whereSql(where)} RETURNING id`,
        where.params,
      );
      return rows.length > 0;
    } finally {
      this.cache.writeEnded(write, []);
    }
  }

  async clear(): Promise<void> {
    this.version++;
    this.cache.clear();
    try {
      const where = this.scoped();
      if (where.sql.length > 0) {
        await this.db.query(`DELETE FROM ${this.table} ${whereSql(where)}`, where.params);
        return;
      }
      await this.db.exec(`TRUNCATE ${this.table}${this.def.id === 'serial' ? ' RESTART IDENTITY' : ''}`);
    } finally {
      // Again once done: rows read while it ran may be gone now.
      this.cache.clear();
    }
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
