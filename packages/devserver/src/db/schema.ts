/** The schema: one table per resource, each row the resource's wire document. */
import { DEFAULT_TENANT } from '../tenancy.ts';
import { RESOURCES } from './resources.ts';

const tables = Object.values(RESOURCES).map(
  (r) =>
    `CREATE TABLE IF NOT EXISTS ${r.table} (id ${r.id === 'uuid' ? 'text' : 'serial'} PRIMARY KEY, doc jsonb NOT NULL);`,
);

/**
 * Every record belongs to a tenant (a column, not part of the wire document); data directories
 * from before tenants existed get the default tenant on their next start.
 */
const tenantColumns = Object.values(RESOURCES).map(
  (r) => `ALTER TABLE ${r.table} ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT '${DEFAULT_TENANT}';`,
);

/** Lists filtered by a parent are the hot paths (events by version, tasks by project, ...). */
const indexes = [
  ['ground_truth_events', 'ground_truth_dataset_version'],
  ['tasks', 'project'],
  ['data_units', 'data_collection'],
  ['logs', 'job'],
  ['data_files', 'checksum'],
].map(
  ([table, field]) =>
    `CREATE INDEX IF NOT EXISTS ${table}_${field}_idx ON ${table} ((doc->>'${field}'), id);`,
);

export const SCHEMA = [
  ...tables,
  ...tenantColumns,
  ...indexes,
  'CREATE TABLE IF NOT EXISTS tokens (token text PRIMARY KEY, kind text NOT NULL, subject integer);',
  'CREATE TABLE IF NOT EXISTS settings (key text PRIMARY KEY, value jsonb NOT NULL);',
].join('\n');
