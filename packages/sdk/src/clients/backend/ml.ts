/** Models and ground truth (MLClientMixin, seed 002; client.md §8.6). */
import { FileNotFoundError } from '../errors.ts';
import { LARGE_LIST, type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import { createChunkedUpload } from '../upload.ts';
import type { QueryParams } from '../url.ts';
import { applyUrlConversion, type UrlConversion } from '../url-conversion.ts';
import type { BackendClient } from './index.ts';

export interface Model {
  id: number;
  name: string;
  description: string;
  model_type: string | null;
  project: number | null;
  plugin: number | null;
  version: string | null;
  category: string | null;
  file: string | null;
  metrics: Record<string, unknown>;
  configuration: Record<string, unknown>;
  is_active: boolean;
  created_at: string;
  [key: string]: unknown;
}

export interface ModelCreate {
  name: string;
  description?: string;
  model_type?: string;
  project?: number;
  plugin?: number;
  version?: string;
  category?: string;
  metrics?: Record<string, unknown>;
  configuration?: Record<string, unknown>;
  is_active?: boolean;
  /** Local path of the model file, uploaded in chunks. */
  file?: string;
  [key: string]: unknown;
}

export interface GroundTruthEvent {
  id: number;
  ground_truth_dataset_version: number;
  category: string;
  data: Record<string, unknown>;
  data_unit: Record<string, unknown>;
  files: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string;
  [key: string]: unknown;
}

export interface GroundTruthVersion {
  id: number;
  version: string;
  ground_truth_dataset: { id: number; name: string; project: number | null };
  description: string;
  event_count: number;
  is_active: boolean;
  is_archived: boolean;
  statistics: Record<string, unknown>;
  created_at: string;
  [key: string]: unknown;
}

export interface GroundTruth extends GroundTruthEvent {
  ground_truth_dataset: number;
}

export interface MLClientMixin {
  listModels(params?: QueryParams): Promise<[Model[], number]>;
  getModel(modelId: number, opts?: { params?: QueryParams; urlConversion?: UrlConversion }): Promise<Model>;
  /** Uploads the model file in chunks, then creates the model referencing the upload. */
  createModel(
    data: ModelCreate,
    opts?: { file?: string; chunkSize?: number; onProgress?: (offset: number, total: number) => void },
  ): Promise<Model>;
  listGroundTruthEvents<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<GroundTruthEvent, O>>;
  listGroundTruths<O extends PaginateOptions>(
    params?: QueryParams,
    opts?: O,
  ): Promise<ListResult<GroundTruth, O>>;
  getGroundTruthVersion(versionId: number): Promise<GroundTruthVersion>;
  listGroundTruthVersions(params?: QueryParams): Promise<[GroundTruthVersion[], number]>;
}

export const mlMethods: MLClientMixin & ThisType<BackendClient> = {
  listModels(params) {
    return paginate(this, 'models/', params);
  },

  async getModel(modelId, opts = {}) {
    const model = await this.get<Model>(`models/${modelId}/`, { params: opts.params });
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
    return this.post<Model>('models/', { data: { ...body, chunked_upload: upload.id } });
  },

  listGroundTruthEvents(params, opts) {
    return paginate(this, 'sdk/ground_truth_events/', params, { ...LARGE_LIST, ...opts });
  },

  listGroundTruths(params, opts) {
    return paginate(this, 'ground_truths/', params, { ...LARGE_LIST, ...opts });
  },

  getGroundTruthVersion(versionId) {
    return this.get<GroundTruthVersion>(`ground_truth_dataset_versions/${versionId}/`);
  },

  listGroundTruthVersions(params) {
    return paginate(this, 'ground_truth_dataset_versions/', params);
  },
};
