/**
 * The client's side of a chunked upload against the local platform: the MD5 it sends is the
 * file's (the server refuses any other), and a file that changes while it is read fails with an
 * error naming it rather than uploading a mix of two versions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSharedPlatform } from '../helpers.ts';

const h = useSharedPlatform();
const MiB = 1024 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('createChunkedUpload', () => {
  it('sends the whole file in order with its MD5, hashed while chunks are on the wire', async () => {
    const bytes = randomBytes(5 * MiB + 123);
    const path = join(dir, 'model.bin');
    await writeFile(path, bytes);
    const result = await h.client.createChunkedUpload(path, { chunkSize: 2 * MiB });
    expect(result).toMatchObject({
      checksum: createHash('md5').update(bytes).digest('hex'),
      size: bytes.length,
    });
    expect(Buffer.from(await (await fetch(result.file)).arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('fails naming the file when it shrinks during the upload', async () => {
    const path = join(dir, 'shrinking.bin');
    await writeFile(path, randomBytes(3 * MiB));
    const upload = h.client.createChunkedUpload(path, {
      chunkSize: MiB,
      // After the first chunk the file loses its end: the last chunk cannot be read whole.
      // (synchronously, so it happens before the next read is started).
      onProgress: (offset) => {
        if (offset === MiB) truncateSync(path, 2 * MiB + 10);
      },
    });
    await expect(upload).rejects.toThrow(`File changed during upload: ${path}`);
  });
});
