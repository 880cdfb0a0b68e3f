/**
 * FormKit UI schemas from zod params schemas (plugins.md §9): one item per top-level field, in
 * declaration order, read from the schema's JSON Schema so that every zod wrapper is handled.
 */
import { z } from 'zod';

export type FormKitItem = Record<string, unknown>;

/** Keys of `.meta({...})` that replace the computed ones; `formkit` becomes `$formkit`. */
const OVERRIDES = ['formkit', 'options', 'help', 'required', 'step', 'min', 'max', 'label'] as const;

type JsonSchema = Record<string, any>;

/** `learning_rate` → `Learning Rate`. */
export function titleCase(name: string): string {
  return name
    .split('_')
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
}

/** The FormKit items of an object schema; any other schema has none. */
export function zodToUiSchema(schema: z.ZodType): FormKitItem[] {
  // `input` mode: fields with a default are optional, as a form sees them.
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  if (json.type !== 'object' || !json.properties) return [];
  const required = new Set<string>(json.required ?? []);
  return Object.entries(json.properties as Record<string, JsonSchema>).map(([name, field]) =>
    formKitItem(name, withoutNull(field), required.has(name)),
  );
}

function formKitItem(name: string, field: JsonSchema, required: boolean): FormKitItem {
  const types = Array.isArray(field.type) ? field.type : [field.type];
  const numeric = types.includes('number') || types.includes('integer');
  const item: FormKitItem = {
    $formkit: numeric ? 'number' : types.includes('boolean') ? 'checkbox' : field.enum ? 'select' : 'text',
    name,
    label: titleCase(name),
  };
  if ('default' in field) {
    item.value = field.default;
    item.placeholder = field.default;
  }
  if (field.description !== undefined) item.help = field.description;
  item.required = required;
  if (field.enum) item.options = field.enum;
  const min = bound(field.minimum ?? field.exclusiveMinimum);
  const max = bound(field.maximum ?? field.exclusiveMaximum);
  if (min !== undefined) item.min = min;
  if (max !== undefined) item.max = max;
  if (field.multipleOf !== undefined) item.step = field.multipleOf;
  if (numeric) item.number = true;

  for (const key of OVERRIDES) {
    // JSON Schema's own `required` is a list (on objects); only a boolean is an override.
    if (field[key] === undefined || (key === 'required' && typeof field[key] !== 'boolean')) continue;
    item[key === 'formkit' ? '$formkit' : key] = field[key];
  }
  return item;
}

/** A nullable field is written `anyOf: [<field>, {type: 'null'}]`; the form shows the field. */
function withoutNull(field: JsonSchema): JsonSchema {
  const variants: JsonSchema[] | undefined = field.anyOf;
  const others = variants?.filter((v) => v.type !== 'null');
  if (!variants || others?.length !== 1 || others.length === variants.length) return field;
  const { anyOf: _, ...outer } = field;
  return { ...others[0], ...outer };
}

/** zod writes the safe-integer range for every int; that is not a bound the user chose. */
function bound(value: number | undefined): number | undefined {
  return value === undefined || Math.abs(value) === Number.MAX_SAFE_INTEGER ? undefined : value;
}
