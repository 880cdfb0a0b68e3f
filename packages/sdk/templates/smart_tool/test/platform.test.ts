import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPluginConfig } from 'synapse-sdk';
import { type LocalPlatform, startLocalPlatform } from 'synapse-sdk/testing';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
const sample = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));
const { code, version } = await loadPluginConfig(pluginDir);
// The local platform is the optional package synapse-devserver: `npm install --save-dev synapse-devserver`.
const skip = await import('synapse-devserver').then(
  () => false,
  () => 'synapse-devserver is not installed',
);

let platform: LocalPlatform;
before(async () => {
  if (skip) return;
  // With a serve gateway (on a free port), so `deployment` really serves `inference`.
  platform = await startLocalPlatform({ serve: { port: 0 } });
  await platform.publishPlugin(pluginDir);
});
after(() => platform?.close());

test(`${sample.action} infers through the platform's served model`, { skip }, async () => {
  const { job } = await platform.runAction(code, 'deployment', {});
  assert.equal(job?.status, 'SUCCEEDED');
  // auto_label (a task on the platform) asks this plugin's own inference, served by the platform.
  const params = { ...sample.params, plugin: code, version };
  const { job: none, result } = await platform.runAction(code, sample.action, params);
  assert.equal(none, null);
  assert.deepEqual(result, sample.result);
});
