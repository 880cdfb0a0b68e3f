/**
 * `seedDemo`: the demo project, its collection, units with real images and annotations, and tasks.
 * Own server: the demo project is one per server, seeded through its context.
 */
import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROJECT_TITLE, type DevServer, seedDemo, startDevServer } from '../src/index.ts';

let server: DevServer;

async function get(path: string): Promise<any> {
  const res = await fetch(`${server.url}/${path}`, {
    headers: { 'Synapse-Access-Token': `Token ${server.credentials.accessToken}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** Decodes an 8-bit RGB PNG without filters (what the seed writes), checking every chunk's CRC. */
function decodePng(png: Buffer) {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: Record<string, Buffer> = {};
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const typed = png.subarray(at + 4, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(typed));
    chunks[typed.subarray(0, 4).toString('ascii')] = typed.subarray(4);
    at += 12 + length;
  }
  const width = chunks.IHDR.readUInt32BE(0);
  const height = chunks.IHDR.readUInt32BE(4);
  expect([...chunks.IHDR.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
  expect(chunks.IEND).toHaveLength(0);
  const raw = inflateSync(chunks.IDAT);
  expect(raw).toHaveLength((width * 3 + 1) * height);
  const pixel = (x: number, y: number) => [
    ...raw.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 4 + x * 3),
  ];
  return { width, height, pixel };
}

beforeAll(async () => {
  server = await startDevServer();
});
afterAll(() => server.close());

describe('seedDemo', () => {
  it('creates a collection, 12 units with images and annotations, a project and pending tasks', async () => {
    const seeded = await seedDemo(server.ctx);
    expect(seeded).toEqual({ project: expect.any(Number), dataCollection: expect.any(Number), tasks: 12 });

    const project = await get(`projects/${seeded.project}/`);
    expect(project).toMatchObject({
      title: DEMO_PROJECT_TITLE,
      data_collection: seeded.dataCollection,
      task_count: 12,
    });
    const collection = await get(`data_collections/${seeded.dataCollection}/?expand=file_specifications`);
    expect(
      collection.file_specifications.map((s: any) => [s.name, s.file_type, s.is_primary, s.is_required]),
    ).toEqual([
      ['image_1', 'image', true, true],
      ['annotation_data', 'data', false, false],
    ]);

    const tasks = await get(`sdk/tasks/?project=${seeded.project}&expand=data_unit`);
    expect(tasks.count).toBe(12);
    expect(
      tasks.results.every((t: any) => t.status === 'pending' && t.data_collection === seeded.dataCollection),
    ).toBe(true);

    const checksums = new Set<string>();
    let annotated = 0;
    for (const task of tasks.results) {
      const { meta, files } = task.data_unit;
      expect(files.image_1).toMatchObject({ is_primary: true, file_name_original: meta.filename });
      const png = await download(files.image_1.url);
      expect(createHash('md5').update(png).digest('hex')).toBe(files.image_1.checksum);
      checksums.add(files.image_1.checksum);
      const image = decodePng(png);
      expect([image.width, image.height]).toEqual([meta.width, meta.height]);
      if (!files.annotation_data) continue;
      annotated++;
      expect(files.annotation_data).toMatchObject({
        is_primary: false,
        file_name_original: expect.stringMatching(/\.json$/),
      });
      const annotation = JSON.parse((await download(files.annotation_data.url)).toString());
      expect(annotation.objects.length).toBeGreaterThan(0);
      for (const [n, object] of annotation.objects.entries()) {
        expect(object).toEqual({
          id: `obj_${n + 1}`,
          class_id: expect.any(Number),
          type: 'bbox',
          coordinates: {
            x: expect.any(Number),
            y: expect.any(Number),
            width: expect.any(Number),
            height: expect.any(Number),
          },
          properties: {},
        });
        // Each box is drawn: its centre has a colour that is neither sky nor road.
        const { x, y, width, height } = object.coordinates;
        const centre = image.pixel(x + Math.floor(width / 2), y + Math.floor(height / 2));
        expect(centre).not.toEqual(image.pixel(0, 0));
        expect(centre).not.toEqual(image.pixel(0, image.height - 1));
      }
    }
    expect(annotated).toBe(9);
    expect(checksums.size).toBe(12);
  });

  it('does nothing when the demo project exists', async () => {
    const first = await seedDemo(server.ctx);
    const again = await seedDemo(server.ctx);
    expect(again).toEqual(first);
    const projects = await get(`projects/?title=${encodeURIComponent(DEMO_PROJECT_TITLE)}`);
    expect(projects.count).toBe(1);
    expect((await get('data_collections/')).count).toBe(1);
    expect((await get('data_units/')).count).toBe(12);
  });
});
