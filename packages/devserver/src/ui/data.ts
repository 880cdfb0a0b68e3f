/**
 * The dashboard's reads of the devserver's collections: bounded pages (newest first where that is
 * what a person looks for), and a job's log records after a given one.
 */
import type { Collection, Doc } from '../db/collection.ts';
import type { Database } from '../db/database.ts';
import { addCondition, emptyWhere, type Where } from '../db/filters.ts';

export const PAGE_SIZE = 50;

export interface PageOf {
  docs: Doc[];
  /** 1-based, clamped to the pages there are. */
  page: number;
  pages: number;
  count: number;
}

/** `?page=` as a positive integer (anything else is the first page). */
export function pageParam(query: unknown): number {
  const raw = (query as Record<string, unknown> | undefined)?.page;
  const page = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isInteger(page) && page > 0 ? page : 1;
}

export interface PageRequest {
  page: number;
  where?: Where;
  /** Newest first (by id, or by creation time for uuid ids); default: the collection's order. */
  newestFirst?: boolean;
  size?: number;
}

function whereSql(where: Where): string {
  return where.sql.length > 0 ? `WHERE ${where.sql.join(' AND ')}` : '';
}

export async function pageOf(coll: Collection, req: PageRequest): Promise<PageOf> {
  const where = req.where ?? emptyWhere();
  const size = req.size ?? PAGE_SIZE;
  const count = await coll.count(where);
  const pages = Math.max(1, Math.ceil(count / size));
  const page = Math.min(req.page, pages);
  const { def } = coll;
  // uuid ids say nothing about age; every such resource is stamped with its creation time first.
  const order = !req.newestFirst
    ? `id ${def.order}`
    : def.id === 'serial'
      ? 'id DESC'
      : `(doc->>'${def.timestamps[0]}') DESC, id`;
  const scoped = coll.scoped(where);
  const rows = await coll.db.query<{ id: number | string; doc: Record<string, unknown> }>(
    `SELECT id, doc FROM ${def.table} ${whereSql(scoped)} ORDER BY ${order} LIMIT ${size} OFFSET ${(page - 1) * size}`,
    scoped.params,
  );
  return { docs: rows.map((r) => ({ id: r.id, ...r.doc })), page, pages, count };
}

/** `field = value` on a top-level field of the stored documents. */
export function whereField(field: string, value: string | number): Where {
  const where = emptyWhere();
  addCondition(where, `(doc->>'${field}') = $?`, String(value));
  return where;
}

/** The job's newest `limit` log records with an id above `afterId`, oldest first. */
export async function logsAfter(db: Database, jobId: string, afterId: number, limit: number): Promise<Doc[]> {
  const rows = await db.query<{ id: number; doc: Record<string, unknown> }>(
    `SELECT id, doc FROM logs WHERE (doc->>'job') = $1 AND id > $2 ORDER BY id DESC LIMIT ${limit}`,
    [jobId, afterId],
  );
  return rows.reverse().map((r) => ({ id: r.id, ...r.doc }));
}
