import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPlugin } from 'synapse-sdk';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
// Offline: no backend client, even when you are logged in.
const options = { mode: 'local', client: null } as const;

test('{{action}} runs with the sample params', async () => {
  const result = await runPlugin(pluginDir, '{{action}}', {{sampleParams}}, options);
  assert.deepEqual(result, {{sampleResult}});
});

test('{{action}} rejects invalid params with a clear message', async () => {
  await assert.rejects(runPlugin(pluginDir, '{{action}}', {{invalidParams}}, options), /Parameter validation failed/);
});
