/**
 * Chunked upload over real HTTP: a real file in several multi-megabyte chunks lands byte for byte
 * with the checksum `md5sum` computes; malformed chunks (short, long, cut off, without a boundary)
 * are refused with a clear error and leave the upload where it was.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestJson, useSharedPlatform } from '../../../test-support/harness.ts';

const h = useSharedPlatform();
const MiB = 1024 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synapse-chunked-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A multipart body as a client would send it: the `filename` field, then the `file` part. */
function form(file: Buffer, boundary = `----test${randomBytes(8).toString('hex')}`) {
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nbig.bin\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="chunk"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  return {
    body: Buffer.concat([head, file, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

async function putRaw(url: string, body: Buffer, contentType: string, range: string) {
  const res = await fetch(url, {
    method: 'PUT',
    headers: {
      'Synapse-Access-Token': `Token ${h.server.credentials.accessToken}`,
      'Content-Type': contentType,
      'Content-Range': range,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('chunked upload, streamed to disk', () => {
  it('assembles a multi-chunk upload of a real file with the bytes and md5 of the original', async () => {
    // 13 MiB in 5 MiB chunks: several socket reads and disk writes per chunk.
    const bytes = randomBytes(13 * MiB);
    const path = join(dir, 'weights.bin');
    await writeFile(path, bytes);
    const progress: number[] = [];
    const result = await h.client.createChunkedUpload(path, {
      chunkSize: 5 * MiB,
      onProgress: (offset) => progress.push(offset),
    });
    expect(progress).toEqual([5 * MiB, 10 * MiB, 13 * MiB]);
    const md5sum = execFileSync('md5sum', [path], { encoding: 'utf8' }).split(' ')[0];
    expect(result).toMatchObject({ checksum: md5sum, size: bytes.length });
    const stored = Buffer.from(await (await fetch(result.file)).arrayBuffer());
    expect(stored.equals(bytes)).toBe(true);
    const state = await requestJson(h.server, 'GET', `chunked_upload/${result.id}/`);
    expect(state.body).toMatchObject({ status: 2, offset: bytes.length });
  });

  it('refuses short, long and cut-off chunks clearly, keeping the upload where it was', async () => {
    const bytes = randomBytes(3 * MiB);
    const [a, b] = [bytes.subarray(0, 2 * MiB), bytes.subarray(2 * MiB)];
    const first = form(a);
    const start = await putRaw(
      `${h.server.url}/chunked_upload/`,
      first.body,
      first.contentType,
      `bytes 0-${2 * MiB - 1}/${3 * MiB}`,
    );
    expect(start.status).toBe(200);
    const url = start.body.url as string;
    const range = `bytes ${2 * MiB}-${3 * MiB - 1}/${3 * MiB}`;
    const invalidRange = { status: 400, body: { detail: 'Invalid Content-Range' } };

    const short = form(b.subarray(1));
    expect(await putRaw(url, short.body, short.contentType, range)).toEqual(invalidRange);
    // Refused once the part passes its range; the rest of the body is read and dropped.
    const long = form(Buffer.concat([b, randomBytes(3 * MiB)]));
    expect(await putRaw(url, long.body, long.contentType, range)).toEqual(invalidRange);
    // The whole chunk is there but the body stops before the closing boundary.
    const whole = form(b);
    const cut = whole.body.subarray(0, whole.body.length - 10);
    expect(await putRaw(url, cut, whole.contentType, range)).toEqual({
      status: 400,
      body: {
        detail: 'Multipart form parse error - Part terminated early due to unexpected end of multipart data',
      },
    });
    expect(await putRaw(url, whole.body, 'multipart/form-data', range)).toEqual({
      status: 400,
      body: { detail: 'Multipart form parse error - Multipart: Boundary not found' },
    });
    const noFile = Buffer.from(
      '--x\r\nContent-Disposition: form-data; name="filename"\r\n\r\nbig.bin\r\n--x--\r\n',
    );
    expect(await putRaw(url, noFile, 'multipart/form-data; boundary=x', range)).toEqual({
      status: 400,
      body: { file: ['No file was submitted.'] },
    });

    const state = await requestJson(h.server, 'GET', `chunked_upload/${start.body.id}/`);
    expect(state.body).toMatchObject({ offset: 2 * MiB, status: 1 });
    const rest = await putRaw(url, whole.body, whole.contentType, range);
    expect(rest).toMatchObject({ status: 200, body: { offset: 3 * MiB } });
    const md5 = createHash('md5').update(bytes).digest('hex');
    const done = await requestJson(h.server, 'POST', `chunked_upload/${start.body.id}/`, { md5 });
    expect(done.body).toMatchObject({ checksum: md5, size: bytes.length });
    expect(Buffer.from(await (await fetch(done.body.file)).arrayBuffer()).equals(bytes)).toBe(true);
  });
});
