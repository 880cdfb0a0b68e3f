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
  // A task holding the sample's submitted data, loaded as a fixture of the local platform.
  const response = await fetch(`${platform.url}/_emulator/fixtures`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'synapse-access-token': `Token ${platform.address.accessToken}`,
    },
    body: JSON.stringify({ tasks: [{ id: 1, project: 1, data_unit: 1, data: sample.params.data }] }),
  });
  assert.equal(response.status, 200, await response.text());
});
after(() => platform?.close());

test(`${sample.action} rewrites a task's data on a local platform`, { skip }, async () => {
  const { job, result } = await platform.runAction(code, sample.action, {
    task: 1,
    extra: sample.params.extra,
  });
  assert.equal(job, null); // a task answers at once
  assert.deepEqual(result, sample.result);
  assert.deepEqual((await platform.client.getTask(1)).data, sample.result);
});
