import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientError, FileNotFoundError, NotFoundError, ValidationError } from '../../src/index.ts';
import { SIGNED_QUERY, useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();

async function tempFile(name: string, bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sdk-test-'));
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('ModelsClientMixin: models', () => {
  it('creates a model through a multi-chunk upload and downloads the same bytes back', async () => {
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 251;
    const path = await tempFile('model.zip', bytes);
    const progress: number[] = [];
    const [project] = (await h.admin('POST', '_emulator/fixtures', { projects: [{ title: 'P' }] })).projects;
    const model = await h.client.createModel(
      {
        name: 'Detector v2',
        model_type: 'detection',
        project,
        metrics: { accuracy: 0.92 },
        configuration: { input_size: [640, 640] },
        file: path,
      },
      { chunkSize: 64 * 1024, onProgress: (offset) => progress.push(offset) },
    );
    expect(progress).toEqual([65536, 131072, 196608, 262144, 300000]);
    expect(model).toMatchObject({
      name: 'Detector v2',
      model_type: 'detection',
      project,
      metrics: { accuracy: 0.92 },
    });
    expect(model.file).toMatch(
      new RegExp(String.raw`^http://127\.0\.0\.1:\d+/media/models/\d+/model\.zip${SIGNED_QUERY}$`),
    );
    const downloaded = Buffer.from(await (await fetch(model.file!)).arrayBuffer());
    expect(createHash('md5').update(downloaded).digest('hex')).toBe(
      createHash('md5').update(bytes).digest('hex'),
    );

    const fetched = await h.client.getModel(model.id);
    expect(fetched).toEqual(model);
    const [items, total] = await h.client.listModels({ project });
    expect(total).toBe(1);
    expect(items.map((m) => m.id)).toEqual([model.id]);
  });

  it('filters models by model_type, is_active and search', async () => {
    await h.admin('POST', '_emulator/fixtures', {
      models: [
        { name: 'cls-a', model_type: 'classification', is_active: true, description: 'fast classifier' },
        { name: 'cls-b', model_type: 'classification', is_active: false },
        { name: 'seg', model_type: 'segmentation', is_active: true },
      ],
    });
    const [cls, n] = await h.client.listModels({ model_type: 'classification' });
    expect(n).toBe(2);
    expect(cls.map((m) => m.name)).toEqual(['cls-a', 'cls-b']);
    const [active] = await h.client.listModels({ model_type: 'classification', is_active: true });
    expect(active.map((m) => m.name)).toEqual(['cls-a']);
    const [found] = await h.client.listModels({ search: 'FAST' });
    expect(found.map((m) => m.name)).toEqual(['cls-a']);
  });

  it('applies a url conversion function to the model file', async () => {
    const path = await tempFile('m.bin', Buffer.from('weights'));
    const model = await h.client.createModel({ name: 'conv', file: path });
    const converted = await h.client.getModel(model.id, {
      urlConversion: { file: (u) => `https://cdn.example.com/${new URL(u).pathname.slice(1)}` },
    });
    expect(converted.file).toBe(`https://cdn.example.com/media/models/${model.id}/m.bin`);
  });

  it('maps errors: unknown id, missing name, missing file', async () => {
    const err = await h.client.getModel(999_999).catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(ClientError);
    expect(err.statusCode).toBe(404);
    expect(err.status_code).toBe(404);
    expect(err.detail).toEqual({ detail: 'Not found.' });
    expect(err.message).toBe('404: {"detail":"Not found."}');

    const path = await tempFile('m.bin', Buffer.from('x'));
    const invalid = await h.client.createModel({ name: '', file: path }).catch((e) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.response).toEqual({ name: ['This field is required.'] });

    await expect(h.client.createModel({ name: 'x' })).rejects.toThrow('Model file is required');
    const missing = await h.client.createModel({ name: 'x', file: '/nope/model.zip' }).catch((e) => e);
    expect(missing).toBeInstanceOf(FileNotFoundError);
    expect(missing.message).toBe('Model file not found: /nope/model.zip');
  });

  it('rejects a model that references an unknown chunked upload', async () => {
    const err = await h.client
      .post('models/', { data: { name: 'x', chunked_upload: 'nope' } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.detail).toEqual({ chunked_upload: ['Invalid pk "nope" - object does not exist.'] });
  });
});
