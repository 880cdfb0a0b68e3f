import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPluginConfig } from 'synapse-sdk';
import { type LocalPlatform, startLocalPlatform } from 'synapse-sdk/testing';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
const sample = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));
const { code } = await loadPluginConfig(pluginDir);
// The local platform is the optional package synapse-devserver: `npm install --save-dev synapse-devserver`.
const skip = await import('synapse-devserver').then(
  () => false,
  () => 'synapse-devserver is not installed',
);

let platform: LocalPlatform;
before(async () => {
  if (skip) return;
  platform = await startLocalPlatform();
  await platform.publishPlugin(pluginDir);
});
after(() => platform?.close());

test(`${sample.action} runs on a local platform, which refuses invalid params naming the field`, {
  skip,
}, async () => {
  const { job, result } = await platform.runAction(code, sample.action, sample.params);
  assert.equal(job, null); // a task answers at once
  assert.deepEqual(result, sample.result);
  await assert.rejects(platform.runAction(code, sample.action, sample.invalid_params), (err: Error) => {
    assert.match(err.message, /400/);
    assert.match(err.message, /data\.image/);
    return true;
  });
});
