/** Core operations shared by other families (CoreClientMixin; client.md §8.2). */
import { type ChunkedUploadOptions, type ChunkedUploadResult, createChunkedUpload } from '../upload.ts';
import type { BackendClient } from './index.ts';

export interface CoreClientMixin {
  createChunkedUpload(filePath: string, opts?: ChunkedUploadOptions): Promise<ChunkedUploadResult>;
}

export const coreMethods: CoreClientMixin & ThisType<BackendClient> = {
  createChunkedUpload(filePath, opts) {
    return createChunkedUpload(this, filePath, opts);
  },
};
