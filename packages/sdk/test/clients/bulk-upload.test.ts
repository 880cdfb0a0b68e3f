import { createHash, randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DataUnit, DataUnitFile } from '../../src/index.ts';
import { useDevServer } from '../helpers.ts';

const h = useDevServer();

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

let dir: string | undefined;
async function tempFiles(...contents: Buffer[]): Promise<string[]> {
  dir ??= await mkdtemp(join(tmpdir(), 'sdk-bulk-'));
  const folder = await mkdtemp(join(dir, 'f-'));
  return Promise.all(
    contents.map(async (bytes, i) => {
      const path = join(folder, `file_${i}.bin`);
      await writeFile(path, bytes);
      return path;
    }),
  );
}

/** The devserver's presigned-upload knobs and what it observed (part size, concurrency). */
const emulator = (body?: { part_size?: number; hold_until?: number }) =>
  body ? h.admin('PATCH', '_emulator/presigned_upload', body) : h.admin('GET', '_emulator/presigned_upload');

afterEach(async () => {
  vi.useRealTimers();
  await emulator({ part_size: 8 * 1024 * 1024 });
});

async function recorded(method: string, pathPart: string): Promise<any[]> {
  const all = await h.admin('GET', '_emulator/requests');
  return all.filter((r: any) => r.method === method && r.path.includes(pathPart));
}

/** Downloads each file through a data unit that refers to it by checksum, as users do. */
async function downloadThroughDataUnits(contents: Buffer[]): Promise<DataUnitFile[]> {
  const { data_collections } = await h.admin('POST', '_emulator/fixtures', {
    data_collections: [
      {
        name: 'bulk',
        file_specifications: [{ name: 'data_1', file_type: 'data', is_primary: true, is_required: true }],
      },
    ],
  });
  const units: DataUnit[] = await h.client.createDataUnits(
    contents.map((bytes) => ({
      data_collection: data_collections[0],
      files: { data_1: { checksum: md5(bytes), path: '' } },
    })),
  );
  return Promise.all(
    units.map(async (unit, i) => {
      const file = unit.files.data_1 as DataUnitFile;
      const res = await fetch(file.url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(contents[i])).toBe(true);
      return file;
    }),
  );
}

function success(bytes: Buffer) {
  return {
    file_key: expect.any(String),
    checksum: sha1(bytes),
    success: true,
    error: null,
    data_file_id: expect.any(Number),
  };
}

describe('BulkUploadClientMixin: uploadFilesBulk', () => {
  it('uploads small files and a multipart file, byte-identical, without the client credentials', async () => {
    const partSize = 64 * 1024;
    await emulator({ part_size: partSize });
    const contents = [
      randomBytes(1000),
      Buffer.from('hello'),
      randomBytes(partSize),
      randomBytes(partSize * 3 + 123),
    ];
    const paths = await tempFiles(...contents);
    await h.admin('DELETE', '_emulator/requests');
    const progress: Array<[number, number]> = [];

    const result = await h.client.uploadFilesBulk(paths, {
      onProgress: (done, total) => progress.push([done, total]),
    });

    expect(result).toEqual({ results: contents.map(success), created_count: 4, failed_count: 0 });
    expect(progress).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    const [ask] = await recorded('POST', 'presigned_upload/upload/');
    expect(ask.body).toEqual({
      files: contents.map((c, i) => ({
        filename: basename(paths[i]),
        size: c.length,
        content_type: 'application/octet-stream',
      })),
      expiration: 3600,
    });
    // Three single PUTs, and four parts for the file larger than a part (the one of exactly a part is single).
    const puts = await recorded('PUT', '/_presigned/');
    expect(puts.map((p) => p.query.part).sort()).toEqual(['1', '1', '1', '1', '2', '3', '4']);
    for (const put of puts) {
      expect(put.query.signature).toBe('<redacted>');
      expect(put.headers).not.toHaveProperty('synapse-access-token');
    }
    expect(JSON.stringify(await h.admin('GET', '_emulator/requests'))).not.toMatch(/signature=[0-9a-f]{64}/);
    const [confirm] = await recorded('POST', 'confirm_upload/');
    expect(confirm.body.files[3]).toEqual({
      file_key: result.results[3].file_key,
      checksum: sha1(contents[3]),
      size: contents[3].length,
      multipart: {
        upload_id: expect.any(String),
        parts: [1, 2, 3, 4].map((n) => ({
          part_number: n,
          etag: `"${md5(contents[3].subarray((n - 1) * partSize, n * partSize))}"`,
        })),
      },
    });

    const files = await downloadThroughDataUnits(contents);
    expect(files.map((f) => [f.file_name_original, f.size, f.checksum])).toEqual(
      contents.map((c, i) => [basename(paths[i]), c.length, md5(c)]),
    );
    expect((await emulator()).pending).toBe(0);
  });

  it('splits the paths into batches and merges the results in order', async () => {
    const contents = Array.from({ length: 5 }, () => randomBytes(500));
    const paths = await tempFiles(...contents);
    await h.admin('DELETE', '_emulator/requests');

    const result = await h.client.uploadFilesBulk(paths, { batchSize: 2 });

    expect(result).toEqual({ results: contents.map(success), created_count: 5, failed_count: 0 });
    expect((await recorded('POST', 'presigned_upload/upload/')).map((r) => r.body.files.length)).toEqual([
      2, 2, 1,
    ]);
    expect((await recorded('POST', 'confirm_upload/')).map((r) => r.body.files.length)).toEqual([2, 2, 1]);
    await downloadThroughDataUnits(contents);
  });

  it('uploads at most maxWorkers files at once, as the server sees it', async () => {
    const paths = await tempFiles(...Array.from({ length: 9 }, () => randomBytes(2000)));
    // The server holds the PUTs until three are in flight: the peak is the client's real bound.
    await emulator({ hold_until: 3 });

    const result = await h.client.uploadFilesBulk(paths, { maxWorkers: 3 });

    expect(result.created_count).toBe(9);
    expect((await emulator()).peak).toBe(3);
  });

  it('reports a file that changes during the upload as failed, and creates the others', async () => {
    const contents = [randomBytes(3000), randomBytes(3000), randomBytes(3000)];
    const paths = await tempFiles(...contents);

    const result = await h.client.uploadFilesBulk(paths, {
      maxWorkers: 1,
      // After the first file, the last one shrinks: it no longer has the size that was presigned.
      onProgress: (done) => done === 1 && truncateSync(paths[2], 1000),
    });

    expect(result).toEqual({
      results: [
        success(contents[0]),
        success(contents[1]),
        { file_key: expect.any(String), checksum: '', success: false, error: 'File changed during upload' },
      ],
      created_count: 2,
      failed_count: 1,
    });
  });

  it('rejects invalid options and missing files before any request', async () => {
    await expect(h.client.uploadFilesBulk(['/nope/missing.bin'])).rejects.toThrow(
      'File not found: /nope/missing.bin',
    );
    await expect(h.client.uploadFilesBulk([], { maxWorkers: 0 })).rejects.toThrow(RangeError);
    expect(await h.client.uploadFilesBulk([])).toEqual({ results: [], created_count: 0, failed_count: 0 });
  });
});

describe('devserver presigned upload endpoints', () => {
  const ask = (files: Array<{ filename: string; size: number }>, expiration = 3600) =>
    h.client.post('data_files/presigned_upload/upload/', { data: { files, expiration } });
  const put = (url: string, bytes: Buffer) => fetch(url, { method: 'PUT', body: bytes });
  const refusal = async (url: string, bytes: Buffer) => {
    const res = await put(url, bytes);
    return [res.status, ((await res.json()) as { detail: string }).detail];
  };

  it('answers an S3-style ETag and refuses a tampered, expired or oversized request', async () => {
    const bytes = randomBytes(100);
    const { files, expires_at } = await ask([{ filename: 'a.bin', size: 100 }], 60);
    const url = new URL(files[0].presigned_url);
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now());

    const tampered = new URL(url);
    tampered.searchParams.set(
      'signature',
      url.searchParams.get('signature')!.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    );
    expect(await refusal(tampered.href, bytes)).toEqual([403, 'Signature does not match.']);
    const extended = new URL(url);
    extended.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    expect(await refusal(extended.href, bytes)).toEqual([403, 'Signature does not match.']);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000);
    expect(await refusal(url.href, bytes)).toEqual([403, 'Request has expired.']);
    vi.useRealTimers();
    expect(await refusal(url.href, randomBytes(101))).toEqual([413, 'Part 1 is larger than its 100 bytes.']);

    const ok = await put(url.href, bytes);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe(`"${md5(bytes)}"`);
  });

  it('confirms each file on its own: a wrong checksum or a missing part fails that file alone', async () => {
    await emulator({ part_size: 1000 });
    const { pending } = await emulator();
    const [good, wrong, split] = [randomBytes(500), randomBytes(500), randomBytes(1500)];
    const { files } = await ask([
      { filename: 'good.bin', size: 500 },
      { filename: 'wrong.bin', size: 500 },
      { filename: 'split.bin', size: 1500 },
    ]);
    expect((await put(files[0].presigned_url, good)).status).toBe(200);
    expect((await put(files[1].presigned_url, wrong)).status).toBe(200);
    const part1 = await put(files[2].multipart.parts[0].presigned_url, split.subarray(0, 1000));
    const confirm = [
      { file_key: files[0].file_key, checksum: sha1(good), size: 500 },
      { file_key: files[1].file_key, checksum: sha1(good), size: 500 },
      {
        file_key: files[2].file_key,
        checksum: sha1(split),
        size: 1500,
        multipart: {
          upload_id: files[2].multipart.upload_id,
          parts: [
            { part_number: 1, etag: part1.headers.get('etag') },
            { part_number: 2, etag: '"0"' },
          ],
        },
      },
      { file_key: 'uploads/nope/x.bin', checksum: sha1(good), size: 500 },
    ];

    const answer = await h.client.post('data_files/presigned_upload/confirm_upload/', {
      data: { files: confirm },
    });

    expect(answer).toEqual({
      results: [
        {
          file_key: files[0].file_key,
          checksum: sha1(good),
          success: true,
          error: null,
          data_file_id: expect.any(Number),
        },
        {
          file_key: files[1].file_key,
          checksum: sha1(good),
          success: false,
          error: 'SHA-1 checksum does not match the uploaded bytes.',
        },
        {
          file_key: files[2].file_key,
          checksum: sha1(split),
          success: false,
          error: 'Part 2 was not uploaded.',
        },
        {
          file_key: 'uploads/nope/x.bin',
          checksum: sha1(good),
          success: false,
          error: 'Unknown or expired file_key.',
        },
      ],
      created_count: 1,
      failed_count: 3,
    });
    // Nothing half-made: no data file for the failures, and a confirmed key cannot be confirmed again.
    expect(await h.client.verifyDataFilesChecksums([md5(good), md5(wrong), md5(split)])).toEqual({
      existing: [md5(good)],
      missing: [md5(wrong), md5(split)],
    });
    const again = await h.client.post('data_files/presigned_upload/confirm_upload/', {
      data: { files: confirm.slice(0, 1) },
    });
    expect(again.results[0].error).toBe('Unknown or expired file_key.');
    expect((await emulator()).pending).toBe(pending);
  });
});
