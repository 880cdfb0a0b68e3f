/**
 * `restapi` actions (plugins.md §2.2) served over HTTP: on a local serve gateway with a worker
 * replica (what `synapse serve` runs), and on the shared local platform (`plugins/<x>/run/`, the
 * agent's warm worker). Both validate each request body with the action's params schema and
 * answer 400 naming the field.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from '../../src/clients/errors.ts';
import { loadPluginConfig } from '../../src/plugins/config.ts';
import { publishPlugin } from '../../src/plugins/publish.ts';
import { LocalServeBackend } from '../../src/serve/local-backend.ts';
import { REST_API_MODULE, restApiActions, restApiDeployment } from '../../src/serve/rest-api.ts';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();
const TMP = join(import.meta.dirname, '../../.tmp');
let dir: string;
let code: string;

const CONFIG = (name: string) => `name: "${name}"
version: "1.0.0"
category: "data_validation"
description: "restapi actions"
actions:
  area:
    entrypoint: "plugin.area.Area"
    method: "restapi"
  hello:
    entrypoint: "plugin.area.Hello"
    method: "task"
`;

const SOURCE = `import { BaseAction, z } from 'synapse-sdk';
const Params = z.object({ width: z.number().positive(), height: z.number().positive() });
export class Area extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;
  override execute() {
    return { area: this.params.width * this.params.height };
  }
}
export class Hello extends BaseAction {
  override execute() {
    return { hello: true };
  }
}
`;

beforeAll(async () => {
  // Inside the package, so the plugin's `synapse-sdk` import resolves (as in plugin.test.ts).
  await mkdir(TMP, { recursive: true });
  dir = await mkdtemp(join(TMP, 'rest-api-'));
  code = `rest-${Math.random().toString(36).slice(2, 10)}`;
  await writeFile(join(dir, 'config.yaml'), CONFIG(code));
  await mkdir(join(dir, 'plugin'));
  await writeFile(join(dir, 'plugin/area.ts'), SOURCE);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('restapi actions on a serve gateway', () => {
  it('answer POST <prefix>/<action> with the result, and 400 naming the field of an invalid body', async () => {
    const config = await loadPluginConfig(dir);
    const actions = restApiActions(config);
    expect(actions).toEqual({ area: 'plugin.area.Area' });
    const gateway = new LocalServeBackend({ port: 0 });
    await gateway.init();
    try {
      await gateway.run({
        name: code,
        routePrefix: `/${code}`,
        deployment: restApiDeployment(actions) as never,
        initArgs: ['', { dir, actions }],
        actorOptions: {},
        serveOptions: {},
        modulePath: REST_API_MODULE,
        exportName: 'RestApiDeployment',
      });
      const post = (path: string, body: unknown) =>
        fetch(`${gateway.url}/${code}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const ok = await post('/area', { width: 3, height: 4 });
      expect(await ok.json()).toEqual({ area: 12 });
      expect(ok.status).toBe(200);

      const invalid = await post('/area', { width: 'wide' });
      expect(invalid.status).toBe(400);
      expect(await invalid.json()).toEqual({
        detail: 'Parameter validation failed: width: Input should be a valid number; height: Field required',
        params: { width: ['Input should be a valid number'], height: ['Field required'] },
      });

      const list = await post('/area', [1, 2]);
      expect(list.status).toBe(400);
      expect(((await list.json()) as { detail: string }).detail).toMatch(
        /must be a JSON object of the action's params, got a list/,
      );
      // A task action is not served.
      expect((await post('/hello', {})).status).toBe(404);
    } finally {
      await gateway.close();
    }
  });
});

describe('restapi actions on the local platform', () => {
  it('run with the request params; an invalid body answers 400 naming the field', async () => {
    await publishPlugin(dir, { client: h.client, warn: () => {} });
    const agent = h.server.credentials.agentId;
    const run = (params: Record<string, unknown>) =>
      h.client.runPlugin(code, { agent, action: 'area', params });
    expect(await run({ width: 2, height: 5 })).toEqual({ area: 10 });
    const refused = await run({ height: -1 }).catch((err: ClientError) => err);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).statusCode).toBe(400);
    expect((refused as ClientError).detail).toEqual({
      detail: expect.stringMatching(/^Parameter validation failed: width: Field required; height: /),
      params: { width: ['Field required'], height: [expect.any(String)] },
    });
  });
});
