/** Models (ModelsClientMixin, seed 002; client.md §8.6; contract: synapse-core models.ts). */
import type { Model, ModelCreate as ModelCreateBody } from 'synapse-core';
import { FileNotFoundError } from '../errors.ts';
import { paginate } from '../pagination.ts';
import { createChunkedUpload } from '../upload.ts';
import type { QueryParams } from '../url.ts';
import { applyUrlConversion, type UrlConversion } from '../url-conversion.ts';
import type { BackendClient } from './index.ts';

export type { Model };

/** What createModel takes: the wire body, with the model file as a local path instead of an upload id. */
export type ModelCreate = Omit<ModelCreateBody, 'chunked_upload'> & {
  /** Local path of the model file, uploaded in chunks. */
  file?: string;
};

export interface ModelsClientMixin {
  listModels(params?: QueryParams): Promise<[Model[], number]>;
  getModel(modelId: number, opts?: { params?: QueryParams; urlConversion?: UrlConversion }): Promise<Model>;
  /** Uploads the model file in chunks, then creates the model referencing the upload. */
  createModel(
    data: ModelCreate,
    opts?: { file?: string; chunkSize?: number; onProgress?: (offset: number, total: number) => void },
  ): Promise<Model>;
}

export const modelsMethods: ModelsClientMixin & ThisType<BackendClient> = {
  listModels(params) {
    return paginate(this, 'models/', params, { schema: 'model' });
  },

  async getModel(modelId, opts = {}) {
    const model = await this.get<Model>(`models/${modelId}/`, { params: opts.params, schema: 'model' });
    return applyUrlConversion(model, opts.urlConversion, false);
  },

  async createModel(data, opts = {}) {
    const { file: dataFile, ...body } = data;
    const file = opts.file ?? dataFile;
    if (!file) throw new Error('Model file is required');
    const upload = await createChunkedUpload(this, file, opts).catch((err) => {
      if (err instanceof FileNotFoundError) throw new FileNotFoundError(`Model file not found: ${file}`);
      throw err;
    });
    return this.post<Model>('models/', { data: { ...body, chunked_upload: upload.id }, schema: 'model' });
  },
};
