import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPlugin } from 'synapse-sdk';
import { type LocalPlatform, startLocalPlatform } from 'synapse-sdk/testing';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
// The action's sample: its params, the result they give, and params it refuses.
const sample = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));
// The local platform is the optional package synapse-devserver: `npm install --save-dev synapse-devserver`.
const skip = await import('synapse-devserver').then(
  () => false,
  () => 'synapse-devserver is not installed',
);

// What the sample exports, loaded into the platform: project 2's one task, a box on a 64x48 image.
const fixtures = JSON.parse(await readFile(new URL('fixtures.json', import.meta.url), 'utf8'));

let platform: LocalPlatform;
before(async () => {
  if (skip) return;
  platform = await startLocalPlatform();
  for (const data of fixtures) await platform.client.post('_emulator/fixtures', { data });
});
after(() => platform?.close());

test(`${sample.action} runs with the sample params and writes COCO`, { skip }, async () => {
  // The sample's storage is the platform's own folder, made when it first stores a file.
  const storage = await platform.client.getStorage(sample.params.storage);
  const location = String(storage.configuration?.location);
  await mkdir(location, { recursive: true });
  const options = { mode: 'local', client: platform.client } as const;
  const result = await runPlugin(pluginDir, sample.action, sample.params, options);
  assert.deepEqual(result, sample.result);
  const coco = JSON.parse(
    await readFile(join(location, sample.result.output_path, 'annotations.json'), 'utf8'),
  );
  assert.deepEqual(coco.images, [{ id: 1, file_name: 'a.png', width: 64, height: 48 }]);
  assert.deepEqual(coco.annotations[0].bbox, [4, 5, 20, 10]);
  assert.deepEqual(coco.categories, [{ id: 1, name: 'car', supercategory: '' }]);
});

test(`${sample.action} rejects invalid params with a clear message`, async () => {
  await assert.rejects(
    runPlugin(pluginDir, sample.action, sample.invalid_params, { mode: 'local', client: null }),
    /Parameter validation failed/,
  );
});
