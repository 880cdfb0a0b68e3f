/**
 * An image's size in pixels from the first bytes of its file (PNG, JPEG, GIF, BMP, WebP), for
 * exports to formats that need it (COCO, YOLO) when the platform's data unit does not say it:
 * the export fetches only the head of the file, never the whole image.
 */

/** Bytes fetched from the start of a file: enough for a JPEG whose EXIF block precedes its frame header. */
export const IMAGE_HEAD_BYTES = 256 * 1024;

export interface ImageSize {
  width: number;
  height: number;
}

/** The size, or null when the bytes are no image this knows (or are cut before the size). */
export function imageSizeOf(head: Uint8Array): ImageSize | null {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const size = png(b) ?? jpeg(b) ?? gif(b) ?? bmp(b) ?? webp(b);
  return size && size.width > 0 && size.height > 0 ? size : null;
}

function png(b: Buffer): ImageSize | null {
  // Signature, then the IHDR chunk: length, 'IHDR', width, height (big-endian).
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR')
    return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function jpeg(b: Buffer): ImageSize | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // Start-of-frame markers (baseline, progressive, lossless, ...) hold height then width.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image, start of scan: no frame header
    i += 2 + b.readUInt16BE(i + 2);
  }
  return null;
}

function gif(b: Buffer): ImageSize | null {
  if (b.length < 10 || b.toString('latin1', 0, 4) !== 'GIF8') return null;
  return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
}

function bmp(b: Buffer): ImageSize | null {
  if (b.length < 26 || b.toString('latin1', 0, 2) !== 'BM') return null;
  // A negative height is a top-down bitmap.
  return { width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) };
}

function webp(b: Buffer): ImageSize | null {
  if (b.length < 30 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') {
    return null;
  }
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  return null;
}
