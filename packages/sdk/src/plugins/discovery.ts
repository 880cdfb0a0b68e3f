/** `PluginDiscovery` (plugins.md §3.1): a plugin's config and the actions its entrypoints name. */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { didYouMean, humanList } from 'synapse-core';
import type { ZodType } from 'zod';
import { isActionClass } from './action.ts';
import {
  type ActionConfig,
  configDataOf,
  findConfigFile,
  type PluginConfig,
  parseConfigYaml,
  toConfigDict,
  type UiSchema,
  validatePluginConfig,
} from './config.ts';
import { type ActionExport, type ExportAdapter, loadEntrypoint, normalizeEntrypoint } from './entrypoint.ts';
import { defaultMethodFor, type PluginCategory } from './enums.ts';
import { ActionNotFoundError, PluginError } from './errors.ts';
import { type SyncChanges, syncConfigFile } from './sync-config.ts';
import { zodToUiSchema } from './ui-schema.ts';

export class PluginDiscovery {
  readonly #actions = new Map<string, ActionExport>();

  private constructor(
    readonly config: PluginConfig,
    /** The directory entrypoints resolve against. */
    readonly pluginDir: string,
    readonly configPath: string | null,
    /** Given to `loadEntrypoint` for exports that are no action (`STOCK_EXPORT_ADAPTERS` in the SDK's runners). */
    readonly adapters: readonly ExportAdapter[] = [],
  ) {}

  /**
   * A plugin directory (config found by search order) or config file; `config` is an explicit
   * config path, `adapters` turn exports that are no action into one (see `ExportAdapter`).
   */
  static async fromPath(
    path: string,
    options: {
      config?: string;
      adapters?: readonly ExportAdapter[];
      /** Told about unknown keys of the config that look like typos (none by default). */
      warn?: (message: string) => void;
    } = {},
  ): Promise<PluginDiscovery> {
    const configPath = findConfigFile(path, options.config);
    if (!configPath) throw new PluginError(`Plugin config file not found: ${options.config ?? path}`);
    const config = validatePluginConfig(configDataOf(parseConfigYaml(await readFile(configPath, 'utf8'))), {
      warn: options.warn,
    });
    // An explicit config may live outside the plugin; entrypoints still resolve against the plugin.
    const pluginDir =
      options.config && existsSync(path) && statSync(path).isDirectory()
        ? resolve(path)
        : dirname(configPath);
    return new PluginDiscovery(config, pluginDir, configPath, options.adapters);
  }

  /** A code-only plugin: the module's `BaseAction` subclasses with an `actionName`, and `defineAction` functions. */
  static fromModule(
    mod: Record<string, unknown>,
    options: { name?: string; category?: PluginCategory } = {},
  ): PluginDiscovery {
    const { name = 'plugin', category = 'custom' } = options;
    const found = new Map<string, ActionExport>();
    const actions: Record<string, Record<string, unknown>> = {};
    for (const [exportName, value] of Object.entries(mod)) {
      const actionName = isActionClass(value) ? value.actionName : functionActionName(value);
      if (!actionName) continue;
      found.set(actionName, value as ActionExport);
      const { inputType, outputType } = value as { inputType?: string; outputType?: string };
      actions[actionName] = {
        entrypoint: exportName,
        method: defaultMethodFor(actionName),
        input_type: inputType,
        output_type: outputType,
      };
    }
    const config = validatePluginConfig({
      name,
      code: name.replaceAll('.', '-'),
      version: '0.0.0',
      category,
      description: '',
      actions,
    });
    const discovery = new PluginDiscovery(config, process.cwd(), null);
    for (const [actionName, value] of found) discovery.#actions.set(actionName, value);
    return discovery;
  }

  get actionNames(): string[] {
    return Object.keys(this.config.actions);
  }

  getActionConfig(name: string): ActionConfig {
    const action = this.config.actions[name];
    if (!action) {
      const available = this.actionNames;
      throw new ActionNotFoundError(
        `Action '${name}' not found in plugin '${this.config.code}'.${didYouMean(name, available)} ` +
          `Its actions: ${humanList(available, 'and')}.`,
        { available },
      );
    }
    return action;
  }

  /** Imports the action's entrypoint once; classes without an `actionName`/`category` get the config's. */
  async getActionClass(name: string): Promise<ActionExport> {
    const cached = this.#actions.get(name);
    if (cached) return cached;
    const { entrypoint } = this.getActionConfig(name);
    if (!entrypoint) throw new ActionNotFoundError(`Action '${name}' has no entrypoint defined`);
    const action = await loadEntrypoint(entrypoint, this.pluginDir, { adapters: this.adapters });
    if (isActionClass(action)) {
      action.actionName ||= name;
      action.category ||= this.config.category;
    }
    this.#actions.set(name, action);
    return action;
  }

  /** The entrypoint in dotted form, for running the action elsewhere without importing it here. */
  getActionEntrypoint(name: string): string {
    const { entrypoint } = this.getActionConfig(name);
    if (!entrypoint) throw new ActionNotFoundError(`Action '${name}' has no entrypoint defined`);
    return normalizeEntrypoint(entrypoint);
  }

  /**
   * The release's `config` (§11.3). With UI schemas, `train` and every action that declares
   * `hyperparameters` get the FormKit schema of their params (§9); an action that cannot be
   * imported here keeps the schema written in its config.
   */
  async toConfigDict(options: { includeUiSchemas?: boolean } = {}): Promise<Record<string, unknown>> {
    const { includeUiSchemas = true } = options;
    const uiSchemas: Record<string, UiSchema> = {};
    const resultSchemas: Record<string, UiSchema> = {};
    if (includeUiSchemas) {
      for (const [name, action] of Object.entries(this.config.actions)) {
        if (name !== 'train' && !action.hyperparameters) continue;
        const loaded = await this.getActionClass(name).catch(() => null);
        const { params, result } = schemasOf(loaded);
        if (params) uiSchemas[name] = zodToUiSchema(params);
        if (result) resultSchemas[name] = zodToUiSchema(result);
      }
    }
    return toConfigDict(this.config, { includeUiSchemas, uiSchemas, resultSchemas });
  }

  /** Updates the config file from the plugin's action classes (§3.3). */
  syncConfigFile(configPath?: string): Promise<SyncChanges> {
    return syncConfigFile(this.pluginDir, configPath ?? this.configPath ?? undefined);
  }
}

function functionActionName(value: unknown): string | undefined {
  return typeof value === 'function' && 'actionMeta' in value
    ? (value as { actionMeta: { name?: string } }).actionMeta.name
    : undefined;
}

/** The params and result schemas of an action; a params schema built at run time has no static form. */
function schemasOf(action: ActionExport | null): { params?: ZodType; result?: ZodType } {
  if (!action) return {};
  const meta = 'actionMeta' in action ? action.actionMeta : undefined;
  const params = meta ? meta.params : (action as { paramsSchema?: unknown }).paramsSchema;
  const result = meta ? meta.result : (action as { resultSchema?: ZodType }).resultSchema;
  return { params: typeof params === 'function' ? undefined : (params as ZodType | undefined), result };
}
