/**
 * DataCollectionClientMixin against a real devserver: collections, files, units and collection uploads.
 * Own server: it reads the latest uploads in the recorded-request log, which carry nothing of their own to filter by.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DataUnit, FileNotFoundError, NotFoundError, ValidationError } from '../../src/index.ts';
import { SIGNED_QUERY, useDevServer } from '../helpers.ts';

const h = useDevServer();

const IMAGE_SPEC = { name: 'image_1', file_type: 'image', is_primary: true, is_required: true };
const JSON_SPEC = { name: 'annotation_data', file_type: 'data', is_primary: false, is_required: false };
const FRAMES_SPEC = { name: 'frames', file_type: 'image', is_required: false, is_sequential: true };

async function fixtures(body: Record<string, unknown[]>): Promise<Record<string, number[]>> {
  return h.admin('POST', '_emulator/fixtures', body);
}

async function collectionWith(specs: unknown[], extra: Record<string, unknown> = {}): Promise<number> {
  return (await fixtures({ data_collections: [{ name: 'C', file_specifications: specs, ...extra }] }))
    .data_collections[0];
}

let dir: string | undefined;
async function tempFile(name: string, bytes: Buffer | string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'sdk-data-'));
  const path = join(await mkdtemp(join(dir, 'f-')), name);
  await writeFile(path, bytes);
  return path;
}

const md5 = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('DataCollectionClientMixin: data collections', () => {
  it('gets a collection with every file specification field', async () => {
    const id = await collectionWith([IMAGE_SPEC, JSON_SPEC], { category: 'image', description: 'street' });
    const collection = await h.client.getDataCollection(id);
    expect(collection).toEqual({
      id,
      name: 'C',
      category: 'image',
      description: 'street',
      meta: {},
      created: expect.any(String),
      file_specifications: [
        {
          id: 1,
          name: 'image_1',
          description: '',
          file_type: 'image',
          is_required: true,
          is_primary: true,
          is_sequential: false,
          function_type: 'main',
          index: 1,
          extensions: [],
        },
        {
          id: 2,
          name: 'annotation_data',
          description: '',
          file_type: 'data',
          is_required: false,
          is_primary: false,
          is_sequential: false,
          function_type: 'sub',
          index: 1,
          extensions: [],
        },
      ],
    });
    // Without the expansion the relation is rendered as ids.
    const raw = await h.client.get(`data_collections/${id}/`);
    expect(raw.file_specifications).toEqual([1, 2]);
    await expect(h.client.getDataCollection(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists collections filtered by category and search', async () => {
    const [text, pcd] = (
      await fixtures({
        data_collections: [
          { name: 'Reviews corpus', category: 'text' },
          { name: 'Lidar', category: 'pcd', description: 'Highway SWEEPS' },
        ],
      })
    ).data_collections;
    const [texts, n] = await h.client.listDataCollections({ category: 'text' });
    expect(n).toBe(1);
    expect(texts.map((c) => c.id)).toEqual([text]);
    const [found] = await h.client.listDataCollections({ search: 'sweeps' });
    expect(found.map((c) => c.id)).toEqual([pcd]);
  });
});

describe('DataCollectionClientMixin: data files', () => {
  it('uploads a file as multipart and serves the same bytes back', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    const file = await h.client.createDataFile(await tempFile('photo 1.png', bytes));
    expect(file).toEqual({
      id: expect.any(Number),
      file: expect.stringMatching(
        new RegExp(`^${h.server.url}/media/data_files/\\w\\w/\\w+/photo_1\\.png${SIGNED_QUERY}$`),
      ),
      checksum: md5(bytes),
      size: bytes.length,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await download(file.file)).toEqual(bytes);
    const requests: Array<{ path: string; body: unknown }> = await h.admin('GET', '_emulator/requests');
    expect(requests.filter((r) => r.path === '/data_files/').at(-1)?.body).toBe('<multipart>');
  });

  it('uploads in chunks when asked to, and references the upload', async () => {
    const bytes = Buffer.alloc(200_000, 'abc');
    const progress: number[] = [];
    const file = await h.client.createDataFile(await tempFile('big.bin', bytes), {
      useChunkedUpload: true,
      chunkSize: 64 * 1024,
      onProgress: (offset) => progress.push(offset),
    });
    expect(progress).toEqual([65536, 131072, 196608, 200000]);
    expect(file).toMatchObject({ checksum: md5(bytes), size: bytes.length });
    expect(file.file).toMatch(new RegExp(String.raw`/media/data_files/.+/big\.bin${SIGNED_QUERY}$`));
    expect(await download(file.file)).toEqual(bytes);
    const requests: Array<{ path: string; body: any }> = await h.admin('GET', '_emulator/requests');
    const created = requests.filter((r) => r.path === '/data_files/').at(-1);
    expect(created?.body).toEqual({ chunked_upload: expect.any(String) });
  });

  it('rejects a missing file locally, and bad bodies on the server', async () => {
    const missing = await h.client.createDataFile('/nope/a.png').catch((e) => e);
    expect(missing).toBeInstanceOf(FileNotFoundError);
    expect(missing.message).toBe('File not found: /nope/a.png');

    const empty = await h.client.createDataFile(await tempFile('empty.txt', '')).catch((e) => e);
    expect(empty).toBeInstanceOf(ValidationError);
    expect(empty.detail).toEqual({ file: ['The submitted file is empty.'] });

    const cases: Array<[unknown, unknown]> = [
      [{}, { file: ['No file was submitted.'] }],
      [{ chunked_upload: 'nope' }, { chunked_upload: ['Invalid pk "nope" - object does not exist.'] }],
    ];
    for (const [data, detail] of cases) {
      const err = await h.client.post('data_files/', { data }).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.detail).toEqual(detail);
    }
    const wrongPart = await h.client
      .post('data_files/', { files: { upload: { data: Buffer.from('x'), filename: 'x.txt' } } })
      .catch((e) => e);
    expect(wrongPart.detail).toEqual({ file: ['No file was submitted.'] });
  });

  it('verifies which checksums the server has', async () => {
    const file = await h.client.createDataFile(await tempFile('known.txt', 'known bytes'));
    const unknown = md5('never uploaded');
    expect(await h.client.verifyDataFilesChecksums([unknown, file.checksum, unknown])).toEqual({
      existing: [file.checksum],
      missing: [unknown],
    });
    const err = await h.client.post('data_files/verify_checksums/', { data: {} }).catch((e) => e);
    expect(err.detail).toEqual({ checksums: ['This field is required.'] });
    const notList = await h.client
      .post('data_files/verify_checksums/', { data: { checksums: 'abc' } })
      .catch((e) => e);
    expect(notList.detail).toEqual({ checksums: ['Expected a list of items but got type "str".'] });
  });
});

describe('DataCollectionClientMixin: data units', () => {
  it('creates one data unit, keyed by specification, resolved by checksum', async () => {
    const collection = await collectionWith([IMAGE_SPEC, JSON_SPEC]);
    const image = await h.client.createDataFile(await tempFile('a.jpg', 'jpeg bytes'));
    const unit = await h.client.createDataUnits({
      data_collection: collection,
      meta: { filename: 'a.jpg', width: 640, height: 480 },
      files: { image_1: { checksum: image.checksum, path: image.file } },
    });
    expect(unit).toEqual({
      id: expect.any(Number),
      data_collection: collection,
      meta: { filename: 'a.jpg', width: 640, height: 480 },
      files: {
        image_1: {
          url: image.file,
          is_primary: true,
          file_name_original: 'a.jpg',
          checksum: image.checksum,
          size: 10,
        },
      },
      created: expect.any(String),
    });
    expect(await h.client.getDataUnit(unit.id, { params: { expand: 'files' } })).toEqual(unit);
    await expect(h.client.getDataUnit(999_999)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('creates an array of units, sequential specifications as indexed lists', async () => {
    const collection = await collectionWith([IMAGE_SPEC, FRAMES_SPEC]);
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map(async (n) => h.client.createDataFile(await tempFile(`${n}.png`, `frame ${n}`))),
    );
    const ref = (f: typeof a) => ({ checksum: f.checksum, path: f.file });
    const units = await h.client.createDataUnits([
      { data_collection: collection, files: { image_1: ref(a) } },
      {
        data_collection: collection,
        meta: { max_index: 2 },
        files: { image_1: ref(a), frames: [ref(b), { ...ref(c), index: 7 }] },
      },
    ]);
    expect(units).toHaveLength(2);
    expect(units[0].meta).toEqual({});
    expect(units[1].files.frames).toEqual([
      {
        url: b.file,
        is_primary: false,
        file_name_original: 'b.png',
        checksum: b.checksum,
        size: 7,
        index: 1,
      },
      {
        url: c.file,
        is_primary: false,
        file_name_original: 'c.png',
        checksum: c.checksum,
        size: 7,
        index: 7,
      },
    ]);
  });

  it('rejects units with unknown checksums or specifications, creating none', async () => {
    const collection = await collectionWith([IMAGE_SPEC, FRAMES_SPEC]);
    const image = await h.client.createDataFile(await tempFile('ok.png', 'ok'));
    const good = { checksum: image.checksum, path: image.file };
    const unknown = md5('unknown');
    const cases: Array<[unknown, unknown]> = [
      [
        [
          { data_collection: collection, files: { image_1: good } },
          { data_collection: collection, files: { image_1: { checksum: unknown, path: 'x' } } },
        ],
        { files: [`Unknown checksum: ${unknown}`] },
      ],
      [{ files: { image_1: good } }, { data_collection: ['This field is required.'] }],
      [
        { data_collection: 999_999, files: { image_1: good } },
        { data_collection: ['Invalid pk "999999" - object does not exist.'] },
      ],
      [{ data_collection: collection }, { files: ['This field is required.'] }],
      [
        { data_collection: collection, files: {} },
        { files: ['Missing required file specification: image_1'] },
      ],
      [
        { data_collection: collection, files: { image_1: good, video_1: good } },
        { files: ['Unknown file specification: video_1'] },
      ],
      [
        { data_collection: collection, files: { image_1: {} } },
        { files: ['Missing checksum for file specification: image_1'] },
      ],
      [
        { data_collection: collection, files: { image_1: [good] } },
        { files: ['File specification image_1 expects a single file'] },
      ],
      [
        { data_collection: collection, files: { image_1: good, frames: good } },
        { files: ['File specification frames expects a list of files'] },
      ],
      [
        { data_collection: collection, files: { image_1: good }, meta: [] },
        { meta: ['Value must be valid JSON object.'] },
      ],
    ];
    for (const [body, detail] of cases) {
      const err = await h.client.createDataUnits(body as any).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.detail).toEqual(detail);
    }
    const [, count] = await h.client.listDataUnits({ data_collection: collection });
    expect(count).toBe(0);
  });

  it("validates meta against the collection's data_unit_meta_schema", async () => {
    const schema = {
      type: 'object',
      required: ['width'],
      properties: {
        width: { type: 'integer' },
        weather: { type: ['string', 'null'], enum: ['sun', 'rain', null] },
      },
    };
    const collection = await collectionWith([IMAGE_SPEC], { meta: { data_unit_meta_schema: schema } });
    const image = await h.client.createDataFile(await tempFile('m.png', 'meta'));
    const files = { image_1: { checksum: image.checksum, path: image.file } };
    const unit = await h.client.createDataUnits({
      data_collection: collection,
      files,
      meta: { width: 3, weather: null },
    });
    expect(unit.meta).toEqual({ width: 3, weather: null });
    const err = await h.client
      .createDataUnits({ data_collection: collection, files, meta: { weather: 'snow' } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail).toEqual({
      meta: ["'width' is a required property", '"snow" is not one of "sun", "rain" or null'],
    });
    const wrongType = await h.client
      .createDataUnits({ data_collection: collection, files, meta: { width: '3' } })
      .catch((e) => e);
    expect(wrongType.detail).toEqual({ meta: ['"3" is not of type \'integer\''] });
  });

  it('lists data units by collection with page_size 100 by default and listAll', async () => {
    const collection = await collectionWith([IMAGE_SPEC]);
    await fixtures({
      data_units: Array.from({ length: 130 }, (_, i) => ({ data_collection: collection, meta: { i } })),
    });
    const [page, count] = await h.client.listDataUnits({ data_collection: collection });
    expect(count).toBe(130);
    expect(page).toHaveLength(100);
    const [small] = await h.client.listDataUnits({ data_collection: collection }, { pageSize: 20 });
    expect(small).toHaveLength(20);
    const [clamped] = await h.client.listDataUnits({ data_collection: collection, page_size: 500 });
    expect(clamped).toHaveLength(100);
    const all = await h.client.listDataUnits({ data_collection: collection }, { listAll: true });
    expect(all.count).toBe(130);
    const units: DataUnit[] = await all.toArray();
    expect(units.map((u) => u.meta.i)).toEqual(Array.from({ length: 130 }, (_, i) => i));
    expect(await h.client.exists('listDataUnits', { data_collection: collection })).toBe(true);
    expect(await h.client.exists('listDataUnits', { data_collection: 999_999 })).toBe(false);

    const requests: Array<{ path: string; query: Record<string, string> }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    const listed = requests.filter(
      (r) => r.path === '/data_units/' && r.query.data_collection === String(collection),
    );
    expect(listed[0].query.page_size).toBe('100');
  });
});

describe('DataCollectionClientMixin: uploading a collection', () => {
  it('uploads one unit\u2019s files and returns the body that creates it', async () => {
    const collection = await collectionWith([IMAGE_SPEC, FRAMES_SPEC]);
    const body = await h.client.uploadDataFile(
      {
        files: {
          image_1: await tempFile('main.png', 'main'),
          frames: [await tempFile('f1.png', 'one'), await tempFile('f2.png', 'two')],
        },
        meta: { max_index: 2 },
      },
      collection,
    );
    expect(body).toEqual({
      data_collection: collection,
      meta: { max_index: 2 },
      files: {
        image_1: {
          checksum: md5('main'),
          path: expect.stringMatching(new RegExp(String.raw`/main\.png${SIGNED_QUERY}$`)),
        },
        frames: [
          {
            checksum: md5('one'),
            path: expect.stringMatching(new RegExp(String.raw`/f1\.png${SIGNED_QUERY}$`)),
            index: 1,
          },
          {
            checksum: md5('two'),
            path: expect.stringMatching(new RegExp(String.raw`/f2\.png${SIGNED_QUERY}$`)),
            index: 2,
          },
        ],
      },
    });
    const unit = await h.client.createDataUnits(body);
    expect(unit.files.frames).toHaveLength(2);
  });

  it('creates units and tasks in batches, with progress', async () => {
    const collection = await collectionWith([IMAGE_SPEC, JSON_SPEC]);
    const [project] = (await fixtures({ projects: [{ title: 'Upload', data_collection: collection }] }))
      .projects;
    const items = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => ({
        files: {
          image_1: await tempFile(`img${i}.png`, `image ${i}`),
          ...(i % 2 === 0 ? { annotation_data: await tempFile(`img${i}.json`, `{"i": ${i}}`) } : {}),
        },
        meta: { i },
      })),
    );
    const progress: Array<[number, number]> = [];
    const result = await h.client.uploadDataCollection(collection, items, {
      projectId: project,
      batchSize: 2,
      maxWorkers: 2,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(result.tasksCreated).toBe(5);
    expect(result.dataUnits.map((u) => u.meta.i)).toEqual([0, 1, 2, 3, 4]);
    expect(Object.keys(result.dataUnits[0].files)).toEqual(['image_1', 'annotation_data']);
    expect(Object.keys(result.dataUnits[1].files)).toEqual(['image_1']);
    expect(progress).toEqual([1, 2, 3, 4, 5].map((n) => [n, 5]));

    const requests: Array<{ method: string; path: string; body: any }> = await h.admin(
      'GET',
      '_emulator/requests',
    );
    const batches = requests
      .filter((r) => r.method === 'POST' && r.path === '/data_units/')
      .map((r) => r.body.length);
    expect(batches.slice(-3)).toEqual([2, 2, 1]);

    const [tasks, count] = await h.client.listTasks({ project, expand: 'data_unit' });
    expect(count).toBe(5);
    const first = tasks[0].data_unit as Exclude<(typeof tasks)[0]['data_unit'], number>;
    expect(first.files.image_1).toMatchObject({ is_primary: true, file_name_original: 'img0.png' });

    // Uploading the same units again makes new units, and tasks for them only.
    const again = await h.client.uploadDataCollection(collection, items.slice(0, 1), { projectId: project });
    expect(again.tasksCreated).toBe(1);
  });

  it('rejects bad options and stops at the first failed upload', async () => {
    const collection = await collectionWith([IMAGE_SPEC]);
    await expect(h.client.uploadDataCollection(collection, [], { batchSize: 0 })).rejects.toThrow(
      'batchSize must be a positive integer',
    );
    await expect(h.client.uploadDataCollection(collection, [], { maxWorkers: 1.5 })).rejects.toThrow(
      'maxWorkers must be a positive integer',
    );
    const good = { files: { image_1: await tempFile('g.png', 'g') } };
    const err = await h.client
      .uploadDataCollection(collection, [good, { files: { image_1: '/nope/x.png' } }, good, good], {
        maxWorkers: 1,
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(FileNotFoundError);
    const [, count] = await h.client.listDataUnits({ data_collection: collection });
    expect(count).toBe(0);
  });
});
