/**
 * Real photos for the demo, from packages already installed (nothing is downloaded): the sample
 * pictures in `@vladmandic/human`'s assets, cut out of its contact sheets and saved as JPEG.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { packagedPath } from './packaged.ts';

export interface Photo {
  name: string;
  jpeg: Buffer;
  width: number;
  height: number;
}

/** [sheet, x, y, width, height] of each photo on the sheets. */
const CUTS: Array<[string, number, number, number, number]> = [
  ['samples.jpg', 0, 0, 158, 158],
  ['samples.jpg', 166, 0, 151, 158],
  ['samples.jpg', 326, 0, 210, 158],
  ['samples.jpg', 545, 0, 89, 158],
  ['samples.jpg', 641, 0, 148, 158],
  ['samples.jpg', 797, 0, 106, 158],
  ['samples.jpg', 911, 0, 211, 158],
  ['samples.jpg', 1130, 0, 142, 158],
  ['screenshot-facedetect.jpg', 104, 83, 201, 160],
  ['screenshot-facedetect.jpg', 307, 83, 199, 160],
  ['screenshot-facedetect.jpg', 508, 121, 198, 84],
];

function crop(sheet: { width: number; data: Uint8Array }, x: number, y: number, w: number, h: number) {
  const out = Buffer.alloc(w * h * 4);
  for (let row = 0; row < h; row++) {
    const start = ((y + row) * sheet.width + x) * 4;
    out.set(sheet.data.subarray(start, start + w * 4), row * w * 4);
  }
  return out;
}

export async function demoPhotos(): Promise<Photo[]> {
  const assets = packagedPath('assets');
  const sheets = new Map<string, { width: number; data: Uint8Array }>();
  const photos: Photo[] = [];
  for (const [i, [file, x, y, width, height]] of CUTS.entries()) {
    let sheet = sheets.get(file);
    if (!sheet) {
      sheet = jpeg.decode(await readFile(join(assets, file)), { useTArray: true, formatAsRGBA: true });
      sheets.set(file, sheet);
    }
    const data = crop(sheet, x, y, width, height);
    photos.push({
      name: `photo_${String(i + 1).padStart(2, '0')}.jpg`,
      jpeg: jpeg.encode({ data, width, height }, 92).data,
      width,
      height,
    });
  }
  return photos;
}
