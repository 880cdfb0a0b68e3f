/** Small real serve plugins for the serving and ToTask tests: their sources, and helpers to publish them. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { BackendClient } from 'synapse-sdk';

/** Width and height from a PNG's IHDR: a real (if tiny) model of the image. */
export const BOX_PROPOSER = `import { BaseServeDeployment } from 'synapse-sdk';

export class BoxProposer extends BaseServeDeployment {
  override async infer(body: { image_path: string; label?: string }) {
    const png = Buffer.from(await (await fetch(body.image_path)).arrayBuffer());
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    return {
      objects: [{
        id: 'box_1',
        class_id: 1,
        type: 'bbox',
        coordinates: { x: 0, y: 0, width, height },
        properties: { label: body.label ?? 'object' },
      }],
    };
  }
}
`;

/** A `deployment` action that deploys `exportName` of `./serve.ts` with the SDK's default steps. */
export const defaultDeploy = (exportName: string) => `import { BaseDeploymentAction } from 'synapse-sdk';
import { ${exportName} } from './serve.ts';

export class Deploy extends BaseDeploymentAction {
  static override entrypoint = ${exportName};
}
`;

/**
 * Publishes release `<code>@1.0.0` whose `inference` serve action is class `exportName` of
 * `serveModule` (as `plugin/serve.ts`), CPU only, deployed by its `deployment` action
 * `deployModule` (as `plugin/deploy.ts`), with the archive written under `dir`. The archive
 * holds the config too, as a published plugin's does.
 */
export async function publishPreProcessor(
  client: BackendClient,
  dir: string,
  code: string,
  serveModule: string,
  exportName: string,
  deployModule = defaultDeploy(exportName),
) {
  const config = {
    name: code,
    code,
    version: '1.0.0',
    category: 'neural_net',
    description: '',
    actions: {
      deployment: { entrypoint: 'plugin.deploy.Deploy', method: 'job' },
      inference: {
        entrypoint: `plugin.serve.${exportName}`,
        method: 'serve',
        required_resources: { required_cpu_count: 1, required_gpu_count: 0 },
      },
    },
  };
  const zip = join(dir, `${code}.zip`);
  await writeFile(
    zip,
    zipSync({
      // JSON is YAML: the config as the plugin's own `config.yaml`.
      'config.yaml': strToU8(JSON.stringify(config, null, 2)),
      'plugin/serve.ts': strToU8(serveModule),
      'plugin/deploy.ts': strToU8(deployModule),
    }),
  );
  return client.createPluginRelease({ plugin: code, version: '1.0.0', config }, { file: zip });
}

/** A serve deployment answering with the `name` in its model's `weights.json`; `constructorBody` runs in its constructor. */
export const echoServe = (constructorBody = '') => `import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseServeDeployment } from 'synapse-sdk';

export class EchoServe extends BaseServeDeployment {
  constructor(backendUrl: string) {
    super(backendUrl);
    ${constructorBody}
  }
  protected override async _getModel(info: { path: string }) {
    return JSON.parse(await readFile(join(info.path, 'weights.json'), 'utf8'));
  }
  override async infer(body: unknown) {
    const model = (await this.getModel()) as { name: string };
    return { model: model.name, pid: process.pid, input: body };
  }
}
`;

/** A plugin folder serving `EchoServe` through its own deployment action. */
export const ECHO_PLUGIN: Record<string, string> = {
  'config.yaml': `name: Echo Serve
version: 1.0.0
category: neural_net
description: serves the name stored in each model
actions:
  deployment:
    entrypoint: plugin.deploy.Deploy
    method: job
  inference:
    entrypoint: plugin.serve.EchoServe
    method: serve
`,
  'plugin/serve.ts': echoServe(),
  'plugin/deploy.ts': `import { BaseDeploymentAction } from 'synapse-sdk';
import { EchoServe } from './serve.ts';

export class Deploy extends BaseDeploymentAction<{ num_replicas?: number; num_cpus?: number }> {
  static override entrypoint = EchoServe;
  async execute() {
    await this.deploy();
    return { app: this.getServeAppName(), route_prefix: this.getRoutePrefix() };
  }
}
`,
};

/** Writes `files` (relative path → text) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
}

/** A model whose archive holds `weights.json` with `name` (what `EchoServe` answers). */
export async function echoModel(client: BackendClient, dir: string, name: string): Promise<number> {
  const zip = join(dir, `${name}.zip`);
  await writeFile(zip, zipSync({ 'weights.json': strToU8(JSON.stringify({ name })) }));
  return (await client.createModel({ name, file: zip })).id;
}
