/**
 * `synapse plugin update-config` (plugins.md §3.3): brings the config's actions in line with the
 * action classes the plugin's modules export, rewriting the YAML with its comments kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type Document, isMap, isScalar } from 'yaml';
import type { ZodType } from 'zod';
import type { ActionClass } from './action.ts';
import { isActionClass } from './action.ts';
import { BUILTIN_EXCLUDES } from './archive.ts';
import { findConfigFile, parseConfigYaml } from './config.ts';
import { importModule, resolveEntrypoint } from './entrypoint.ts';
import { defaultMethodFor } from './enums.ts';
import { PluginError } from './errors.ts';
import { listFiles, parseIgnoreRules, readIgnoreFile } from './ignore.ts';
import { zodToUiSchema } from './ui-schema.ts';

/** Per action: `added (entrypoint=<ep>, ...)` or the updated `key=value` pairs. */
export type SyncChanges = Record<string, string>;

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const NOT_SOURCES = [
  'dist/',
  '__tests__/',
  '*.test.*',
  '*.spec.*',
  'test_*',
  // Type declarations hold no classes.
  '*.d.ts',
  '*.d.mts',
];

interface FoundAction {
  name: string;
  entrypoint: string;
  actionClass: ActionClass;
}

export async function syncConfigFile(
  pluginDir: string,
  configPath?: string,
  options: { warn?: (message: string) => void } = {},
): Promise<SyncChanges> {
  const { warn = (message: string) => console.warn(`WARNING: ${message}`) } = options;
  const path = findConfigFile(pluginDir, configPath);
  if (!path) throw new PluginError(`Plugin config file not found: ${configPath ?? pluginDir}`);
  const doc = parseConfigYaml(await readFile(path, 'utf8'));
  const changes: SyncChanges = {};
  for (const found of await findActionClasses(pluginDir, doc, warn)) {
    const change = syncAction(doc, pluginDir, found);
    if (change) changes[found.name] = change;
  }
  if (Object.keys(changes).length) await writeFile(path, doc.toString({ lineWidth: 0 }));
  return changes;
}

/**
 * The concrete action classes exported by the plugin's modules. A class exported by several
 * modules (re-exports) keeps the config's entrypoint when it is one of them, else the module
 * that declares it, else the first found.
 */
async function findActionClasses(pluginDir: string, doc: Document, warn: (m: string) => void) {
  const rules = parseIgnoreRules([
    ...BUILTIN_EXCLUDES,
    ...NOT_SOURCES,
    ...(await readIgnoreFile(join(pluginDir, '.synapseignore'))),
  ]);
  const files = (await listFiles(pluginDir, rules)).filter((f) => SOURCE_EXTENSIONS.includes(extname(f)));
  const byName = new Map<string, FoundAction & { rank: number }>();
  const actions = doc.getIn(['actions']);
  const configured = isMap(actions)
    ? actions.items.flatMap((pair) => {
        const ep = isMap(pair.value) ? pair.value.get('entrypoint') : undefined;
        return typeof ep === 'string'
          ? [{ name: String(isScalar(pair.key) ? pair.key.value : pair.key), entrypoint: ep }]
          : [];
      })
    : [];
  for (const file of files) {
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(join(pluginDir, file));
    } catch (e) {
      warn(`Skipping ${file}: ${(e as Error).message}`);
      continue;
    }
    const source = await readFile(join(pluginDir, file), 'utf8');
    const modulePath = file.slice(0, -extname(file).length).replaceAll('/', '.');
    for (const [key, value] of Object.entries(mod)) {
      if (!isActionClass(value) || !isConcrete(value)) continue;
      // A default export is found again through its class name (§3.2 rule 5).
      const entrypoint = `${modulePath}.${key === 'default' ? value.name : key}`;
      // A class the config already names keeps that action's name (`deployment: …Deploy` is not
      // also a new `deploy`); otherwise its declared name, else one from the class name.
      const name =
        configured.find((action) => sameTarget(action.entrypoint, entrypoint, pluginDir))?.name ||
        value.actionName ||
        value.name.replace(/Action$/, '').toLowerCase();
      const rank =
        entrypoint === doc.getIn(['actions', name, 'entrypoint'])
          ? 2
          : new RegExp(`\\bclass\\s+${value.name.replaceAll('$', '\\$')}\\b`).test(source)
            ? 1
            : 0;
      if (rank > (byName.get(name)?.rank ?? -1))
        byName.set(name, { name, entrypoint, actionClass: value, rank });
    }
  }
  return [...byName.values()];
}

/** SDK base classes (`BaseAction`, `BaseExportAction`, ...) are abstract; their names say so. */
function isConcrete(actionClass: ActionClass): boolean {
  return !/^Base[A-Z]/.test(actionClass.name);
}

/** Updates one action in the document; returns the change line, or null when it was already in sync. */
function syncAction(
  doc: Document,
  pluginDir: string,
  { name, entrypoint, actionClass }: FoundAction,
): string | null {
  const { inputType, outputType } = actionClass;
  const uiSchema = name === 'train' ? trainUiSchema(actionClass.paramsSchema) : undefined;
  const node = doc.getIn(['actions', name]);
  if (!isMap(node)) {
    doc.setIn(
      ['actions', name],
      doc.createNode({
        entrypoint,
        method: defaultMethodFor(name),
        ...(inputType && { input_type: inputType }),
        ...(outputType && { output_type: outputType }),
        ...(uiSchema && { hyperparameters: { train_ui_schemas: uiSchema } }),
      }),
    );
    const details = [`entrypoint=${entrypoint}`];
    if (inputType) details.push(`input_type=${inputType}`);
    if (outputType) details.push(`output_type=${outputType}`);
    return `added (${details.join(', ')})`;
  }

  const updates: string[] = [];
  const current = node.get('entrypoint');
  if (typeof current !== 'string' || !sameTarget(current, entrypoint, pluginDir)) {
    node.set('entrypoint', entrypoint);
    updates.push(`entrypoint=${entrypoint}`);
  }
  for (const [key, value] of [
    ['input_type', inputType],
    ['output_type', outputType],
  ] as const) {
    if (value && node.get(key) !== value) {
      node.set(key, value);
      updates.push(`${key}=${value}`);
    }
  }
  const written = doc.getIn(['actions', name, 'hyperparameters', 'train_ui_schemas']) as {
    toJSON?(): unknown;
  };
  if (uiSchema && JSON.stringify(written?.toJSON?.()) !== JSON.stringify(uiSchema)) {
    doc.setIn(['actions', name, 'hyperparameters', 'train_ui_schemas'], uiSchema);
    updates.push(`train_ui_schemas=${uiSchema.length} fields`);
  }
  return updates.length ? updates.join(', ') : null;
}

/** Two entrypoints name the same export of the same file (`a.b:C`, `a/b.ts:C` and `a.b.C` do). */
function sameTarget(written: string, found: string, pluginDir: string): boolean {
  try {
    const a = resolveEntrypoint(written, pluginDir);
    const b = resolveEntrypoint(found, pluginDir);
    return a.file === b.file && a.exportName === b.exportName;
  } catch {
    return false;
  }
}

/** The train form, when the params schema is static (one built at run time needs a live context). */
function trainUiSchema(schema: ActionClass['paramsSchema']) {
  if (!schema || typeof schema === 'function') return undefined;
  const items = zodToUiSchema(schema as ZodType);
  return items.length ? items : undefined;
}
