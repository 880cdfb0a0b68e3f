/** Data collections, data files and data units, and bulk upload of a collection (client.md §8.3). */
import { stat } from 'node:fs/promises';
import type {
  DataCollection,
  DataFile,
  DataUnit,
  DataUnitFile,
  DataUnitFiles,
  FileSpecification,
} from 'synapse-core';
import { AdaptiveLimit } from '../adaptive-limit.ts';
import { positiveInteger } from '../concurrency.ts';
import { FileNotFoundError } from '../errors.ts';
import { LARGE_LIST, type ListResult, type PaginateOptions, paginate } from '../pagination.ts';
import { type ChunkedUploadOptions, createChunkedUpload } from '../upload.ts';
import type { QueryParams } from '../url.ts';
import type { BackendClient } from './index.ts';

export type { DataCollection, DataFile, DataUnit, DataUnitFile, DataUnitFiles, FileSpecification };

/** An uploaded data file as a data unit refers to it: `path` is the data file's `file`. */
export interface DataFileRef {
  checksum: string;
  path: string;
  index?: number;
}

export interface DataUnitCreate {
  data_collection: number;
  files: Record<string, DataFileRef | DataFileRef[]>;
  meta?: Record<string, unknown>;
}

export interface ChecksumVerification {
  existing: string[];
  missing: string[];
}

/** Local files of one data unit keyed by specification name (a list for sequential specs). */
export interface DataUnitUpload {
  files: Record<string, string | string[]>;
  meta?: Record<string, unknown>;
}

export interface DataFileUploadOptions extends ChunkedUploadOptions {
  /** Upload in chunks; by default only files larger than 50 MiB are. */
  useChunkedUpload?: boolean;
}

export interface UploadDataCollectionOptions {
  /** Create one task per new data unit in this project. */
  projectId?: number;
  /** Data units created per request (and tasks per request). */
  batchSize?: number;
  /** Data units whose files upload at the same time. */
  maxWorkers?: number;
  useChunkedUpload?: boolean;
  /** Called as each data unit's files finish uploading. */
  onProgress?: (done: number, total: number) => void;
}

export interface UploadDataCollectionResult {
  dataUnits: DataUnit[];
  tasksCreated: number;
}

const CHUNKED_UPLOAD_THRESHOLD = 50 * 1024 * 1024;

export interface DataCollectionClientMixin {
  listDataCollections(params?: QueryParams): Promise<[DataCollection[], number]>;
  /** The collection with its file specifications expanded. */
  getDataCollection(collectionId: number): Promise<DataCollection>;
  /** Uploads a local file as a data file: multipart, or in chunks when large or asked to. */
  createDataFile(filePath: string, opts?: DataFileUploadOptions): Promise<DataFile>;
  getDataUnit(unitId: number, opts?: { params?: QueryParams }): Promise<DataUnit>;
  createDataUnits(data: DataUnitCreate): Promise<DataUnit>;
  createDataUnits(data: DataUnitCreate[]): Promise<DataUnit[]>;
  listDataUnits<O extends PaginateOptions>(params?: QueryParams, opts?: O): Promise<ListResult<DataUnit, O>>;
  /** Which of these MD5 checksums the server already has data files for. */
  verifyDataFilesChecksums(checksums: string[]): Promise<ChecksumVerification>;
  /** Uploads one data unit's files and returns the body that creates the unit. */
  uploadDataFile(
    data: DataUnitUpload,
    collectionId: number,
    opts?: DataFileUploadOptions,
  ): Promise<Required<DataUnitCreate>>;
  /** Uploads many data units: files in parallel, units (and tasks) created batch by batch. */
  uploadDataCollection(
    collectionId: number,
    items: DataUnitUpload[],
    opts?: UploadDataCollectionOptions,
  ): Promise<UploadDataCollectionResult>;
}

export const dataCollectionMethods: DataCollectionClientMixin & ThisType<BackendClient> = {
  listDataCollections(params) {
    return paginate(this, 'data_collections/', params, { schema: 'dataCollectionListItem' });
  },

  getDataCollection(collectionId) {
    return this.get<DataCollection>(`data_collections/${collectionId}/`, {
      params: { expand: 'file_specifications' },
      schema: 'dataCollection',
    });
  },

  async createDataFile(filePath, opts = {}) {
    const info = await stat(filePath).catch(() => null);
    if (!info?.isFile()) throw new FileNotFoundError(`File not found: ${filePath}`);
    if (!(opts.useChunkedUpload ?? info.size > CHUNKED_UPLOAD_THRESHOLD)) {
      return this.post<DataFile>('data_files/', {
        files: { file: filePath },
        signal: opts.signal,
        schema: 'dataFile',
      });
    }
    const upload = await createChunkedUpload(this, filePath, opts);
    return this.post<DataFile>('data_files/', {
      data: { chunked_upload: upload.id },
      signal: opts.signal,
      schema: 'dataFile',
    });
  },

  getDataUnit(unitId, opts = {}) {
    return this.get<DataUnit>(`data_units/${unitId}/`, { params: opts.params, schema: 'dataUnit' });
  },

  createDataUnits(data: DataUnitCreate | DataUnitCreate[]) {
    // The server answers in kind: one unit for one, a list for a list (the overloads say which).
    return this.post<any>('data_units/', {
      data,
      schema: Array.isArray(data) ? ['dataUnit'] : 'dataUnit',
    });
  },

  listDataUnits(params, opts) {
    return paginate(this, 'data_units/', params, { ...LARGE_LIST, schema: 'dataUnit', ...opts });
  },

  verifyDataFilesChecksums(checksums) {
    return this.post<ChecksumVerification>('data_files/verify_checksums/', { data: { checksums } });
  },

  async uploadDataFile(data, collectionId, opts = {}) {
    const upload = async (path: string): Promise<DataFileRef> => {
      const file = await this.createDataFile(path, opts);
      return { checksum: file.checksum, path: file.file };
    };
    const files: Record<string, DataFileRef | DataFileRef[]> = {};
    for (const [spec, value] of Object.entries(data.files)) {
      if (!Array.isArray(value)) {
        files[spec] = await upload(value);
        continue;
      }
      const sequence: DataFileRef[] = [];
      for (const [i, path] of value.entries()) sequence.push({ ...(await upload(path)), index: i + 1 });
      files[spec] = sequence;
    }
    return { files, data_collection: collectionId, meta: data.meta ?? {} };
  },

  async uploadDataCollection(collectionId, items, opts = {}) {
    const batchSize = positiveInteger('batchSize', opts.batchSize ?? 1000);
    // At most `maxWorkers` uploads at once, fewer while the platform is slow or overloaded.
    const limit = new AdaptiveLimit({ max: positiveInteger('maxWorkers', opts.maxWorkers ?? 10) });
    const client = this.reportingLoad(limit.overloaded);
    const dataUnits: DataUnit[] = [];
    let tasksCreated = 0;
    let done = 0;
    let failed = false;
    const prepare = (item: DataUnitUpload) =>
      limit.run(async () => {
        // After a failure the batch is lost: do not start the uploads still waiting for a slot.
        if (failed) throw new Error('Upload cancelled after an earlier failure');
        try {
          const body = await client.uploadDataFile(item, collectionId, {
            useChunkedUpload: opts.useChunkedUpload,
          });
          opts.onProgress?.(++done, items.length);
          return body;
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    for (let start = 0; start < items.length; start += batchSize) {
      const bodies = await Promise.all(items.slice(start, start + batchSize).map(prepare));
      const units = await this.createDataUnits(bodies);
      dataUnits.push(...units);
      if (opts.projectId !== undefined) {
        const tasks = await this.createTasks({
          project: opts.projectId,
          data: units.map((u) => ({ data_unit: u.id })),
        });
        tasksCreated += tasks.length;
      }
    }
    return { dataUnits, tasksCreated };
  },
};
