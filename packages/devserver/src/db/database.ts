/**
 * The devserver's database: embedded PGlite (a data directory, or memory) by default, a real
 * PostgreSQL when a URL is given. Both speak the same SQL, so everything above is shared.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { SCHEMA } from './schema.ts';

export interface Database {
  query<T = Record<string, any>>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

export interface DatabaseOptions {
  /** PGlite data directory; memory when absent. Ignored when `databaseUrl` is set. */
  dataDir?: string;
  /** `postgres://...`: use a real PostgreSQL server. */
  databaseUrl?: string;
}

/**
 * Creating a PGlite cluster runs initdb (seconds); loading a dump of one takes a fraction of that.
 * The first start builds a template with the schema applied and caches it for later starts.
 */
async function pgliteTemplate(): Promise<Blob> {
  const hash = createHash('md5').update(SCHEMA).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'synapse-devserver');
  const path = join(dir, `pglite-template-${hash}.tar.gz`);
  try {
    return new Blob([await readFile(path)]);
  } catch {
    const db = new PGlite();
    await db.exec(SCHEMA);
    const dump = await db.dumpDataDir('gzip');
    await db.close();
    await mkdir(dir, { recursive: true });
    const partial = `${path}.${process.pid}.part`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path);
    return dump;
  }
}

async function openPglite(dataDir?: string): Promise<Database> {
  const fresh = !dataDir || !existsSync(join(dataDir, 'PG_VERSION'));
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = fresh ? new PGlite({ dataDir, loadDataDir: await pgliteTemplate() }) : new PGlite(dataDir);
  await db.waitReady;
  if (!fresh) await db.exec(SCHEMA);
  return {
    kind: 'pglite',
    async query(sql, params) {
      return (await db.query(sql, params)).rows as any[];
    },
    async exec(sql) {
      await db.exec(sql);
    },
    close: () => db.close(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  await pool.query(SCHEMA);
  return {
    kind: 'postgres',
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async exec(sql) {
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
}

export function openDatabase(opts: DatabaseOptions = {}): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(opts.dataDir);
}
