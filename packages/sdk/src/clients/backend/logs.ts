/** Job logs (LogsClientMixin; client.md §8.5, backend-api.md §12; contract: synapse-core logs.ts). */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Log, LogItem } from 'synapse-core';
import { FileNotFoundError } from '../errors.ts';
import type { BackendClient } from './index.ts';

export type { Log, LogItem };

export interface LogsClientMixin {
  /** Sends one item or many, always as a list; a local `file` path becomes a `data:` URI. */
  createLogs(items: LogItem | LogItem[]): Promise<Log[]>;
}

/** Types of log attachments, by extension. */
const MIME_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.mp4': 'video/mp4',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
};

export async function fileToDataUri(path: string): Promise<string> {
  const mime = MIME_TYPES[extname(path).toLowerCase()];
  if (!mime) throw new Error(`Cannot determine MIME type for file: ${path}`);
  const bytes = await readFile(path).catch((err) => {
    if (err?.code === 'ENOENT') throw new FileNotFoundError(`File not found: ${path}`);
    throw err;
  });
  return `data:${mime};base64,${bytes.toString('base64')}`;
}

export const logsMethods: LogsClientMixin & ThisType<BackendClient> = {
  async createLogs(items) {
    const list = Array.isArray(items) ? items : [items];
    const body = await Promise.all(
      list.map(async (item) =>
        item.file && !item.file.startsWith('data:')
          ? { ...item, file: await fileToDataUri(item.file) }
          : item,
      ),
    );
    return this.post<Log[]>('logs/', { data: body, schema: ['log'] });
  },
};
