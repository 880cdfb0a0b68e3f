/**
 * The plugin's `config.yaml` (plugins.md §1): schema with defaults, loading, validation with the
 * platform's exact messages, the publish payload (§11.3) and the package manager options (§10.6).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ANNOTATION_CATEGORIES,
  ANNOTATION_TYPES,
  closestMatch,
  DATA_TYPES,
  didYouMean,
  humanList,
  PACKAGE_MANAGERS,
  PLUGIN_CATEGORIES,
  RUN_METHODS,
  SMART_TOOLS,
} from 'synapse-core';
import { type Document, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import { quoteEntrypoint, SAFE_ENTRYPOINT_HINT, unsafeEntrypointReason } from './entrypoint-path.ts';
import { PluginError, PluginValidationError } from './errors.ts';

// The config's enums are the contract's (synapse-core plugins.ts): a release's config is on the wire.
export { ANNOTATION_CATEGORIES, ANNOTATION_TYPES, SMART_TOOLS } from 'synapse-core';

export const CONFIG_FILE_NAMES = ['config.yaml', 'synapse.yaml'] as const;

const CODE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/** `"My ML Plugin"` → `my-ml-plugin`; empty when nothing usable is left. */
export function deriveCode(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

// The messages below are the platform's wording (§1.3), with lists as people write them.
const missing = (field: string) => `Required field '${field}' missing from plugin configuration`;
const mustBe = (field: string, kind: 'string' | 'list' | 'dictionary') =>
  `Field '${field}' must be a ${kind}`;
const oneOf = (value: unknown, values: readonly string[]) =>
  `Must be one of ${humanList(values)}.${didYouMean(String(value), values)}`;
const invalid = (label: string, value: unknown, values: readonly string[]) =>
  `Invalid ${label} '${String(value)}'. ${oneOf(value, values)}`;

type Issues = z.core.$RefinementCtx['issues'];
const addIssue = (issues: Issues, message: string, input: unknown, path: PropertyKey[] = []) =>
  issues.push({ code: 'custom', message, input, path });

/** A required string: absent, null or blank counts as missing. */
function requiredString(field: string) {
  return z
    .string({ error: (iss) => (iss.input == null ? missing(field) : mustBe(field, 'string')) })
    .refine((s) => s.trim() !== '', missing(field));
}

/** An optional field: absent or null takes the default. */
function optional<T extends z.ZodType, D extends z.output<T> | null>(schema: T, fallback: () => D) {
  return schema.nullish().transform((v) => (v ?? fallback()) as NonNullable<z.output<T>> | D);
}

function enumOf<const V extends readonly [string, ...string[]]>(label: string, values: V) {
  return z.enum(values, { error: (iss) => invalid(label, iss.input, values) });
}

const PM_OPTIONS_ERROR = "'package_manager_options' must be a list of strings";

const stringList = (field: string) =>
  z.array(z.string({ error: mustBe(field, 'list') }), { error: mustBe(field, 'list') });

const dictionary = (field: string) =>
  z.record(z.string(), z.unknown(), { error: mustBe(field, 'dictionary') });

/** Env values are strings; YAML numbers and booleans (`PORT: 8080`) are taken as their text. */
const envSchema = dictionary('env').transform((env, ctx) => {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (['string', 'number', 'boolean'].includes(typeof value)) out[key] = String(value);
    else addIssue(ctx.issues, mustBe(`env.${key}`, 'string'), value, [key]);
  }
  return out;
});

function actionSchema(action: string) {
  const field = (key: string) => `actions.${action}.${key}`;
  return z.looseObject(
    {
      // Presence is checked by `actionsSchema`: `restapi` actions need no entrypoint.
      entrypoint: z
        .string({ error: mustBe(field('entrypoint'), 'string') })
        // Refused before anything runs: the entrypoint must name a module inside the plugin.
        .superRefine((entrypoint, ctx) => {
          const reason = unsafeEntrypointReason(entrypoint);
          if (reason)
            addIssue(
              ctx.issues,
              `Action '${action}' has an unsafe entrypoint '${quoteEntrypoint(entrypoint)}': ${reason}; ${SAFE_ENTRYPOINT_HINT}`,
              entrypoint,
            );
        })
        .optional(),
      method: z.enum(RUN_METHODS, {
        error: (iss) =>
          iss.input == null
            ? `Action '${action}' missing required 'method' field`
            : `Invalid method '${String(iss.input)}' for action '${action}'. ${oneOf(iss.input, RUN_METHODS)}`,
      }),
      description: optional(z.string({ error: mustBe(field('description'), 'string') }), () => ''),
      input_type: optional(z.string({ error: mustBe(field('input_type'), 'string') }), () => null),
      output_type: optional(z.string({ error: mustBe(field('output_type'), 'string') }), () => null),
      hyperparameters: dictionary(field('hyperparameters')).optional(),
      required_resources: dictionary(field('required_resources')).optional(),
    },
    { error: `Action '${action}' configuration must be a dictionary` },
  );
}

export type ActionConfig = z.output<ReturnType<typeof actionSchema>> & { name: string };

/** Validates each action with messages naming it; `name` is filled from the map key. */
const actionsSchema = z
  .record(z.string(), z.unknown(), {
    error: (iss) => (iss.input == null ? missing('actions') : "'actions' must be a dictionary"),
  })
  .transform((actions, ctx) => {
    const out: Record<string, ActionConfig> = {};
    if (Object.keys(actions).length === 0)
      addIssue(ctx.issues, 'Plugin must define at least one action', actions);
    for (const [name, value] of Object.entries(actions)) {
      if (isRecord(value) && value.entrypoint == null && value.method !== 'restapi') {
        addIssue(ctx.issues, `Action '${name}' missing required 'entrypoint' field`, value, [name]);
      }
      const parsed = actionSchema(name).safeParse(value);
      if (parsed.success) out[name] = { ...parsed.data, name };
      else
        for (const issue of parsed.error.issues)
          addIssue(ctx.issues, issue.message, issue.input, [name, ...issue.path]);
    }
    return out;
  });

export const pluginConfigSchema = z
  .looseObject(
    {
      name: requiredString('name'),
      code: optional(
        z.string({ error: mustBe('code', 'string') }).regex(CODE_PATTERN, {
          error: (iss) =>
            `Invalid code '${String(iss.input)}'. Use lowercase letters, digits, '-' and '_' only`,
        }),
        () => null,
      ),
      // A YAML number keeps its source text when loaded from a file; from code, its JS text.
      version: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), requiredString('version')),
      category: z.enum(PLUGIN_CATEGORIES, {
        error: (iss) =>
          iss.input == null ? missing('category') : invalid('category', iss.input, PLUGIN_CATEGORIES),
      }),
      description: z.string({
        error: (iss) => (iss.input == null ? missing('description') : mustBe('description', 'string')),
      }),
      readme: optional(z.string({ error: mustBe('readme', 'string') }), () => 'README.md'),
      package_manager: optional(enumOf('package_manager', PACKAGE_MANAGERS), () => 'pip' as const),
      package_manager_options: optional(
        z.array(z.string({ error: PM_OPTIONS_ERROR }), { error: PM_OPTIONS_ERROR }),
        () => [],
      ),
      wheels_dir: optional(z.string({ error: mustBe('wheels_dir', 'string') }), () => 'wheels'),
      env: optional(envSchema, () => ({})),
      runtime_env: optional(dictionary('runtime_env'), () => ({})),
      data_type: optional(enumOf('data_type', DATA_TYPES), () => null),
      tasks: optional(stringList('tasks'), () => []),
      supported_data_type: optional(
        z.array(enumOf('data_type', DATA_TYPES), { error: mustBe('supported_data_type', 'list') }),
        () => [],
      ),
      annotation_category: optional(enumOf('annotation_category', ANNOTATION_CATEGORIES), () => null),
      annotation_type: optional(enumOf('annotation_type', ANNOTATION_TYPES), () => null),
      smart_tool: optional(enumOf('smart_tool', SMART_TOOLS), () => null),
      actions: actionsSchema,
    },
    { error: 'Plugin configuration must be a dictionary' },
  )
  // Runs even when other fields fail, so that every problem is reported at once.
  .refine(
    (c) => c.code != null || typeof c.name !== 'string' || !c.name.trim() || deriveCode(c.name) !== '',
    {
      path: ['code'],
      error: (iss) =>
        `Cannot derive 'code' from name '${String((iss.input as { name: string }).name)}'; add 'code' to config.yaml`,
      when: () => true,
    },
  )
  .transform(({ name, code, ...config }) => ({ name, code: code ?? deriveCode(name), ...config }));

/** Unknown keys of the file are kept. */
export type PluginConfig = z.output<typeof pluginConfigSchema> & Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The keys §1.1 and §1.2 name: any other key is kept and ignored, or is a typo of one of these. */
const TOP_LEVEL_KEYS = Object.keys(pluginConfigSchema.def.in.shape);
const ACTION_KEYS = [
  ...Object.keys(actionSchema('').shape),
  // Read by specific categories (§1.2), and the publish payload's own.
  ...['dataset', 'metrics', 'visualizations', 'options', 'endpoints', 'excel_config', 'data_expand'],
  'result_schema',
];

interface Typo {
  key: string;
  known: string;
  /** The action the key is in; undefined at the top level. */
  action?: string;
}

/** Unknown keys that are a likely typo of a known one (`entrypiont` for `entrypoint`). */
function configTypos(raw: unknown): Typo[] {
  if (!isRecord(raw)) return [];
  const typosIn = (value: Record<string, unknown>, known: string[], action?: string): Typo[] =>
    Object.keys(value)
      .filter((key) => !known.includes(key))
      .flatMap((key) => {
        const match = closestMatch(key, known);
        return match === undefined ? [] : [{ key, known: match, action }];
      });
  const typos = typosIn(raw, TOP_LEVEL_KEYS);
  if (isRecord(raw.actions))
    for (const [action, value] of Object.entries(raw.actions))
      if (isRecord(value)) typos.push(...typosIn(value, ACTION_KEYS, action));
  return typos;
}

const typoHint = ({ key, known }: Typo) => ` (found '${key}': did you mean '${known}'?)`;

/**
 * Validates a parsed config; throws one error listing every problem. An unknown key that looks
 * like a typo of a known one is named: in the error when the field it stands for is missing and
 * required, else through `warn` (the key is kept and ignored, as every unknown key).
 */
export function validatePluginConfig(
  raw: unknown,
  options: { warn?: (message: string) => void } = {},
): PluginConfig {
  const typos = configTypos(raw);
  // The missing-field message each typo explains.
  const hints = new Map(
    typos.map((typo) => [
      typo.action === undefined
        ? missing(typo.known)
        : `Action '${typo.action}' missing required '${typo.known}' field`,
      typo,
    ]),
  );
  // An empty file is an empty mapping: it reports the missing fields.
  const parsed = pluginConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const explained = (message: string) => {
      const typo = hints.get(message);
      return typo ? message + typoHint(typo) : message;
    };
    // Several bad items of one list give one message.
    const errors = [...new Set(parsed.error.issues.map((issue) => explained(issue.message)))];
    throw new PluginValidationError(`Invalid plugin configuration: ${errors[0]}`, { errors });
  }
  for (const typo of typos) {
    const where = typo.action === undefined ? '' : ` in action '${typo.action}'`;
    options.warn?.(`Unknown key '${typo.key}'${where} is ignored. Did you mean '${typo.known}'?`);
  }
  return parsed.data;
}

/** The config file of `pathOrDir` by search order (§1), or null when there is none. */
export function findConfigFile(pathOrDir: string, explicit?: string): string | null {
  if (explicit) return existsSync(explicit) ? resolve(explicit) : null;
  if (!existsSync(pathOrDir)) return null;
  if (statSync(pathOrDir).isFile()) return resolve(pathOrDir);
  const found = CONFIG_FILE_NAMES.map((name) => join(pathOrDir, name)).find((p) => existsSync(p));
  return found ? resolve(found) : null;
}

/** Parses YAML text, keeping comments and node sources; syntax errors carry line and column. */
export function parseConfigYaml(text: string): Document {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new PluginValidationError(`Invalid plugin config file: ${doc.errors[0].message.trimEnd()}`, {
      errors: doc.errors.map((e) => e.message.trimEnd()),
    });
  }
  return doc;
}

/** The document as plain data, with a numeric `version` as written (`1.0` stays `"1.0"`). */
export function configDataOf(doc: Document): unknown {
  const data = doc.toJS();
  const version = doc.get('version', true);
  if (isRecord(data) && isScalar(version) && typeof version.value === 'number') {
    data.version = version.source ?? String(version.value);
  }
  return data;
}

/**
 * Loads and validates the config of a plugin directory or config file. `config` is an explicit
 * config path (relative to the working directory, like `--config`) that takes precedence.
 */
export async function loadPluginConfig(
  pathOrDir: string,
  options: { config?: string; warn?: (message: string) => void } = {},
): Promise<PluginConfig> {
  const path = findConfigFile(pathOrDir, options.config);
  if (!path) throw new PluginError(`Plugin config file not found: ${options.config ?? pathOrDir}`);
  return validatePluginConfig(configDataOf(parseConfigYaml(await readFile(path, 'utf8'))), options);
}

const DEFAULT_UV_OPTIONS = ['--no-cache'];
export const PIP_OPTIONS_WARNING =
  "package_manager_options is only supported with package_manager 'uv'; ignoring it for 'pip'";

/**
 * Installer options for the runtime env (§10.6): for `uv`, the defaults then each user option not
 * already present, in order; `pip` takes none and warns once when some were given.
 */
export function mergePackageManagerOptions(
  packageManager: 'pip' | 'uv',
  userOptions: readonly string[],
  warn: (message: string) => void = (message) => console.warn(`WARNING: ${message}`),
): string[] {
  if (packageManager === 'pip') {
    if (userOptions.length) warn(PIP_OPTIONS_WARNING);
    return [];
  }
  return [...new Set([...DEFAULT_UV_OPTIONS, ...userOptions])];
}

export type UiSchema = Array<Record<string, unknown>>;

export interface ConfigDictOptions {
  includeUiSchemas?: boolean;
  /** Generated params UI schemas by action (§9); `train` publishes `train_ui_schemas`, others `ui_schema`. */
  uiSchemas?: Record<string, UiSchema>;
  /** Generated result schemas by action, published as `result_schema`. */
  resultSchemas?: Record<string, UiSchema>;
}

/** Keys always published; every other key only when it differs from its default. */
const ALWAYS_KEYS = new Set([
  'name',
  'code',
  'version',
  'category',
  'description',
  'readme',
  'package_manager',
  'actions',
]);
const DEFAULTS: Record<string, unknown> = {
  package_manager_options: [],
  wheels_dir: 'wheels',
  env: {},
  runtime_env: {},
  data_type: null,
  tasks: [],
  supported_data_type: [],
  annotation_category: null,
  annotation_type: null,
  smart_tool: null,
};
const ACTION_DEFAULTS: Record<string, unknown> = { description: '', input_type: null, output_type: null };
const UI_SCHEMA_KEYS = ['ui_schema', 'train_ui_schemas'];

const isDefault = (value: unknown, fallback: unknown) =>
  value === undefined || JSON.stringify(value) === JSON.stringify(fallback);

/** The `config` field of a release (§11.3); unknown keys are carried over. */
export function toConfigDict(config: PluginConfig, options: ConfigDictOptions = {}): Record<string, unknown> {
  const { includeUiSchemas = true, uiSchemas = {}, resultSchemas = {} } = options;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (ALWAYS_KEYS.has(key) || !isDefault(value, DEFAULTS[key])) out[key] = value;
  }
  const actions: Record<string, unknown> = {};
  for (const [name, { name: _, ...action }] of Object.entries(config.actions)) {
    const dict: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(action)) {
      if (!isDefault(value, ACTION_DEFAULTS[key])) dict[key] = value;
    }
    const hyperparameters = { ...action.hyperparameters };
    if (!includeUiSchemas) for (const key of UI_SCHEMA_KEYS) delete hyperparameters[key];
    else if (uiSchemas[name])
      hyperparameters[name === 'train' ? 'train_ui_schemas' : 'ui_schema'] = uiSchemas[name];
    if (Object.keys(hyperparameters).length) dict.hyperparameters = hyperparameters;
    else delete dict.hyperparameters;
    if (includeUiSchemas && resultSchemas[name]) dict.result_schema = resultSchemas[name];
    actions[name] = dict;
  }
  out.actions = actions;
  return out;
}
