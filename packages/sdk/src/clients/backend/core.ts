/** Core operations shared by other families (CoreClientMixin; client.md §8.2). */
import type { ChunkedUpload } from 'synapse-core';
import { type ChunkedUploadOptions, type ChunkedUploadResult, createChunkedUpload } from '../upload.ts';
import type { BackendClient } from './index.ts';

export interface CoreClientMixin {
  createChunkedUpload(filePath: string, opts?: ChunkedUploadOptions): Promise<ChunkedUploadResult>;
  /** An upload's state; `completed_at` is set once the server has assembled the file. */
  getChunkedUpload(uploadId: string | number): Promise<ChunkedUpload>;
}

export const coreMethods: CoreClientMixin & ThisType<BackendClient> = {
  createChunkedUpload(filePath, opts) {
    return createChunkedUpload(this, filePath, opts);
  },

  getChunkedUpload(uploadId) {
    return this.get<ChunkedUpload>(`chunked_upload/${encodeURIComponent(String(uploadId))}/`, {
      schema: 'chunkedUpload',
    });
  },
};
