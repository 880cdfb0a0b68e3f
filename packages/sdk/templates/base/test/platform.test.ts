import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLocalPlatform } from 'synapse-sdk/testing';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
// The local platform is the optional package synapse-devserver: `npm install --save-dev synapse-devserver`.
const devserver = await import('synapse-devserver').then(
  () => null,
  () => 'synapse-devserver is not installed',
);

test('{{action}} runs as a job on a local platform', { skip: devserver ?? false }, async () => {
  const platform = await startLocalPlatform();
  try {
    await platform.publishPlugin(pluginDir);
    const { job, result } = await platform.runAction('{{code}}', '{{action}}', {{sampleParams}});
    assert.equal(job?.status, 'SUCCEEDED');
    assert.deepEqual(result, {{sampleResult}});
  } finally {
    await platform.close();
  }
});
