/**
 * Query-string filters (backend-api.md §1.4) compiled to SQL over a resource's documents:
 * `field=v`, `__in`, `__gte/__lte/__gt/__lt`, `__isnull`, `__icontains`, `search=`, and an
 * empty value meaning "is null". Unknown fields are ignored, as on the platform.
 */
import { badRequest } from '../errors.ts';
import type { FieldType, ResourceDef } from './resources.ts';

export interface Where {
  sql: string[];
  params: unknown[];
}

export type Query = Record<string, string | string[] | undefined>;

const LOOKUPS = ['in', 'gte', 'lte', 'gt', 'lt', 'isnull', 'icontains'] as const;
type Lookup = (typeof LOOKUPS)[number] | 'exact';

const TRUE = new Set(['true', 'True', '1']);
const FALSE = new Set(['false', 'False', '0']);
const CAST: Record<FieldType, string> = {
  int: '::bigint',
  float: '::float8',
  string: '',
  bool: '::boolean',
  datetime: '::timestamptz',
};

export function emptyWhere(): Where {
  return { sql: [], params: [] };
}

/** Adds a condition; `$?` placeholders are numbered in order. */
export function addCondition(where: Where, sql: string, ...params: unknown[]): void {
  let n = where.params.length;
  where.sql.push(sql.replace(/\$\?/g, () => `$${++n}`));
  where.params.push(...params);
}

/** Normalises one value of a field for SQL, or answers 400 naming the field. */
export function parseValue(field: string, type: FieldType, raw: string): string | number | boolean {
  switch (type) {
    case 'int':
      if (!/^-?\d+$/.test(raw.trim())) throw badRequest({ [field]: ['Enter a whole number.'] });
      return String(Number.parseInt(raw, 10));
    case 'float':
      if (!Number.isFinite(Number(raw))) throw badRequest({ [field]: ['Enter a number.'] });
      return Number(raw);
    case 'bool':
      if (TRUE.has(raw)) return true;
      if (FALSE.has(raw)) return false;
      throw badRequest({ [field]: ['Must be a valid boolean.'] });
    case 'datetime':
      if (Number.isNaN(Date.parse(raw))) throw badRequest({ [field]: ['Enter a valid date/time.'] });
      return new Date(raw).toISOString();
    default:
      return raw;
  }
}

function fieldSql(field: string): string {
  return field === 'id' ? 'id' : `(doc->>'${field}')`;
}

function splitLookup(key: string): [string, Lookup] {
  const i = key.lastIndexOf('__');
  if (i > 0) {
    const lookup = key.slice(i + 2) as Lookup;
    if ((LOOKUPS as readonly string[]).includes(lookup)) return [key.slice(0, i), lookup];
  }
  return [key, 'exact'];
}

function values(raw: string | string[]): string[] {
  return Array.isArray(raw) ? raw : [raw];
}

/** The SQL condition and params of `field <lookup> raw` for a known field. */
function condition(
  field: string,
  type: FieldType,
  lookup: Lookup,
  raw: string | string[],
): [string, ...unknown[]] {
  const col = fieldSql(field);
  // Equality on ints compares the text form, which the (doc->>'f') indexes serve.
  const typed =
    field === 'id' || (type === 'int' && (lookup === 'exact' || lookup === 'in'))
      ? col
      : `${col}${CAST[type]}`;
  const first = values(raw)[0] ?? '';
  switch (lookup) {
    case 'exact':
      return first === '' ? [`${col} IS NULL`] : [`${typed} = $?`, parseValue(field, type, first)];
    case 'in': {
      const items = values(raw)
        .flatMap((v) => v.split(','))
        .filter((v) => v !== '');
      return [`${typed} = ANY($?)`, items.map((v) => parseValue(field, type, v))];
    }
    case 'isnull':
      return [`${col} IS ${parseValue(field, 'bool', first) ? '' : 'NOT '}NULL`];
    case 'icontains':
      return [`${col} ILIKE '%' || $? || '%'`, first];
    default: {
      const op = { gte: '>=', lte: '<=', gt: '>', lt: '<' }[lookup];
      return [`${col}${CAST[type]} ${op} $?`, parseValue(field, type, first)];
    }
  }
}

/** Every recognised filter of the query string, for this resource. */
export function compileFilters(def: ResourceDef, query: Query, where = emptyWhere()): Where {
  for (const [key, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    if (key === 'search') {
      const term = values(raw)[0];
      if (term && def.search.length > 0) {
        addCondition(
          where,
          `(${def.search.map((f) => `${fieldSql(f)} ILIKE '%' || $? || '%'`).join(' OR ')})`,
          ...def.search.map(() => term),
        );
      }
      continue;
    }
    const [field, lookup] = splitLookup(key);
    const type = field === 'id' ? 'int' : def.fields[field];
    if (type) addCondition(where, ...condition(field, type, lookup, raw));
  }
  return where;
}
