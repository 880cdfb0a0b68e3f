/** Request-body checks that answer with DRF's field messages (backend-api.md §1.5). */
import { isObject } from 'synapse-core';
import type { z } from 'zod';
import type { Collection, Doc } from './db/collection.ts';
import { badRequest, invalidPk, required } from './errors.ts';

export type Body = Record<string, unknown>;

/** The JSON body as an object; anything else (a list, a string) is a DRF `non_field_errors`. */
export function objectBody(body: unknown): Body {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest({
      non_field_errors: [`Invalid data. Expected a dictionary, but got ${pythonType(body)}.`],
    });
  }
  return body as Body;
}

/** The name Python gives a JSON value's type, as DRF quotes it in messages. */
function pythonType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'dict';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  return Number.isInteger(value) ? 'int' : 'float';
}

/** An integer >= 1 (sizes, counts, seconds); DRF's message for anything else is the caller's. */
export function positiveInteger(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}

// The one "is this a JSON object?" guard is the contract's.
export { isObject };

/** Field messages named per body at most; a hostile body must not make an unbounded answer. */
const MAX_FIELD_ERRORS = 20;

/**
 * The body checked against the contract's schema of a request (synapse-core): a DRF-shaped 400
 * naming each top-level field and its rule (`{"metrics": ["Invalid input: expected record,
 * received string"]}`), with DRF's own message for a missing required field. The parsed value
 * keeps unknown keys (the schemas are loose); the route decides which it stores.
 */
export function validBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const object = objectBody(body);
  const result = schema.safeParse(object);
  if (result.success) return result.data;
  const errors = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : 'non_field_errors';
    let messages = errors.get(field);
    if (!messages) {
      if (errors.size >= MAX_FIELD_ERRORS) break;
      messages = [];
      errors.set(field, messages);
    }
    const missing = issue.code === 'invalid_type' && issue.path.length === 1 && object[field] === undefined;
    const rule = missing ? 'This field is required.' : issue.message;
    const nested = issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ` : '';
    messages.push(`${nested}${rule}`);
  }
  throw badRequest(Object.fromEntries(errors));
}

/** A required list field. */
export function listField(body: Body, field: string): unknown[] {
  const value = body[field];
  if (value === undefined || value === null) throw required(field);
  if (!Array.isArray(value)) {
    throw badRequest({ [field]: [`Expected a list of items but got type "${pythonType(value)}".`] });
  }
  return value;
}

/** Primary keys that must all exist in `coll` (DRF's many-related field); returns their documents. */
export async function existingPks(
  coll: Collection,
  field: string,
  values: unknown[],
): Promise<Map<number | string, Doc>> {
  const found = await coll.getMany(values.filter((v) => Number.isInteger(v)) as number[]);
  const missing = values.find((v) => !found.has(v as number));
  if (missing !== undefined) throw invalidPk(field, missing);
  return found;
}
