/**
 * #13 item 7: the serve backend a deployment runs on belongs to its run (given through the
 * executor or the runtime context), not to a process-wide setter: two runs in one process deploy
 * to two gateways, each app on its own, and each answers over HTTP from its own gateway only.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseDeploymentAction } from '../../src/actions/inference/index.ts';
import { RuntimeContext } from '../../src/plugins/context.ts';
import { PluginEnvironment } from '../../src/plugins/environment.ts';
import { BaseServeDeployment } from '../../src/serve/deployment.ts';
import { LocalServeBackend } from '../../src/serve/local-backend.ts';

class Hello extends BaseServeDeployment {
  override async infer(body: unknown) {
    return { hello: body };
  }
}

class HelloDeployment extends BaseDeploymentAction {
  static override actionName = 'deployment';
  static override entrypoint = Hello;
}

const gateways = [
  new LocalServeBackend({ host: '127.0.0.1', port: 0 }),
  new LocalServeBackend({ host: '127.0.0.1', port: 0 }),
];

beforeAll(async () => {
  await Promise.all(gateways.map((g) => g.init()));
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
});

function runOn(gateway: LocalServeBackend, release: string): RuntimeContext {
  return new RuntimeContext({
    env: new PluginEnvironment({ SYNAPSE_PLUGIN_RELEASE_CODE: release }),
    serveBackend: gateway,
  });
}

async function call(gateway: LocalServeBackend, release: string) {
  const prefix = createHash('md5').update(release).digest('hex');
  const res = await fetch(`${gateway.url}/${prefix}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ to: release }),
  });
  return { status: res.status, body: await res.json() };
}

describe('the serve backend of a run', () => {
  it('is the one its context names: two runs in one process deploy to two gateways', async () => {
    const [first, second] = gateways as [LocalServeBackend, LocalServeBackend];
    await Promise.all([
      new HelloDeployment({}, runOn(first, 'one@1.0.0')).deploy(),
      new HelloDeployment({}, runOn(second, 'two@1.0.0')).deploy(),
    ]);
    expect((await first.status('one@1.0.0'))?.status).toBe('RUNNING');
    expect((await second.status('two@1.0.0'))?.status).toBe('RUNNING');
    expect(await first.status('two@1.0.0')).toBeNull();
    expect(await second.status('one@1.0.0')).toBeNull();

    expect(await call(first, 'one@1.0.0')).toEqual({ status: 200, body: { hello: { to: 'one@1.0.0' } } });
    expect(await call(second, 'two@1.0.0')).toEqual({ status: 200, body: { hello: { to: 'two@1.0.0' } } });
    expect((await call(first, 'two@1.0.0')).status).toBe(404);
  });
});
