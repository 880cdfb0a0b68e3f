/**
 * Action params validation (plugins.md §4.2): every invalid field is listed in one error, in the
 * platform's wording, so a user fixes all of them at once.
 */
import type { ZodType } from 'zod';
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

/** Parses `raw` with `schema`, or throws a PluginValidationError naming every invalid field. */
export async function validateParams<T>(schema: ZodType<T>, raw: unknown): Promise<T> {
  const result = await schema.safeParseAsync(raw);
  if (result.success) return result.data;
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
