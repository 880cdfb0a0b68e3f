import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPluginConfig } from '../../src/plugins/config.ts';
import { PluginDiscovery } from '../../src/plugins/discovery.ts';
import { PluginError } from '../../src/plugins/errors.ts';
import { syncConfigFile } from '../../src/plugins/sync-config.ts';
import { ACTION_TS, writePlugin } from './plugin-dir.ts';

const CONFIG = `# My plugin
name: Demo Plugin # display name
version: "1.0.0"
category: neural_net
description: demo
x_team: vision # not known to the SDK
actions:
  # training entry
  train:
    entrypoint: plugin.old.TrainAction
    method: job
  export:
    entrypoint: plugin/export.ts:ExportAction
    method: job
`;

const TRAIN = `
import { z } from 'zod';
import { BaseAction } from '${ACTION_TS}';
export class TrainAction extends BaseAction {
  static inputType = 'yolo_dataset';
  static outputType = 'model_weights';
  static paramsSchema = z.object({ epochs: z.int().min(1).default(10) });
  execute() { return {}; }
}
`;

const sources = {
  'plugin/train.ts': TRAIN,
  // A re-export: the module that declares the class wins.
  'plugin/index.ts': `export { TrainAction } from './train.ts';\n`,
  'plugin/export.ts': `import { BaseAction } from '${ACTION_TS}';\nexport class ExportAction extends BaseAction { execute() { return {}; } }\n`,
  'plugin/tasks.mjs': `import { BaseAction } from '${ACTION_TS}';\nexport class Convert extends BaseAction { static actionName = 'to_task'; execute() {} }\n`,
  'plugin/labeler.js': `import { BaseAction } from '${ACTION_TS}';\nexport default class AutoLabelAction extends BaseAction { execute() {} }\n`,
  'plugin/helpers.ts': `import { BaseAction } from '${ACTION_TS}';\nexport { BaseAction };\nexport class Helper {}\n`,
  // Never imported: tests, build output, ignored files.
  'plugin/train.test.ts': `throw new Error('imported a test');`,
  'plugin/__tests__/a.ts': `throw new Error('imported a test');`,
  'test_train.ts': `throw new Error('imported a test');`,
  'dist/index.js': `throw new Error('imported dist');`,
  'scripts/setup.ts': `throw new Error('imported an ignored file');`,
  '.synapseignore': 'scripts/\n',
};

describe('syncConfigFile', () => {
  it('adds missing actions, updates entrypoints and types, and keeps comments and unknown keys', async () => {
    const dir = await writePlugin({ 'config.yaml': CONFIG, ...sources });
    const changes = await syncConfigFile(dir);
    expect(changes).toEqual({
      train:
        'entrypoint=plugin.train.TrainAction, input_type=yolo_dataset, output_type=model_weights, train_ui_schemas=1 fields',
      to_task: 'added (entrypoint=plugin.tasks.Convert)',
      autolabel: 'added (entrypoint=plugin.labeler.AutoLabelAction)',
    });
    const text = await readFile(join(dir, 'config.yaml'), 'utf8');
    expect(text).toContain('# My plugin\nname: Demo Plugin # display name\n');
    expect(text).toContain('x_team: vision # not known to the SDK\n');
    expect(text).toContain('  # training entry\n  train:\n    entrypoint: plugin.train.TrainAction\n');

    const config = await loadPluginConfig(dir);
    expect(config.actions.train).toMatchObject({
      entrypoint: 'plugin.train.TrainAction',
      method: 'job',
      input_type: 'yolo_dataset',
      output_type: 'model_weights',
      hyperparameters: {
        train_ui_schemas: [
          {
            $formkit: 'number',
            name: 'epochs',
            label: 'Epochs',
            value: 10,
            placeholder: 10,
            required: false,
            min: 1,
            number: true,
          },
        ],
      },
    });
    // The path form names the same export: left as written.
    expect(config.actions.export.entrypoint).toBe('plugin/export.ts:ExportAction');
    expect(config.actions.to_task).toMatchObject({ entrypoint: 'plugin.tasks.Convert', method: 'job' });
    expect(config.actions.autolabel).toMatchObject({
      entrypoint: 'plugin.labeler.AutoLabelAction',
      method: 'task',
    });
    expect(config.x_team).toBe('vision');

    // The synced config resolves, and a second run has nothing to do.
    const plugin = await PluginDiscovery.fromPath(dir);
    expect((await plugin.getActionClass('autolabel')).name).toBe('AutoLabelAction');
    expect(await plugin.syncConfigFile()).toEqual({});
    expect(await readFile(join(dir, 'config.yaml'), 'utf8')).toBe(text);
  });

  it('keeps an entrypoint that already names a re-export', async () => {
    const dir = await writePlugin({
      'config.yaml': CONFIG.replace('plugin.old.TrainAction', 'plugin.index.TrainAction'),
      'plugin/train.ts': TRAIN,
      'plugin/index.ts': sources['plugin/index.ts'],
    });
    const changes = await syncConfigFile(dir);
    expect(changes.train).not.toContain('entrypoint=');
    expect((await loadPluginConfig(dir)).actions.train.entrypoint).toBe('plugin.index.TrainAction');
  });

  it('keeps the action name the config gives a class, adding no second action for it', async () => {
    // The neural_net template's `deployment: plugin.deployment.Deploy`: not also a new `deploy`.
    const dir = await writePlugin({
      'config.yaml': `${CONFIG}  deployment:\n    entrypoint: plugin/deployment.ts:Deploy\n    method: job\n`,
      'plugin/train.ts': TRAIN,
      'plugin/deployment.ts': `import { BaseAction } from '${ACTION_TS}';\nexport class Deploy extends BaseAction { execute() { return {}; } }\n`,
    });
    const changes = await syncConfigFile(dir);
    expect(Object.keys(changes)).not.toContain('deploy');
    expect(Object.keys((await loadPluginConfig(dir)).actions)).toEqual(['train', 'export', 'deployment']);
  });

  it('skips modules that fail to import, with a warning', async () => {
    const dir = await writePlugin({
      'config.yaml': CONFIG,
      'plugin/train.ts': TRAIN,
      'plugin/broken.ts': `import './missing.ts';`,
    });
    const warnings: string[] = [];
    const changes = await syncConfigFile(dir, undefined, { warn: (m) => warnings.push(m) });
    expect(Object.keys(changes)).toEqual(['train']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Skipping plugin\/broken\.ts: .*missing/);
  });

  it('writes nothing when there is nothing to change, and uses an explicit config', async () => {
    const yaml = 'name: X\nversion: "1"\ncategory: custom\ndescription: ""\nactions: {}\n';
    const dir = await writePlugin({ 'custom.yaml': yaml, 'plugin/helpers.ts': sources['plugin/helpers.ts'] });
    expect(await syncConfigFile(dir, join(dir, 'custom.yaml'))).toEqual({});
    expect(await readFile(join(dir, 'custom.yaml'), 'utf8')).toBe(yaml);
    const err = await syncConfigFile(dir).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe(`Plugin config file not found: ${dir}`);
  });

  it('fills an empty actions map', async () => {
    const dir = await writePlugin({
      'config.yaml': 'name: X\nversion: "1"\ncategory: custom\ndescription: ""\nactions: {}\n',
      'plugin/export.ts': sources['plugin/export.ts'],
    });
    expect(await syncConfigFile(dir)).toEqual({ export: 'added (entrypoint=plugin.export.ExportAction)' });
    expect((await loadPluginConfig(dir)).actions.export).toMatchObject({ method: 'job' });
  });
});
