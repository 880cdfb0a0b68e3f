import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPlugin } from 'synapse-sdk';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
// The main action's sample: its params, the result they give, and params it refuses.
const sample = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));
// Offline: no backend client, even when you are logged in.
const options = { mode: 'local', client: null } as const;

test(`${sample.action} runs with the sample params`, async () => {
  const result = await runPlugin(pluginDir, sample.action, sample.params, options);
  assert.deepEqual(result, sample.result);
});

test(`${sample.action} rejects invalid params with a clear message`, async () => {
  await assert.rejects(
    runPlugin(pluginDir, sample.action, sample.invalid_params, options),
    /Parameter validation failed/,
  );
});
