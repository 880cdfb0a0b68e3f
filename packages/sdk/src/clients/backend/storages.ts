/** Storages (StoragesClientMixin; client.md §8.5; contract: synapse-core storages.ts). */
import type { Storage } from 'synapse-core';
import { listPage } from '../pagination.ts';
import type { BackendClient } from './index.ts';

export type { Storage };

export interface StoragesClientMixin {
  /** The storage with its `configuration`. */
  getStorage(storageId: number): Promise<Storage>;
  /**
   * The tenant's default internal storage (`GET storages/?category=internal`): the one marked
   * `is_default`, else the first; an `Error` when the tenant has none.
   */
  getDefaultStorage(): Promise<Storage>;
}

export const storagesMethods: StoragesClientMixin & ThisType<BackendClient> = {
  getStorage(storageId) {
    return this.get<Storage>(`storages/${storageId}/`, {
      params: { with_configuration: true },
      schema: 'storage',
    });
  },

  async getDefaultStorage() {
    const [storages] = await listPage<Storage>(
      this,
      'storages/',
      { category: 'internal' },
      { schema: 'storage' },
    );
    const found = storages.find((s) => s.is_default) ?? storages[0];
    if (!found) throw new Error('No default storage configured for tenant');
    return found;
  },
};
