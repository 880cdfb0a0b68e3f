/**
 * Request-body checks of the Agent API, answered like the agent's FastAPI service:
 * `422 {"detail": [{"type", "loc", "msg", "input"}]}` with pydantic's messages.
 */
import { ApiError } from '../errors.ts';

export interface FieldError {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
}

export interface FieldSpec {
  kind: 'string' | 'number' | 'int' | 'object';
  required?: boolean;
  /** `null` is accepted (and kept). */
  nullable?: boolean;
  /** Smallest accepted number. */
  min?: number;
}

function unprocessable(errors: FieldError[]): ApiError {
  return new ApiError(422, { detail: errors });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function kindError(kind: FieldSpec['kind'], value: unknown): Omit<FieldError, 'loc' | 'input'> | null {
  switch (kind) {
    case 'string':
      return typeof value === 'string'
        ? null
        : { type: 'string_type', msg: 'Input should be a valid string' };
    case 'object':
      return isPlainObject(value) ? null : { type: 'dict_type', msg: 'Input should be a valid dictionary' };
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? null
        : { type: 'float_type', msg: 'Input should be a valid number' };
    case 'int':
      if (typeof value !== 'number' || !Number.isFinite(value))
        return { type: 'int_type', msg: 'Input should be a valid integer' };
      return Number.isInteger(value)
        ? null
        : {
            type: 'int_from_float',
            msg: 'Input should be a valid integer, got a number with a fractional part',
          };
  }
}

/** The body as an object whose listed fields have the declared kinds; 422 listing every problem. */
export function validateBody(body: unknown, spec: Record<string, FieldSpec>): Record<string, unknown> {
  if (!isPlainObject(body)) {
    throw unprocessable([
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: body ?? null,
      },
    ]);
  }
  const errors: FieldError[] = [];
  for (const [field, rule] of Object.entries(spec)) {
    const value = body[field];
    const loc = ['body', field];
    if (value === undefined) {
      if (rule.required) errors.push({ type: 'missing', loc, msg: 'Field required' });
      continue;
    }
    if (value === null && rule.nullable) continue;
    const error = kindError(rule.kind, value);
    if (error) errors.push({ ...error, loc, input: value });
    else if (rule.min !== undefined && (value as number) < rule.min) {
      errors.push({
        type: 'greater_than_equal',
        loc,
        msg: `Input should be greater than or equal to ${rule.min}`,
        input: value,
      });
    }
  }
  if (errors.length > 0) throw unprocessable(errors);
  return body;
}

/** A contract (zod) rejection as the agent's 422: one entry per problem, each naming its field. */
export function zodUnprocessable(error: {
  issues: ReadonlyArray<{ code: string; path: ReadonlyArray<PropertyKey>; message: string; keys?: string[] }>;
}): ApiError {
  return unprocessable(
    error.issues.slice(0, 20).map((issue) => {
      const unknown = issue.code === 'unrecognized_keys' ? (issue.keys ?? []) : [];
      const path = unknown.length > 0 ? [...issue.path, unknown[0]] : issue.path;
      return {
        type: issue.code,
        loc: ['body', ...path.map((p) => (typeof p === 'symbol' ? String(p) : (p as string | number)))],
        msg:
          unknown.length > 0
            ? `Unknown field(s): ${unknown
                .slice(0, 5)
                .map((k) => k.slice(0, 100))
                .join(', ')}`
            : issue.message,
      };
    }),
  );
}
