import { tmpdir } from 'node:os';
/**
 * #13 item 6: a serve replica is not an action run. Its instance gets a `ServeReplicaContext`
 * (env, logger, backend client), not a `BaseAction` with an empty `RuntimeContext`; only the class's
 * static side runs as the plugin's `inference` action.
 */
import { describe, expect, it } from 'vitest';
import {
  BaseAction,
  BaseServeDeployment,
  ENV,
  isServeDeploymentClass,
  PluginEnvironment,
  RuntimeError,
  serveReplicaContext,
} from '../../src/index.ts';
import { isActionClass } from '../../src/plugins/action.ts';
import { isActionExport } from '../../src/plugins/entrypoint.ts';
import { NoOpLogger } from '../../src/plugins/logging/noop.ts';

class Echo extends BaseServeDeployment {
  override async infer(body: unknown) {
    return body;
  }
}

describe('ServeReplicaContext', () => {
  it('is what a replica has: no action instance, still an action class for the framework', () => {
    const replica = new Echo('http://backend.test', {
      env: new PluginEnvironment({ A: '1' }),
      logger: new NoOpLogger(),
      client: null,
      scratchDir: tmpdir(),
    });
    expect(replica).not.toBeInstanceOf(BaseAction);
    expect('params' in replica || 'ctx' in replica).toBe(false);
    expect(replica.env.get('A')).toBe('1');
    expect(() => replica.client).toThrow(RuntimeError);
    // Run as an action, the class calls its deployed app (inference.md §6).
    expect(isActionClass(Echo) && isActionExport(Echo) && isServeDeploymentClass(Echo)).toBe(true);
    expect(Echo.actionName).toBe('inference');
  });

  it("comes from the replica's environment: a client only for a run user token", async () => {
    const without = serveReplicaContext('http://backend.test', { OTHER: 'x' });
    expect(without.client).toBeNull();
    expect(without.env.get('OTHER')).toBe('x');

    const onBackendUrl = serveReplicaContext('http://backend.test', { [ENV.runUserToken.name]: 'tok' });
    expect(onBackendUrl.client?.baseUrl).toBe('http://backend.test');
    await onBackendUrl.client?.close();

    const onRunHost = serveReplicaContext('http://backend.test', {
      [ENV.runUserToken.name]: 'tok',
      [ENV.runHost.name]: 'http://run-host.test/',
    });
    expect(onRunHost.client?.baseUrl).toBe('http://run-host.test');
    await onRunHost.client?.close();
  });

  it('defaults to the process environment when a subclass forwards only backendUrl', async () => {
    const replica = new Echo('http://backend.test');
    expect(replica.backendUrl).toBe('http://backend.test');
    expect(replica.env.get('PATH')).toBe(process.env.PATH);
    await replica.disposeModels();
  });
});
