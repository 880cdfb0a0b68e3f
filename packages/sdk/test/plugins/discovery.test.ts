import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ActionClass, BaseAction, defineAction } from '../../src/plugins/action.ts';
import { PluginDiscovery } from '../../src/plugins/discovery.ts';
import { isActionExport, normalizeEntrypoint, resolveEntrypoint } from '../../src/plugins/entrypoint.ts';
import {
  ActionNotFoundError,
  ExecutionError,
  PluginError,
  PluginValidationError,
} from '../../src/plugins/errors.ts';
import { ACTION_TS, configYaml, writePlugin } from './plugin-dir.ts';

async function failure(action: Promise<unknown> | (() => unknown)): Promise<Error & { details: object }> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (e) {
    return e as Error & { details: object };
  }
  throw new Error('expected an error');
}

const TRAIN_TS = `
import { z } from 'zod';
import { BaseAction } from '${ACTION_TS}';
export class TrainAction extends BaseAction<{ epochs: number }> {
  static paramsSchema = z.object({ epochs: z.int().min(1).default(10).describe('Passes over the data') });
  execute() { return { trained: this.params.epochs }; }
}
export class Named extends BaseAction {
  static actionName = 'named';
  static category = 'export' as const;
  execute() { return 'named'; }
}
export class NotAnAction { run() {} }
export const notAFunction = 42;
`;

describe('PluginDiscovery.fromPath', () => {
  it('loads a directory by search order or a config file, and validates it', async () => {
    const dir = await writePlugin({ 'synapse.yaml': configYaml({ train: 'plugin.train.TrainAction' }) });
    const plugin = await PluginDiscovery.fromPath(dir);
    expect(plugin.config.code).toBe('demo-plugin');
    expect(plugin.pluginDir).toBe(dir);
    expect(plugin.configPath).toBe(join(dir, 'synapse.yaml'));
    expect((await PluginDiscovery.fromPath(join(dir, 'synapse.yaml'))).actionNames).toEqual(['train']);

    const missing = await PluginDiscovery.fromPath(join(dir, 'nope')).catch((e) => e);
    expect(missing).toBeInstanceOf(PluginError);
    expect(missing.message).toBe(`Plugin config file not found: ${join(dir, 'nope')}`);
    const invalid = await writePlugin({ 'config.yaml': 'name: x\n' });
    await expect(PluginDiscovery.fromPath(invalid)).rejects.toBeInstanceOf(PluginValidationError);
  });

  it('resolves entrypoints against the plugin dir when the config is explicit', async () => {
    const dir = await writePlugin({ 'plugin/train.ts': TRAIN_TS });
    const elsewhere = await writePlugin({ 'custom.yaml': configYaml({ train: 'plugin.train.TrainAction' }) });
    const plugin = await PluginDiscovery.fromPath(dir, { config: join(elsewhere, 'custom.yaml') });
    expect(plugin.pluginDir).toBe(dir);
    expect((await plugin.getActionClass('train')).name).toBe('TrainAction');
  });
});

describe('PluginDiscovery actions', () => {
  it('looks up action configs by name', async () => {
    const plugin = await PluginDiscovery.fromPath(
      await writePlugin({
        'config.yaml': configYaml({ train: 'plugin.train.TrainAction', test: 'plugin.t.T' }),
      }),
    );
    expect(plugin.getActionConfig('train')).toMatchObject({ name: 'train', method: 'task' });
    const err = await failure(() => plugin.getActionConfig('deploy'));
    expect(err).toBeInstanceOf(ActionNotFoundError);
    expect(err.message).toBe("Action 'deploy' not found");
    expect(err.details).toEqual({ available: ['train', 'test'] });
  });

  it('imports a TypeScript action class and gives it the config name and plugin category', async () => {
    const dir = await writePlugin({
      'config.yaml': configYaml({ train: 'plugin.train.TrainAction', named: 'plugin/train.ts:Named' }),
      'plugin/train.ts': TRAIN_TS,
    });
    const plugin = await PluginDiscovery.fromPath(dir);
    const train = (await plugin.getActionClass('train')) as ActionClass;
    expect(train.name).toBe('TrainAction');
    expect(train.actionName).toBe('train');
    expect(train.category).toBe('neural_net');
    expect(await plugin.getActionClass('train')).toBe(train); // cached
    // Statics the class sets itself are kept.
    const named = (await plugin.getActionClass('named')) as ActionClass;
    expect([named.actionName, named.category]).toEqual(['named', 'export']);
  });

  it('rejects an empty entrypoint', async () => {
    const plugin = await PluginDiscovery.fromPath(
      await writePlugin({ 'config.yaml': configYaml({ train: '' }) }),
    );
    const err = await failure(plugin.getActionClass('train'));
    expect(err).toBeInstanceOf(ActionNotFoundError);
    expect(err.message).toBe("Action 'train' has no entrypoint defined");
  });

  it('gives the dotted entrypoint without importing', async () => {
    const plugin = await PluginDiscovery.fromPath(
      await writePlugin({
        'config.yaml': configYaml({ a: 'plugin.train:TrainAction', b: 'plugin.train.TrainAction' }),
      }),
    );
    expect(plugin.getActionEntrypoint('a')).toBe('plugin.train.TrainAction');
    expect(plugin.getActionEntrypoint('b')).toBe('plugin.train.TrainAction');
    expect(normalizeEntrypoint('./plugin/train.ts:TrainAction')).toBe('./plugin/train.ts.TrainAction');
  });

  it('publishes the params UI schema of the train action', async () => {
    const dir = await writePlugin({
      'config.yaml': configYaml({ train: 'plugin.train.TrainAction', named: 'plugin.train.Named' }),
      'plugin/train.ts': TRAIN_TS,
    });
    const dict = (await (await PluginDiscovery.fromPath(dir)).toConfigDict()) as any;
    expect(dict.actions.train.hyperparameters.train_ui_schemas).toEqual([
      {
        $formkit: 'number',
        name: 'epochs',
        label: 'Epochs',
        value: 10,
        placeholder: 10,
        help: 'Passes over the data',
        required: false,
        min: 1,
        number: true,
      },
    ]);
    expect(dict.actions.named).toEqual({ entrypoint: 'plugin.train.Named', method: 'task' });
    const without = (await (
      await PluginDiscovery.fromPath(dir)
    ).toConfigDict({ includeUiSchemas: false })) as any;
    expect(without.actions.train.hyperparameters).toBeUndefined();
  });
});

describe('entrypoint resolution (§3.2)', () => {
  const files = {
    'plugin/train.ts': TRAIN_TS,
    'plugin/esm.mts': `export function infer(params) { return params; }`,
    'plugin/js_action.js': `export const run = (params, ctx) => ({ params });\nexport default function Main() {}`,
    'plugin/helpers.mjs': `export class Helper {}`,
    'plugin/legacy.cjs': `module.exports = { legacy: (params) => params };`,
    'pkg/index.ts': `export const fromIndex = () => 'index';`,
    'jspkg/index.js': `export const fromJsIndex = () => 'js index';`,
    'broken.ts': `import './does-not-exist.ts';\nexport const x = () => 1;`,
  };

  it('tries the extensions, then index files, relative to the plugin dir', async () => {
    const dir = await writePlugin(files);
    const file = (ep: string) => resolveEntrypoint(ep, dir).file.slice(dir.length + 1);
    expect(file('plugin.train.TrainAction')).toBe('plugin/train.ts');
    expect(file('plugin.esm.infer')).toBe('plugin/esm.mts');
    expect(file('plugin.js_action.run')).toBe('plugin/js_action.js');
    expect(file('plugin.helpers.Helper')).toBe('plugin/helpers.mjs');
    expect(file('plugin.legacy.legacy')).toBe('plugin/legacy.cjs');
    expect(file('pkg.fromIndex')).toBe('pkg/index.ts');
    expect(file('jspkg:fromJsIndex')).toBe('jspkg/index.js');
    expect(file('./plugin/train.ts:TrainAction')).toBe('plugin/train.ts');
    expect(file('plugin/train:TrainAction')).toBe('plugin/train.ts');
    expect(resolveEntrypoint('plugin.train:TrainAction', dir)).toMatchObject({
      module: 'plugin.train',
      exportName: 'TrainAction',
    });
  });

  it('says what it tried when no file matches', async () => {
    const dir = await writePlugin(files);
    const err = await failure(() => resolveEntrypoint('plugin.nope.X', dir));
    expect(err).toBeInstanceOf(ActionNotFoundError);
    expect(err.message).toBe(
      "Cannot resolve entrypoint 'plugin.nope.X': module 'plugin.nope' not found (tried plugin/nope.ts, plugin/nope.mts, plugin/nope.js, plugin/nope.mjs, plugin/nope.cjs, plugin/nope/index.ts, plugin/nope/index.js)",
    );
    expect(() => resolveEntrypoint('./plugin/nope.js:X', dir)).toThrow(
      "Cannot resolve entrypoint './plugin/nope.js:X': module './plugin/nope.js' not found (tried ./plugin/nope.js)",
    );
  });

  it('loads every kind of module and action export', async () => {
    const dir = await writePlugin({
      ...files,
      'config.yaml': configYaml({
        mts: 'plugin.esm.infer',
        js: 'plugin.js_action.run',
        cjs: 'plugin.legacy.legacy',
        index: 'pkg.fromIndex',
        jsindex: 'jspkg.fromJsIndex',
        byDefault: 'plugin.js_action.Main',
      }),
    });
    const plugin = await PluginDiscovery.fromPath(dir);
    const run = (await plugin.getActionClass('js')) as (p: unknown, c: unknown) => unknown;
    expect(run({ a: 1 }, null)).toEqual({ params: { a: 1 } });
    expect(((await plugin.getActionClass('mts')) as (p: unknown) => unknown)('x')).toBe('x');
    expect(((await plugin.getActionClass('cjs')) as (p: unknown) => unknown)('y')).toBe('y');
    expect(((await plugin.getActionClass('index')) as () => unknown)()).toBe('index');
    expect(((await plugin.getActionClass('jsindex')) as () => unknown)()).toBe('js index');
    // Not a named export: the default export whose name matches.
    expect((await plugin.getActionClass('byDefault')).name).toBe('Main');
  });

  it('reports import failures, missing exports and exports that are not actions', async () => {
    const dir = await writePlugin({
      ...files,
      'config.yaml': configYaml({
        broken: 'broken.x',
        missing: 'plugin.train.Nope',
        plain: 'plugin.train.NotAnAction',
        value: 'plugin.train.notAFunction',
        helper: 'plugin.helpers.Helper',
      }),
    });
    const plugin = await PluginDiscovery.fromPath(dir);
    const broken = await plugin.getActionClass('broken').catch((e) => e);
    expect(broken).toBeInstanceOf(ExecutionError);
    expect(broken.message).toMatch(/^Failed to import action broken\.x: .*does-not-exist/);
    expect(broken.cause).toBeInstanceOf(Error);
    const missing = await failure(plugin.getActionClass('missing'));
    expect(missing).toBeInstanceOf(ActionNotFoundError);
    expect(missing.message).toBe("Entrypoint 'plugin.train.Nope': module has no export 'Nope'");
    const plain = await failure(plugin.getActionClass('plain'));
    expect(plain).toBeInstanceOf(ActionNotFoundError);
    expect(plain.message).toBe(
      "Entrypoint 'plugin.train.NotAnAction': export 'NotAnAction' is not an action (expected a BaseAction subclass, defineAction() or a function)",
    );
    await expect(plugin.getActionClass('value')).rejects.toThrow("export 'notAFunction' is not an action");
    await expect(plugin.getActionClass('helper')).rejects.toThrow("export 'Helper' is not an action");
  });

  it('recognises actions by kind', () => {
    class Local extends BaseAction {}
    class Unrelated {}
    expect(isActionExport(Local)).toBe(true);
    expect(isActionExport(defineAction({ name: 'f' }, () => 1))).toBe(true);
    expect(isActionExport((params: unknown) => params)).toBe(true);
    expect(isActionExport(Unrelated)).toBe(false);
    expect(isActionExport({})).toBe(false);
  });
});

describe('PluginDiscovery.fromModule', () => {
  it('collects named action classes and defineAction functions', async () => {
    class Convert extends BaseAction {
      static override actionName = 'convert';
    }
    class Unnamed extends BaseAction {}
    const tag = defineAction(
      { name: 'tag', params: z.object({ label: z.string() }) },
      (p: { label: string }) => p,
    );
    const plugin = PluginDiscovery.fromModule({ Convert, Unnamed, tag, other: 1 }, { name: 'my.module' });
    expect(plugin.config).toMatchObject({ name: 'my.module', code: 'my-module', category: 'custom' });
    expect(plugin.actionNames).toEqual(['convert', 'tag']);
    expect(plugin.getActionConfig('convert').method).toBe('job');
    expect(plugin.getActionConfig('tag').method).toBe('task');
    expect(await plugin.getActionClass('convert')).toBe(Convert);
    expect(await plugin.getActionClass('tag')).toBe(tag);
  });
});
