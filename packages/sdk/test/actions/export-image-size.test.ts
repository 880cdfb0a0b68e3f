/**
 * Image sizes from the head of a file (the export's fallback when a data unit has none), and the
 * safe download's `truncate`, which fetches only that head from a real HTTP server.
 */
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { rectanglesPng } from '../../../devserver/src/png.ts';
import { IMAGE_HEAD_BYTES, imageSizeOf } from '../../src/actions/export/image-size.ts';
import { originRule, safeDownload } from '../../src/clients/safe-fetch/index.ts';

/** A baseline JPEG's head: SOI, an APP1 segment of `appBytes`, then the SOF0 frame header. */
function jpegHead(width: number, height: number, appBytes = 16): Buffer {
  const app = Buffer.alloc(4 + appBytes);
  app.writeUInt16BE(0xffe1, 0);
  app.writeUInt16BE(2 + appBytes, 2);
  const sof = Buffer.from([0xff, 0xc0, 0, 17, 8, 0, 0, 0, 0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app, sof]);
}

describe('imageSizeOf', () => {
  it('reads PNG, JPEG (after a large EXIF block), GIF, BMP and WebP headers', () => {
    expect(imageSizeOf(rectanglesPng(123, 45, [0, 0, 0], []))).toEqual({ width: 123, height: 45 });
    expect(imageSizeOf(jpegHead(640, 480, 60_000))).toEqual({ width: 640, height: 480 });
    const gif = Buffer.from('GIF89a\x20\x03\x58\x02\x00\x00\x00', 'latin1');
    expect(imageSizeOf(gif)).toEqual({ width: 800, height: 600 });
    const bmp = Buffer.alloc(30);
    bmp.write('BM', 0, 'latin1');
    bmp.writeInt32LE(31, 18);
    bmp.writeInt32LE(-17, 22); // top-down
    expect(imageSizeOf(bmp)).toEqual({ width: 31, height: 17 });
    const webp = Buffer.alloc(30);
    webp.write('RIFF', 0, 'latin1');
    webp.write('WEBPVP8X', 8, 'latin1');
    webp.writeUIntLE(1919, 24, 3);
    webp.writeUIntLE(1079, 27, 3);
    expect(imageSizeOf(webp)).toEqual({ width: 1920, height: 1080 });
  });

  it('says null for what is no image or is cut before its size', () => {
    expect(imageSizeOf(Buffer.from('{"objects": []}'))).toBeNull();
    expect(imageSizeOf(jpegHead(640, 480, 60_000).subarray(0, 1000))).toBeNull();
    expect(imageSizeOf(Buffer.alloc(0))).toBeNull();
  });
});

describe('safeDownload truncate', () => {
  it('returns the first maxBytes of a larger file instead of refusing it', async () => {
    const body = Buffer.concat([jpegHead(300, 200), Buffer.alloc(4 * IMAGE_HEAD_BYTES, 7)]);
    const server = createServer((_req, res) => {
      res.setHeader('content-length', body.length);
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/photo.jpg`;
    try {
      const rules = [originRule(url)];
      const head = await safeDownload(url, {
        rules,
        maxBytes: IMAGE_HEAD_BYTES,
        timeoutMs: 10_000,
        truncate: true,
      });
      expect(head.body.length).toBe(IMAGE_HEAD_BYTES);
      expect(imageSizeOf(head.body)).toEqual({ width: 300, height: 200 });
      await expect(
        safeDownload(url, { rules, maxBytes: IMAGE_HEAD_BYTES, timeoutMs: 10_000 }),
      ).rejects.toThrow(`file exceeds the size limit of ${IMAGE_HEAD_BYTES} bytes`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
