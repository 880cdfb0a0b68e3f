/**
 * Storage providers: `openStorage(storage)` gives the files of a platform storage record (from
 * `client.getStorage(id)`, which carries its `configuration`) behind one interface. Which
 * provider values are supported, and the configuration keys each reads, are listed in PROVIDERS.
 */
import type { Storage } from 'synapse-core';
import { LocalStorage } from './local.ts';
import { StorageError, type StorageProvider, storageLabel } from './provider.ts';

export { LocalStorage } from './local.ts';
export {
  type StorageEntry,
  StorageError,
  type StorageErrorCode,
  type StorageProvider,
  storageLabel,
  storagePath,
} from './provider.ts';

type Opener = (configuration: Record<string, unknown>, label: string) => StorageProvider;

/** A configuration value that must be a non-empty string; the message names the key, not its value. */
export function requiredString(configuration: Record<string, unknown>, key: string, label: string): string {
  const value = configuration[key];
  if (typeof value !== 'string' || value.trim() === '')
    throw new StorageError(`${label}: configuration.${key} is missing or not a string`, 'invalid');
  return value;
}

/** The providers, by the platform's `provider` value. */
const PROVIDERS: Record<string, Opener> = {
  file_system: (configuration, label) =>
    new LocalStorage(requiredString(configuration, 'location', label), label),
};

/** The provider for a storage record; a `StorageError` naming it when its provider is not supported. */
export function openStorage(storage: Storage): StorageProvider {
  const label = storageLabel(storage);
  const open = Object.hasOwn(PROVIDERS, storage.provider) ? PROVIDERS[storage.provider] : undefined;
  if (!open)
    throw new StorageError(
      `${label}: provider ${JSON.stringify(storage.provider)} is not supported (supported: ${Object.keys(PROVIDERS).join(', ')})`,
      'invalid',
    );
  return open((storage.configuration ?? {}) as Record<string, unknown>, label);
}
