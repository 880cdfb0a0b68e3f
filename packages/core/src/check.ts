/** Checking a value against a family's schema, with a message that names the field and the rule. */
import type { z } from 'zod';

/** Issues named in one message; a badly wrong response must not make an unbounded one. */
const MAX_ISSUES = 5;

/** `path: rule` for each issue (`results.3.status: Invalid option: expected one of ...`). Never the value. */
export function describeIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const { path, message } = deepest(issue);
    return `${path.map(String).join('.') || '(root)'}: ${message}`;
  });
  const more = error.issues.length - MAX_ISSUES;
  if (more > 0) lines.push(`and ${more} more`);
  return lines.join('; ');
}

/**
 * For a union none of whose options matched ("Invalid input"), the issue of the option that got
 * furthest into the value: it names the field that actually broke the rule.
 */
function deepest(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: { path: PropertyKey[]; message: string } = issue;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const found = deepest(inner);
      const path = [...issue.path, ...found.path];
      if (path.length > best.path.length) best = { path, message: found.message };
    }
  }
  return best;
}

/** null when `value` matches `schema`, else the description of what does not. */
export function contractMismatch(schema: z.ZodType, value: unknown): string | null {
  const result = schema.safeParse(value);
  return result.success ? null : describeIssues(result.error);
}
