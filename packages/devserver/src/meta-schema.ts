/**
 * A data collection's `meta.data_unit_meta_schema` checked against a data unit's `meta`
 * (backend-api.md §5). The emulator supports the part of JSON Schema such schemas use: `required`
 * and each property's `type` (one or a list) and `enum`. Messages follow Python's jsonschema,
 * with lists as people write them (`"sun", "rain" or null`, not a JSON list).
 */
import { humanList } from 'synapse-core';
import { isObject } from './validate.ts';

const TYPES: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  object: isObject,
  array: Array.isArray,
  null: (v) => v === null,
};

/** The schema violations of `meta`, empty when it conforms. */
export function metaSchemaErrors(schema: unknown, meta: Record<string, unknown>): string[] {
  if (!isObject(schema)) return [];
  const errors: string[] = [];
  for (const key of Array.isArray(schema.required) ? schema.required : []) {
    if (!(key in meta)) errors.push(`'${key}' is a required property`);
  }
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const [key, property] of Object.entries(properties)) {
    if (!(key in meta) || !isObject(property)) continue;
    const value = meta[key];
    const types = [property.type].flat().filter((t): t is string => typeof t === 'string');
    if (types.length > 0 && !types.some((t) => TYPES[t]?.(value))) {
      errors.push(`${JSON.stringify(value)} is not of type ${humanList(types.map((t) => `'${t}'`))}`);
    }
    if (
      Array.isArray(property.enum) &&
      !property.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))
    ) {
      const allowed = property.enum.map((e) => JSON.stringify(e));
      errors.push(`${JSON.stringify(value)} is not one of ${humanList(allowed)}`);
    }
  }
  return errors;
}
