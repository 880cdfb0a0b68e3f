/**
 * The model download of `BaseInferenceAction.downloadModel` (inference.md §1) and of a serve
 * replica's `getModel()` (§3), so it sits below both actions/ and serve/: the file is
 * streamed to disk under a size limit; a zip is extracted by the SDK's safe extraction
 * (`archive/extract.ts`: limits on entries, size and compression ratio, CRC and size checks,
 * no links or escaping paths), anything else kept as the URL's basename. All work happens in a
 * hidden sibling folder renamed onto the target only when everything succeeded: a failure
 * leaves nothing.
 */
import { createWriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fetch } from 'undici';
import { stripQuery } from '../clients/url.ts';
import { PluginError } from '../plugins/errors.ts';
import {
  buildInPlace,
  DEFAULT_EXTRACTION_LIMITS,
  type ExtractOptions,
  extractInto,
  safeRelativePath,
} from './extract.ts';

/** The download failed (HTTP, network, size); a refused archive is an `ExtractionError`. */
export class ModelArchiveError extends PluginError {}

export interface DownloadOptions extends ExtractOptions {
  maxDownloadBytes?: number;
}

export const DEFAULT_MODEL_LIMITS = {
  maxDownloadBytes: 20 * 1024 ** 3,
  ...DEFAULT_EXTRACTION_LIMITS,
} as const;

const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
const LABEL = 'Model archive';

/**
 * Downloads `url` and places the model in `targetDir` (absent or empty): the extracted archive,
 * or the file itself named after the URL. Returns the absolute target path.
 */
export async function downloadAndExtractModel(
  url: string,
  targetDir: string,
  options: DownloadOptions = {},
): Promise<string> {
  return buildInPlace(
    targetDir,
    async (work, out) => {
      const file = join(work, 'model.zip');
      await download(url, file, options);
      if (await isZip(file)) {
        const { maxDownloadBytes: _, ...extraction } = options;
        await extractInto(file, out, { label: LABEL, ...extraction });
      } else await rename(file, join(out, fileNameOf(url)));
    },
    LABEL,
  );
}

async function download(url: string, file: string, options: DownloadOptions): Promise<void> {
  const limit = options.maxDownloadBytes ?? DEFAULT_MODEL_LIMITS.maxDownloadBytes;
  // Signed URLs carry credentials in the query: messages only show the rest.
  const shown = stripQuery(url);
  const tooLarge = () => new ModelArchiveError(`Model download exceeds ${limit} bytes: ${shown}`);
  try {
    const response = await fetch(url, { signal: options.signal });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new ModelArchiveError(`Model download failed with HTTP ${response.status}: ${shown}`);
    }
    if (Number(response.headers.get('content-length')) > limit) {
      await response.body.cancel();
      throw tooLarge();
    }
    let received = 0;
    await pipeline(
      Readable.fromWeb(response.body as any),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          received += chunk.byteLength;
          if (received > limit) throw tooLarge();
          yield chunk;
        }
      },
      createWriteStream(file),
    );
  } catch (e) {
    if (e instanceof ModelArchiveError || options.signal?.aborted) throw e;
    throw new ModelArchiveError(`Model download failed: ${shown}`, {}, { cause: e });
  }
}

async function isZip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.equals(ZIP_MAGIC);
  } finally {
    await fh.close();
  }
}

/** The URL's last path segment when it is a plain file name; `model` otherwise. */
function fileNameOf(url: string): string {
  let name: string;
  try {
    name = decodeURIComponent(basename(new URL(url).pathname));
  } catch {
    return 'model';
  }
  return safeRelativePath(name) === name && !name.includes('/') ? name : 'model';
}
