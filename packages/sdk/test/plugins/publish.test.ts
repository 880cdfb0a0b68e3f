import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { BackendClient } from '../../src/index.ts';
import { PluginError, PluginUploadError, PluginValidationError } from '../../src/plugins/errors.ts';
import { publishPlugin } from '../../src/plugins/publish.ts';
import { useSharedPlatform } from '../helpers.ts';
import { ACTION_TS, writePlugin } from './plugin-dir.ts';

const h = useSharedPlatform();

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');

const config = (code: string, version = '1.0.0') => `# published by the tests
name: Object Detector
code: ${code}
version: "${version}"
category: neural_net
description: Finds objects
data_type: image
actions:
  train:
    entrypoint: plugin.train.TrainAction
    method: job
`;

const TRAIN = `
import { z } from 'zod';
import { BaseAction } from '${ACTION_TS}';
export class TrainAction extends BaseAction {
  static inputType = 'yolo_dataset';
  static paramsSchema = z.object({ epochs: z.int().min(1).default(10) });
  execute() { return {}; }
}
`;

const pluginFiles = (code: string, version?: string) => ({
  'config.yaml': config(code, version),
  'plugin/train.ts': TRAIN,
  'README.md': '# Object Detector\n',
  '.env': 'SECRET=1\n',
});

async function download(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

describe('publishPlugin', () => {
  it('syncs the config, archives the plugin and uploads it as a release', async () => {
    const dir = await writePlugin(pluginFiles('detector'));
    const result = await publishPlugin(dir, { client: h.client });
    expect(result).toMatchObject({
      release_id: expect.any(Number),
      name: 'Object Detector',
      code: 'detector',
      version: '1.0.0',
      checksum: expect.stringMatching(/^[0-9a-f]{32}$/),
      files: ['README.md', 'config.yaml', 'package.json', 'plugin/train.ts'],
      file_count: 4,
    });

    const release = await h.client.getPluginRelease(result.release_id);
    expect(release).toMatchObject({ plugin_code: 'detector', version: '1.0.0', debug: false });
    expect(release.archive_checksum).toBe(result.checksum);
    const zip = await download(release.file!);
    expect(md5(zip)).toBe(result.checksum);
    expect(zip.byteLength).toBe(result.archive_size);
    // The archive holds the synced config.
    const entries = unzipSync(zip);
    expect(Object.keys(entries)).toEqual(result.files);
    expect(strFromU8(entries['config.yaml'])).toContain('input_type: yolo_dataset');
    expect(await readFile(join(dir, 'config.yaml'), 'utf8')).toContain('# published by the tests');

    // The release config is the plugins.md §11.3 dict, with the train form.
    expect(release.config).toEqual({
      name: 'Object Detector',
      code: 'detector',
      version: '1.0.0',
      category: 'neural_net',
      description: 'Finds objects',
      readme: 'README.md',
      package_manager: 'pip',
      data_type: 'image',
      actions: {
        train: {
          entrypoint: 'plugin.train.TrainAction',
          method: 'job',
          input_type: 'yolo_dataset',
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
        },
      },
    });
    expect(await h.client.getPlugin('detector')).toMatchObject({
      name: 'Object Detector',
      category: 'neural_net',
    });
  });

  it('builds the archive without uploading on a dry run, credentials or not', async () => {
    const dir = await writePlugin(pluginFiles('dry-run'));
    const result = await publishPlugin(dir, { client: null, dryRun: true });
    expect(result).toMatchObject({ release_id: 0, code: 'dry-run', version: '1.0.0', file_count: 4 });
    expect(result.archive_size).toBeGreaterThan(0);
    const [, count] = await h.client.listPluginReleases({ plugin__code: 'dry-run' });
    expect(count).toBe(0);
    // Same tree, same checksum.
    expect((await publishPlugin(dir, { client: h.client, dryRun: true })).checksum).toBe(result.checksum);
  });

  it('refuses a duplicate version unless debug, which overwrites the release', async () => {
    const dir = await writePlugin(pluginFiles('dup'));
    const first = await publishPlugin(dir, { client: h.client });

    const again = await publishPlugin(dir, { client: h.client }).catch((e) => e);
    expect(again).toBeInstanceOf(PluginUploadError);
    expect(again.message).toMatch(
      /^Failed to upload plugin: Version 1\.0\.0 of plugin '[\w-]+' already exists on the platform\. Bump `version` in config\.yaml to publish a new release, or replace this one with `--overwrite`\.$/,
    );
    expect(again.cause).toBeDefined();

    const overwritten = await publishPlugin(dir, { client: h.client, debug: true });
    expect(overwritten.release_id).toBe(first.release_id);
    const release = await h.client.getPluginRelease(first.release_id);
    expect(release.debug).toBe(true);
    expect(md5(await download(release.file!))).toBe(overwritten.checksum);
  });

  it('requires credentials', async () => {
    const dir = await writePlugin(pluginFiles('anon'));
    const anonymous = new BackendClient(h.server.url);
    try {
      for (const client of [null, anonymous]) {
        const err = await publishPlugin(dir, { client }).catch((e) => e);
        expect(err).toBeInstanceOf(PluginUploadError);
        expect(err.message).toBe('Not authenticated. Run `synapse login` to authenticate.');
      }
    } finally {
      await anonymous.close();
    }
  });

  it('needs a valid config', async () => {
    const empty = await writePlugin({ 'plugin/train.ts': TRAIN });
    const err = await publishPlugin(empty, { client: h.client }).catch((e) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err.message).toBe(
      `No config.yaml or synapse.yaml found in ${empty}. Use --config to specify a custom path.`,
    );

    const custom = await publishPlugin(empty, {
      client: h.client,
      config: join(await writePlugin({ 'custom.yaml': config('custom-config') }), 'custom.yaml'),
      dryRun: true,
    });
    expect(custom.files).toEqual(['package.json', 'plugin/train.ts']);

    const invalid = await writePlugin({ 'config.yaml': 'name: Broken\n' });
    await expect(publishPlugin(invalid, { client: h.client })).rejects.toBeInstanceOf(PluginValidationError);
  });
});
