/**
 * The example on the shared local platform: real photos' boxes (detector-like, with a confidence)
 * exported to COCO on a folder storage, the low-confidence ones left out, the images beside.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromCoco, runPlugin } from 'synapse-sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rectanglesPng } from '../../../packages/devserver/src/png.ts';
import { useSharedPlatform } from '../../../test-support/harness.ts';

const h = useSharedPlatform();
const PLUGIN = join(import.meta.dirname, '..');
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'export-coco-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const fixtures = (body: Record<string, unknown[]>): Promise<Record<string, number[]>> =>
  h.admin('POST', '_emulator/fixtures', body);

it('exports the boxes at or above min_confidence as COCO, with the images', async () => {
  const dir = join(root, 'storage');
  await mkdir(dir);
  const [storage] = (
    await fixtures({ storages: [{ name: 'out', provider: 'file_system', configuration: { location: dir } }] })
  ).storages;
  const [collection] = (
    await fixtures({
      data_collections: [
        { name: 'Photos', file_specifications: [{ name: 'image_1', file_type: 'image', is_primary: true }] },
      ],
    })
  ).data_collections;
  const [project] = (await fixtures({ projects: [{ title: 'Photos', data_collection: collection }] }))
    .projects;
  const box = (id: string, x: number, confidence: number) => ({
    id,
    class_id: 1,
    type: 'bbox',
    coordinates: { x, y: 2, width: 10, height: 12 },
    properties: { label: 'person', confidence },
  });
  for (const [i, objects] of [[box('a', 1, 0.9), box('b', 20, 0.3)], [box('c', 5, 0.6)]].entries()) {
    const path = join(root, `photo_${i}.png`);
    await writeFile(path, rectanglesPng(48, 32, [200, 200, 200], []));
    const file = await h.client.createDataFile(path);
    const unit = await h.client.createDataUnits({
      data_collection: collection,
      meta: { filename: `photo_${i}.png`, width: 48, height: 32 },
      files: { image_1: { checksum: file.checksum, path: file.file } },
    });
    await fixtures({ tasks: [{ project, data_unit: unit.id, data: { objects } }] });
  }
  const params = { name: 'photos-coco', storage, target: 'task', filter: { project }, min_confidence: 0.5 };
  const result = await runPlugin(PLUGIN, 'export', params, { mode: 'local', client: h.client });
  expect(result).toMatchObject({
    exported_count: 2,
    failed_count: 0,
    total_count: 2,
    output_path: 'photos-coco',
  });
  const coco = JSON.parse(await readFile(join(dir, 'photos-coco/annotations.json'), 'utf8'));
  expect(coco.annotations.map((a: { bbox: number[] }) => a.bbox[0])).toEqual([1, 5]);
  expect(coco.annotations[0].attributes).toEqual({ confidence: 0.9 });
  expect(fromCoco(coco).problems).toEqual([]);
  expect((await readdir(join(dir, 'photos-coco/images'))).sort()).toEqual(['photo_0.png', 'photo_1.png']);
});
