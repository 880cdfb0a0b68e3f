import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPluginConfig } from 'synapse-sdk';
import { startLocalPlatform } from 'synapse-sdk/testing';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
const sample = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));
// The local platform is the optional package synapse-devserver: `npm install --save-dev synapse-devserver`.
const devserver = await import('synapse-devserver').then(
  () => null,
  () => 'synapse-devserver is not installed',
);

test(`${sample.action} runs as a job on a local platform`, { skip: devserver ?? false }, async () => {
  const { code } = await loadPluginConfig(pluginDir);
  const platform = await startLocalPlatform();
  try {
    await platform.publishPlugin(pluginDir);
    const { job, result } = await platform.runAction(code, sample.action, sample.params);
    assert.equal(job?.status, 'SUCCEEDED');
    assert.deepEqual(result, sample.result);
  } finally {
    await platform.close();
  }
});
