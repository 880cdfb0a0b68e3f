/** Storages (StoragesClientMixin; client.md §8.5; contract: synapse-core storages.ts). */
import type { Storage } from 'synapse-core';
import type { BackendClient } from './index.ts';

export type { Storage };

export interface StoragesClientMixin {
  /** The storage with its `configuration`. */
  getStorage(storageId: number): Promise<Storage>;
}

export const storagesMethods: StoragesClientMixin & ThisType<BackendClient> = {
  getStorage(storageId) {
    return this.get<Storage>(`storages/${storageId}/`, {
      params: { with_configuration: true },
      schema: 'storage',
    });
  },
};
