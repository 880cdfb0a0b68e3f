import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isServeDeploymentClass, LocalServeBackend, loadEntrypoint, loadPluginConfig } from 'synapse-sdk';

const pluginDir = fileURLToPath(new URL('..', import.meta.url));
// The served sample: a request to the deployment and the answer it gives.
const { serve } = JSON.parse(await readFile(new URL('sample.json', import.meta.url), 'utf8'));

test(`${serve.deployment} answers the sample request on a serve gateway of its own`, async () => {
  const config = await loadPluginConfig(pluginDir);
  const { entrypoint } = config.actions[serve.deployment];
  assert.ok(entrypoint, `config.yaml gives ${serve.deployment} no entrypoint`);
  const deployment = await loadEntrypoint(entrypoint, pluginDir);
  assert.ok(isServeDeploymentClass(deployment));
  // As `synapse serve` runs it, on a free port, its replica in this process.
  const gateway = new LocalServeBackend({ port: 0 });
  await gateway.init();
  try {
    const app = { name: config.code, routePrefix: `/${config.code}`, actorOptions: {}, serveOptions: {} };
    await gateway.run({ ...app, deployment, initArgs: [''] });
    const response = await fetch(`${gateway.url}/${config.code}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(serve.request),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), serve.response);
  } finally {
    await gateway.close();
  }
});
