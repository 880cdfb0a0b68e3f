/** Image bytes (JPEG or PNG) to the packed RGB pixels the detector takes. */
import { readFile, stat } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row by row. */
  data: Uint8Array;
}

/** Decoded pixels beyond this are refused: a small file can claim a huge canvas. */
const MAX_PIXELS = 64 * 1024 * 1024;

const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8;
const isPng = (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

/** Throws `Error('Unsupported image format ...')` for anything but JPEG and PNG. */
export function decodeImage(bytes: Uint8Array): RgbImage {
  if (isJpeg(bytes)) {
    const maxMemoryUsageInMB = Math.ceil((MAX_PIXELS * 4) / 1024 / 1024);
    const { width, height, data } = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      maxMemoryUsageInMB,
    });
    return { width, height, data };
  }
  if (isPng(bytes)) {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (png.width * png.height > MAX_PIXELS) throw new Error(`Image too large: ${png.width}x${png.height}`);
    return { width: png.width, height: png.height, data: rgbaToRgb(png.data, png.width, png.height) };
  }
  throw new Error('Unsupported image format (expected JPEG or PNG)');
}

/**
 * The picture scaled to `size` × `size` as floats (0-255, RGB, row by row): bilinear, source
 * position `out × in / size` (TensorFlow's resize_bilinear without align_corners or half-pixel
 * centers, as the network was trained with). One implementation for every runtime, so that they
 * all see the same input.
 */
export function resizeBilinear(image: RgbImage, size: number): Float32Array {
  const { width, height, data } = image;
  const out = new Float32Array(size * size * 3);
  // Per output column: the two source columns (as byte offsets) and the weight of the right one.
  const left = new Int32Array(size);
  const right = new Int32Array(size);
  const dx = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const source = (x * width) / size;
    const x0 = Math.floor(source);
    left[x] = x0 * 3;
    right[x] = Math.min(x0 + 1, width - 1) * 3;
    dx[x] = source - x0;
  }
  // Horizontal first, once per source row that an output row needs (consecutive output rows share
  // them when enlarging), then vertical: the same arithmetic as interpolating each pixel alone.
  const row = (y: number, into: Float64Array) => {
    const start = y * width * 3;
    for (let x = 0, o = 0; x < size; x++) {
      const l = start + left[x];
      const r = start + right[x];
      const fx = dx[x];
      for (let c = 0; c < 3; c++, o++) into[o] = data[l + c] + (data[r + c] - data[l + c]) * fx;
    }
  };
  let upper = new Float64Array(size * 3);
  let lower = new Float64Array(size * 3);
  let upperY = -1;
  let lowerY = -1;
  for (let y = 0, o = 0; y < size; y++) {
    const source = (y * height) / size;
    const y0 = Math.floor(source);
    const y1 = Math.min(y0 + 1, height - 1);
    if (y0 !== upperY) {
      if (y0 === lowerY) [upper, lower] = [lower, upper];
      else row(y0, upper);
      upperY = y0;
      lowerY = -1;
    }
    if (y1 !== lowerY) {
      row(y1, lower);
      lowerY = y1;
    }
    const dy = source - y0;
    for (let i = 0; i < size * 3; i++, o++) out[o] = upper[i] + (lower[i] - upper[i]) * dy;
  }
  return out;
}

export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/** The bytes of an http(s) URL or a local file path, at most `MAX_IMAGE_BYTES`. */
export async function readImageBytes(source: string): Promise<Uint8Array> {
  if (!/^https?:\/\//i.test(source)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source))
      throw new Error('Unsupported image URL scheme (expected http or https)');
    const info = await stat(source);
    if (info.size > MAX_IMAGE_BYTES) throw new Error(`Image exceeds ${MAX_IMAGE_BYTES} bytes`);
    return readFile(source);
  }
  const res = await fetch(source, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`Image download failed: HTTP ${res.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_IMAGE_BYTES) throw new Error(`Image exceeds ${MAX_IMAGE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function loadImage(source: string): Promise<RgbImage> {
  return decodeImage(await readImageBytes(source));
}
