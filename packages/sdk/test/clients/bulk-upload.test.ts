/**
 * `uploadFilesBulk` (presigned, in batches, in parallel) against a real devserver (its endpoints
 * themselves: packages/devserver/test/presigned-upload.test.ts).
 * Own server: faults on the upload routes and presigned-upload settings of the server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { DataUnit, DataUnitFile } from '../../src/index.ts';
import { closedPort, useDevServer } from '../helpers.ts';

const h = useDevServer({ faults: true });

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

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The devserver's presigned-upload knobs and what it observed (part size, concurrency). */
const emulator = (body?: { part_size?: number; hold_until?: number; hold_ms?: number }) =>
  body ? h.admin('PATCH', '_emulator/presigned_upload', body) : h.admin('GET', '_emulator/presigned_upload');

/** The next requests whose path contains `path` answer `status` (or are only delayed). */
const fault = (path: string, fault: { status?: number; hang_ms?: number; body?: unknown }) =>
  h.admin('POST', '_emulator/faults', { path, ...fault });

afterEach(async () => {
  await h.admin('DELETE', '_emulator/faults');
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
    // The server holds the PUTs until three are in flight: the peak is the client's real bound. A
    // client that never gets to three fails its held uploads when the hold times out, not hangs.
    await emulator({ hold_until: 3, hold_ms: 20_000 });

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

  it('fails the held uploads when a hold is never reached, instead of hanging', async () => {
    const paths = await tempFiles(...Array.from({ length: 5 }, () => randomBytes(2000)));
    await emulator({ hold_until: 3, hold_ms: 500 });

    const result = await h.client.uploadFilesBulk(paths, { maxWorkers: 2 });

    // The held PUTs (the first two, unless the machine is very slow) fail once the hold gives up;
    // the later ones are no longer held.
    const failures = result.results.filter((r) => !r.success);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toEqual({
        file_key: expect.any(String),
        checksum: '',
        success: false,
        error: 'Upload failed with HTTP 503',
      });
    }
    expect(result.created_count).toBe(5 - failures.length);
  });

  it('reports a file that disappears during the bulk as failed, naming it', async () => {
    const contents = [randomBytes(1000), randomBytes(1000), randomBytes(1000)];
    const paths = await tempFiles(...contents);

    const result = await h.client.uploadFilesBulk(paths, {
      maxWorkers: 1,
      onProgress: (done) => done === 1 && rmSync(paths[1]),
    });

    expect(result.results[1]).toEqual({
      file_key: expect.any(String),
      checksum: '',
      success: false,
      error: `ENOENT: no such file or directory, open '${paths[1]}'`,
    });
    expect(result).toMatchObject({ created_count: 2, failed_count: 1 });
  });

  it('keeps the other batches when a presign or a confirm request fails', async () => {
    const contents = Array.from({ length: 4 }, () => randomBytes(700));
    const paths = await tempFiles(...contents);
    // Batch 1 passes, batch 2's presign fails, batch 3's confirm fails, batch 4 passes.
    await fault('presigned_upload/upload/', { hang_ms: 1 });
    await fault('presigned_upload/upload/', { status: 400, body: { detail: 'Presign refused.' } });
    await fault('presigned_upload/confirm_upload/', { hang_ms: 1 });
    await fault('presigned_upload/confirm_upload/', { status: 400, body: { detail: 'Confirm refused.' } });
    const progress: number[] = [];

    const result = await h.client.uploadFilesBulk(paths, {
      batchSize: 1,
      onProgress: (done) => progress.push(done),
    });

    expect(result).toEqual({
      results: [
        success(contents[0]),
        { file_key: '', checksum: '', success: false, error: expect.stringContaining('Presign refused.') },
        {
          file_key: expect.stringMatching(/^uploads\//),
          checksum: sha1(contents[2]),
          success: false,
          error: expect.stringContaining('Confirm refused.'),
        },
        success(contents[3]),
      ],
      created_count: 2,
      failed_count: 2,
    });
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(await h.client.verifyDataFilesChecksums(contents.map(md5))).toEqual({
      existing: [md5(contents[0]), md5(contents[3])],
      missing: [md5(contents[1]), md5(contents[2])],
    });
  });

  it('fails a file whose presigned parts do not fit its size, without uploading it', async () => {
    const paths = await tempFiles(randomBytes(3000));
    const url = `${h.server.url}/_presigned/x?part=1&expires=1&signature=x`;
    const multipart = { upload_id: 'u', part_size: 1000, parts: [{ part_number: 1, presigned_url: url }] };
    await fault('presigned_upload/upload/', { status: 200, body: { files: [{ file_key: 'k', multipart }] } });
    await h.admin('DELETE', '_emulator/requests');

    const result = await h.client.uploadFilesBulk(paths);

    expect(result.results).toEqual([
      {
        file_key: 'k',
        checksum: '',
        success: false,
        error: 'Presigned upload answered 1 of the 3 parts the file needs',
      },
    ]);
    expect(await recorded('PUT', '/_presigned/')).toEqual([]);
    expect(await recorded('POST', 'confirm_upload/')).toEqual([]);
  });

  it('reports failed PUTs without the presigned URL or its host', async () => {
    const paths = await tempFiles(randomBytes(100), randomBytes(100));
    const port = await closedPort();
    const refused = `http://127.0.0.1:${port}/bucket/a.bin?X-Amz-Signature=s3cr3t`;
    const forbidden = `${h.server.url}/_presigned/nope?part=1&expires=1&signature=s3cr3t`;
    await fault('presigned_upload/upload/', {
      status: 200,
      body: {
        files: [
          { file_key: 'a', presigned_url: refused },
          { file_key: 'b', presigned_url: forbidden },
        ],
      },
    });

    const result = await h.client.uploadFilesBulk(paths);

    expect(result.results.map((r) => r.error)).toEqual(['ECONNREFUSED', 'Upload failed with HTTP 403']);
    const errors = JSON.stringify(result);
    for (const secret of ['127.0.0.1', String(port), new URL(h.server.url).host, 's3cr3t', '/_presigned/'])
      expect(errors).not.toContain(secret);
  });

  it('refuses an empty file before any request', async () => {
    const paths = await tempFiles(randomBytes(10), Buffer.alloc(0));
    await h.admin('DELETE', '_emulator/requests');

    await expect(h.client.uploadFilesBulk(paths)).rejects.toThrow(`Cannot upload an empty file: ${paths[1]}`);
    expect(await h.admin('GET', '_emulator/requests')).toEqual([]);
  });

  it('rejects invalid options and missing files before any request', async () => {
    await expect(h.client.uploadFilesBulk(['/nope/missing.bin'])).rejects.toThrow(
      'File not found: /nope/missing.bin',
    );
    await expect(h.client.uploadFilesBulk([], { maxWorkers: 0 })).rejects.toThrow(RangeError);
    expect(await h.client.uploadFilesBulk([])).toEqual({ results: [], created_count: 0, failed_count: 0 });
  });
});
