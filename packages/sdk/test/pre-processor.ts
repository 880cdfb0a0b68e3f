/** Small real pre-processor plugins for ToTask's inference method, published as releases. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { BackendClient } from '../src/index.ts';

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

/**
 * Publishes release `<code>@1.0.0` whose `inference` serve action is class `exportName` of
 * `serveModule` (as `plugin/serve.ts`), CPU only, with the archive written under `dir`.
 */
export async function publishPreProcessor(
  client: BackendClient,
  dir: string,
  code: string,
  serveModule: string,
  exportName: string,
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
  await writeFile(zip, zipSync({ 'plugin/serve.ts': strToU8(serveModule) }));
  return client.createPluginRelease({ plugin: code, version: '1.0.0', config }, { file: zip });
}
