/**
 * The devserver's presigned-upload endpoints (S3-style): signed part URLs, ETags, refusals, the
 * per-file confirm, a part still coming in when its upload is confirmed, and the emulator's reset.
 * Own server: presigned-upload settings of the server (part size, held PUTs), its data folder, and
 * an emulator reset.
 */
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useDevServer } from '../../../test-support/harness.ts';

const h = useDevServer();

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

/** The devserver's presigned-upload knobs and what it observed (part size, concurrency). */
const emulator = (body?: { part_size?: number; hold_until?: number; hold_ms?: number }) =>
  body ? h.admin('PATCH', '_emulator/presigned_upload', body) : h.admin('GET', '_emulator/presigned_upload');

afterEach(async () => {
  vi.useRealTimers();
  await emulator({ part_size: 8 * 1024 * 1024 });
});

describe('presigned upload endpoints', () => {
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

  it('refuses a part still coming in when its upload was confirmed, and keeps no directory of it', async () => {
    const [late, other] = [randomBytes(100), randomBytes(100)];
    const { files } = await ask([
      { filename: 'late.bin', size: 100 },
      { filename: 'other.bin', size: 100 },
    ]);
    const partDir = join(h.server.ctx.dataDir, 'presigned', files[0].file_key.split('/')[1]);
    // The first PUT is held on the server until a second one comes in.
    await emulator({ hold_until: 2 });
    const latePut = put(files[0].presigned_url, late);
    while ((await emulator()).active < 1) await sleep(10);

    const confirmed = await h.client.post('data_files/presigned_upload/confirm_upload/', {
      data: { files: [{ file_key: files[0].file_key, checksum: sha1(late), size: 100 }] },
    });
    expect(confirmed.results[0]).toMatchObject({ success: false, error: 'Received 0 of 100 bytes.' });
    const otherPut = await put(files[1].presigned_url, other);

    const res = await latePut;
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe('The upload does not exist.');
    expect(otherPut.status).toBe(200);
    await expect(stat(partDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('forgets pending uploads and their parts on reset', async () => {
    await emulator({ part_size: 1000 });
    const { files } = await ask([{ filename: 'a.bin', size: 1500 }]);
    expect((await put(files[0].multipart.parts[0].presigned_url, randomBytes(1000))).status).toBe(200);
    expect((await emulator()).pending).toBeGreaterThan(0);

    await h.admin('POST', '_emulator/reset');

    expect(await emulator()).toMatchObject({ pending: 0, part_size: 8 * 1024 * 1024 });
    await expect(stat(join(h.server.ctx.dataDir, 'presigned'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await refusal(files[0].multipart.parts[1].presigned_url, randomBytes(500))).toEqual([
      404,
      'The upload does not exist.',
    ]);
  });
});
