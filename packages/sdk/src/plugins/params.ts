/**
 * Action params validation (plugins.md §4.2): every invalid field is listed in one error, in the
 * platform's wording, so a user fixes all of them at once.
 */
import { didYouMean, humanList } from 'synapse-core';
import { type ZodType, z } from 'zod';
import { PluginValidationError } from './errors.ts';

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean',
  object: 'dictionary',
  record: 'dictionary',
  array: 'list',
};

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let node: any = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key as string];
  }
  return node;
}

/** The platform's message for one issue: `Field required`, `Input should be a valid <type>`, or the schema's own. */
function issueMessage(issue: Issue, raw: unknown): string {
  if (issue.code === 'invalid_type') {
    if (valueAt(raw, issue.path) === undefined) return 'Field required';
    const name = TYPE_NAMES[issue.expected ?? ''];
    if (name) return `Input should be a valid ${name}`;
  }
  return issue.message;
}

/**
 * The object schema under wrappers (`.default()`, `.optional()`, `.transform()`), when it drops
 * unknown keys (zod's default); undefined for a loose or strict object or any other schema.
 */
function strippingObject(schema: ZodType): z.ZodObject | undefined {
  let node: any = schema;
  for (let depth = 0; node && depth < 10; depth++) {
    if (node instanceof z.ZodObject) return node._zod.def.catchall === undefined ? node : undefined;
    const def = node._zod?.def;
    node = def?.type === 'pipe' ? def.in : def?.innerType;
  }
  return undefined;
}

/** A warning for each top-level key of `raw` the schema does not declare (it would be dropped silently). */
function unknownParams(schema: ZodType, raw: unknown): string[] {
  const object = strippingObject(schema);
  if (!object || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const declared = Object.keys(object.shape);
  return Object.keys(raw)
    .filter((key) => !declared.includes(key))
    .map(
      (key) =>
        `Unknown param '${key}' is ignored.${didYouMean(key, declared)}` +
        (declared.length ? ` Declared params: ${humanList(declared, 'and')}.` : ' The action declares none.'),
    );
}

/**
 * Parses `raw` with `schema`, or throws a PluginValidationError naming every invalid field. Keys
 * the schema does not declare are dropped, each told to `warn` (a typo'd key would otherwise
 * leave its param at the default without a word).
 */
export async function validateParams<T>(
  schema: ZodType<T>,
  raw: unknown,
  options: { warn?: (message: string) => void } = {},
): Promise<T> {
  const result = await schema.safeParseAsync(raw);
  if (result.success) {
    if (options.warn) for (const message of unknownParams(schema, raw)) options.warn(message);
    return result.data;
  }
  const params: Record<string, string[]> = {};
  const parts: string[] = [];
  for (const issue of result.error.issues as Issue[]) {
    const key = issue.path.length > 0 ? issue.path.map(String).join('.') : 'non_field_errors';
    const message = issueMessage(issue, raw);
    params[key] = [...(params[key] ?? []), message];
    parts.push(`${key}: ${message}`);
  }
  throw new PluginValidationError(`Parameter validation failed: ${parts.join('; ')}`, { params });
}
