import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  deriveCode,
  loadPluginConfig,
  mergePackageManagerOptions,
  PIP_OPTIONS_WARNING,
  toConfigDict,
  validatePluginConfig,
} from '../../src/plugins/config.ts';
import { PluginError, PluginValidationError } from '../../src/plugins/errors.ts';
import { writeTree } from './plugin-dir.ts';

const SEED_YAML = `# 플러그인 메타데이터 (필수)
name: "my-ml-plugin"
version: "1.0.0"
category: "neural_net"
description: "사용자 정의 ML 플러그인"
package_manager: "pip"
package_manager_options: ["--no-cache", "--quiet"]
actions:
  train:
    entrypoint: "plugin.train.TrainAction"
    method: "job"
`;

const VALID = {
  name: 'My Plugin',
  version: '1.0.0',
  category: 'neural_net',
  description: '',
  actions: { train: { entrypoint: 'plugin.train.TrainAction', method: 'job' } },
};

function errorsOf(raw: unknown): string[] {
  try {
    validatePluginConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(PluginValidationError);
    const errors = (e as PluginValidationError).details.errors as string[];
    expect((e as Error).message).toBe(`Invalid plugin configuration: ${errors[0]}`);
    return errors;
  }
  throw new Error('expected a validation error');
}

describe('loadPluginConfig', () => {
  it('loads the seed example with its defaults', async () => {
    const config = await loadPluginConfig(await writeTree({ 'config.yaml': SEED_YAML }));
    expect(config).toEqual({
      name: 'my-ml-plugin',
      code: 'my-ml-plugin',
      version: '1.0.0',
      category: 'neural_net',
      description: '사용자 정의 ML 플러그인',
      readme: 'README.md',
      package_manager: 'pip',
      package_manager_options: ['--no-cache', '--quiet'],
      wheels_dir: 'wheels',
      env: {},
      runtime_env: {},
      data_type: null,
      tasks: [],
      supported_data_type: [],
      annotation_category: null,
      annotation_type: null,
      smart_tool: null,
      actions: {
        train: {
          name: 'train',
          entrypoint: 'plugin.train.TrainAction',
          method: 'job',
          description: '',
          input_type: null,
          output_type: null,
        },
      },
    });
  });

  it('finds config.yaml, then synapse.yaml; an explicit config wins; a file path is read as is', async () => {
    const both = await writeTree({
      'config.yaml': SEED_YAML,
      'synapse.yaml': SEED_YAML.replace('my-ml-plugin', 'from-synapse'),
      'custom.yaml': SEED_YAML.replace('my-ml-plugin', 'custom'),
    });
    expect((await loadPluginConfig(both)).name).toBe('my-ml-plugin');
    expect((await loadPluginConfig(both, { config: join(both, 'custom.yaml') })).name).toBe('custom');
    expect((await loadPluginConfig(join(both, 'synapse.yaml'))).name).toBe('from-synapse');
    const onlySynapse = await writeTree({
      'synapse.yaml': SEED_YAML.replace('my-ml-plugin', 'from-synapse'),
    });
    expect((await loadPluginConfig(onlySynapse)).name).toBe('from-synapse');
  });

  it('reports a missing file', async () => {
    const empty = await writeTree({});
    const err = await loadPluginConfig(empty).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe(`Plugin config file not found: ${empty}`);
    await expect(loadPluginConfig(empty, { config: '/nope/config.yaml' })).rejects.toThrow(
      'Plugin config file not found: /nope/config.yaml',
    );
  });

  it('keeps a numeric version as written', async () => {
    const yaml = SEED_YAML.replace('version: "1.0.0"', 'version: 1.0');
    expect((await loadPluginConfig(await writeTree({ 'config.yaml': yaml }))).version).toBe('1.0');
    const tenth = SEED_YAML.replace('version: "1.0.0"', 'version: 1.10');
    expect((await loadPluginConfig(await writeTree({ 'config.yaml': tenth }))).version).toBe('1.10');
  });

  it('reports a YAML syntax error with its line and column', async () => {
    const yaml = 'name: demo\nversion: "1.0.0"\nactions:\n  train: {entrypoint: x\n';
    const err = await loadPluginConfig(await writeTree({ 'config.yaml': yaml })).catch((e) => e);
    expect(err).toBeInstanceOf(PluginValidationError);
    expect(err.message).toMatch(/^Invalid plugin config file: .+ at line \d+, column \d+:/);
    const nested = await loadPluginConfig(await writeTree({ 'config.yaml': 'name: a\n  b: c\n' })).catch(
      (e) => e,
    );
    expect(nested.message).toMatch(
      /^Invalid plugin config file: .* at line 1, column 7:\n\nname: a\n {6}\^$/,
    );
  });

  it('reports semantic errors of a file, naming the field', async () => {
    const yaml = SEED_YAML.replace('method: "job"', 'method: "jobs"');
    await expect(loadPluginConfig(await writeTree({ 'config.yaml': yaml }))).rejects.toThrow(
      "Invalid plugin configuration: Invalid method 'jobs' for action 'train'. Must be one of job, task, serve or restapi. Did you mean 'job'?",
    );
  });
});

describe('validatePluginConfig', () => {
  it('reports every missing required field, in order', () => {
    expect(errorsOf({})).toEqual([
      "Required field 'name' missing from plugin configuration",
      "Required field 'version' missing from plugin configuration",
      "Required field 'category' missing from plugin configuration",
      "Required field 'description' missing from plugin configuration",
      "Required field 'actions' missing from plugin configuration",
    ]);
    expect(errorsOf(null)).toHaveLength(5);
    expect(errorsOf({ ...VALID, name: '  ' })).toEqual([
      "Required field 'name' missing from plugin configuration",
    ]);
  });

  it('reports the actions map problems', () => {
    expect(errorsOf({ ...VALID, actions: ['train'] })).toEqual(["'actions' must be a dictionary"]);
    expect(errorsOf({ ...VALID, actions: {} })).toEqual(['Plugin must define at least one action']);
    expect(
      errorsOf({
        ...VALID,
        actions: { a: 'job', b: {}, c: { entrypoint: 'x.Y', method: 'cron' }, d: { method: 'task' } },
      }),
    ).toEqual([
      "Action 'a' configuration must be a dictionary",
      "Action 'b' missing required 'entrypoint' field",
      "Action 'b' missing required 'method' field",
      "Invalid method 'cron' for action 'c'. Must be one of job, task, serve or restapi.",
      "Action 'd' missing required 'entrypoint' field",
    ]);
  });

  it('names a typo of a required key in the missing-field error, and warns about other typos', () => {
    const typo = { train: { entrypiont: 'plugin.train.TrainAction', method: 'job' } };
    expect(errorsOf({ ...VALID, actions: typo })).toEqual([
      "Action 'train' missing required 'entrypoint' field (found 'entrypiont': did you mean 'entrypoint'?)",
    ]);
    expect(errorsOf({ ...VALID, verison: '1.0.0', version: undefined })).toEqual([
      "Required field 'version' missing from plugin configuration (found 'verison': did you mean 'version'?)",
    ]);
    const warnings: string[] = [];
    const config = validatePluginConfig(
      {
        ...VALID,
        descripton: 'x',
        my_own_key: 1,
        actions: { train: { entrypoint: 'a.B', method: 'job', requred_resources: {}, dataset: 'coco' } },
      },
      { warn: (message) => warnings.push(message) },
    );
    expect(warnings).toEqual([
      "Unknown key 'descripton' is ignored. Did you mean 'description'?",
      "Unknown key 'requred_resources' in action 'train' is ignored. Did you mean 'required_resources'?",
    ]);
    // Unknown keys are kept, as before (plugins.md §1.1).
    expect(config).toMatchObject({ descripton: 'x', my_own_key: 1 });
  });

  it('needs no entrypoint for a restapi action', () => {
    const config = validatePluginConfig({ ...VALID, actions: { call: { method: 'restapi' } } });
    expect(config.actions.call).toMatchObject({ name: 'call', method: 'restapi' });
    expect(config.actions.call.entrypoint).toBeUndefined();
  });

  it('reports invalid enums and types with the exact messages', () => {
    expect(
      errorsOf({
        ...VALID,
        code: 'My Code',
        category: 'training',
        description: 42,
        package_manager: 'conda',
        package_manager_options: '--quiet',
        data_type: '3d',
        tasks: 'image.detection',
        env: ['A=1'],
        runtime_env: 'x',
        readme: 1,
      }),
    ).toEqual([
      "Invalid code 'My Code'. Use lowercase letters, digits, '-' and '_' only",
      "Invalid category 'training'. Must be one of neural_net, export, upload, smart_tool, post_annotation, pre_annotation, data_validation or custom.",
      "Field 'description' must be a string",
      "Field 'readme' must be a string",
      "Invalid package_manager 'conda'. Must be one of pip or uv.",
      "'package_manager_options' must be a list of strings",
      "Field 'env' must be a dictionary",
      "Field 'runtime_env' must be a dictionary",
      "Invalid data_type '3d'. Must be one of image, text, video, pcd or audio.",
      "Field 'tasks' must be a list",
    ]);
    expect(errorsOf({ ...VALID, package_manager_options: ['--quiet', 1] })).toEqual([
      "'package_manager_options' must be a list of strings",
    ]);
    expect(errorsOf({ ...VALID, name: 7 })).toEqual(["Field 'name' must be a string"]);
    expect(errorsOf({ ...VALID, smart_tool: 'manual' })).toEqual([
      "Invalid smart_tool 'manual'. Must be one of interactive, automatic or semi_automatic.",
    ]);
    expect(
      errorsOf({
        ...VALID,
        actions: { train: { entrypoint: 'a.B', method: 'job', description: 1, hyperparameters: [] } },
      }),
    ).toEqual([
      "Field 'actions.train.description' must be a string",
      "Field 'actions.train.hyperparameters' must be a dictionary",
    ]);
  });

  it('derives the code from the name, or asks for one', () => {
    expect(deriveCode('My ML Plugin')).toBe('my-ml-plugin');
    expect(deriveCode('  --Hello, World!_v2-- ')).toBe('hello-world-_v2');
    expect(validatePluginConfig(VALID).code).toBe('my-plugin');
    expect(validatePluginConfig({ ...VALID, name: '분류기', code: 'classifier' }).code).toBe('classifier');
    expect(errorsOf({ ...VALID, name: '분류기' })).toEqual([
      "Cannot derive 'code' from name '분류기'; add 'code' to config.yaml",
    ]);
    // Reported together with the other problems.
    expect(errorsOf({ ...VALID, name: '분류기', version: undefined })).toEqual([
      "Required field 'version' missing from plugin configuration",
      "Cannot derive 'code' from name '분류기'; add 'code' to config.yaml",
    ]);
  });

  it('keeps unknown keys, at the top and in actions, and takes env values as text', () => {
    const config = validatePluginConfig({
      ...VALID,
      version: 2,
      env: { PORT: 8080, DEBUG: true, NAME: 'x' },
      x_custom: { a: 1 },
      actions: { train: { entrypoint: 'a.B', method: 'job', dataset: 'yolo', metrics: ['map'] } },
    });
    expect(config.version).toBe('2');
    expect(config.env).toEqual({ PORT: '8080', DEBUG: 'true', NAME: 'x' });
    expect(config.x_custom).toEqual({ a: 1 });
    expect(config.actions.train).toMatchObject({ dataset: 'yolo', metrics: ['map'] });
  });

  it('treats null as not set for optional keys', () => {
    const config = validatePluginConfig({ ...VALID, readme: null, package_manager: null, tasks: null });
    expect(config).toMatchObject({ readme: 'README.md', package_manager: 'pip', tasks: [] });
  });
});

describe('mergePackageManagerOptions', () => {
  it('merges user options after the uv defaults, in order, without duplicates', () => {
    expect(mergePackageManagerOptions('uv', ['--no-cache', '--quiet'])).toEqual(['--no-cache', '--quiet']);
    expect(mergePackageManagerOptions('uv', [])).toEqual(['--no-cache']);
    expect(mergePackageManagerOptions('uv', ['--quiet', '--index-url=x', '--quiet'])).toEqual([
      '--no-cache',
      '--quiet',
      '--index-url=x',
    ]);
  });

  it('ignores options for pip, with a single warning', () => {
    const warnings: string[] = [];
    expect(mergePackageManagerOptions('pip', ['--quiet', '--upgrade'], (m) => warnings.push(m))).toEqual([]);
    expect(mergePackageManagerOptions('pip', [], (m) => warnings.push(m))).toEqual([]);
    expect(warnings).toEqual([PIP_OPTIONS_WARNING]);
    expect(PIP_OPTIONS_WARNING).toBe(
      "package_manager_options is only supported with package_manager 'uv'; ignoring it for 'pip'",
    );
  });
});

describe('toConfigDict', () => {
  const config = validatePluginConfig({
    name: 'My Plugin',
    version: '1.0.0',
    category: 'neural_net',
    description: '',
    data_type: 'image',
    tasks: ['image.object_detection'],
    package_manager: 'uv',
    package_manager_options: ['--quiet'],
    actions: {
      train: {
        entrypoint: 'plugin.train.TrainAction',
        method: 'job',
        input_type: 'yolo_dataset',
        output_type: 'model_weights',
        hyperparameters: { ui_schema: [{ $formkit: 'text', name: 'old' }] },
      },
      inference: {
        entrypoint: 'plugin.inference.Inference',
        method: 'serve',
        required_resources: { required_cpu_count: 2, required_gpu_count: 0.5 },
      },
    },
  });
  const trainUi = [{ $formkit: 'number', name: 'epochs' }];

  it('publishes optional keys only when set, and the generated train UI schema', () => {
    expect(toConfigDict(config, { includeUiSchemas: true, uiSchemas: { train: trainUi } })).toEqual({
      name: 'My Plugin',
      code: 'my-plugin',
      version: '1.0.0',
      category: 'neural_net',
      description: '',
      readme: 'README.md',
      data_type: 'image',
      tasks: ['image.object_detection'],
      package_manager: 'uv',
      package_manager_options: ['--quiet'],
      actions: {
        train: {
          entrypoint: 'plugin.train.TrainAction',
          method: 'job',
          input_type: 'yolo_dataset',
          output_type: 'model_weights',
          hyperparameters: { ui_schema: [{ $formkit: 'text', name: 'old' }], train_ui_schemas: trainUi },
        },
        inference: {
          entrypoint: 'plugin.inference.Inference',
          method: 'serve',
          required_resources: { required_cpu_count: 2, required_gpu_count: 0.5 },
        },
      },
    });
  });

  it('leaves UI schemas out on request', () => {
    const dict = toConfigDict(config, { includeUiSchemas: false, uiSchemas: { train: trainUi } }) as any;
    expect(dict.actions.train.hyperparameters).toBeUndefined();
    expect(config.actions.train.hyperparameters).toEqual({ ui_schema: [{ $formkit: 'text', name: 'old' }] });
  });
});
