/**
 * Storage providers: `openStorage(storage)` gives the files of a platform storage record (from
 * `client.getStorage(id)`, which carries its `configuration`) behind one interface. Which
 * provider values are supported, and the configuration keys each reads, are listed in PROVIDERS.
 */
import type { Storage } from 'synapse-core';
import { NotFoundError } from '../clients/errors.ts';
import { HttpStorage } from './http.ts';
import { LocalStorage } from './local.ts';
import { StorageError, type StorageProvider, storageLabel } from './provider.ts';
import { S3Storage } from './s3.ts';
import { SftpStorage } from './sftp.ts';

export { HttpStorage, type HttpStorageOptions } from './http.ts';
export { LocalStorage } from './local.ts';
export {
  type StorageEntry,
  StorageError,
  type StorageErrorCode,
  type StorageProvider,
  storageLabel,
  storagePath,
} from './provider.ts';
export { S3Storage, type S3StorageOptions } from './s3.ts';
export { SftpStorage, type SftpStorageOptions } from './sftp.ts';

type Opener = (configuration: Record<string, unknown>, label: string) => StorageProvider;

/** A configuration value that must be a non-empty string; the message names the key, not its value. */
export function requiredString(configuration: Record<string, unknown>, key: string, label: string): string {
  const value = configuration[key];
  if (typeof value !== 'string' || value.trim() === '')
    throw new StorageError(`${label}: configuration.${key} is missing or not a string`, 'invalid');
  return value;
}

/** A configuration value that may be absent; when present it must be a string. */
function optionalString(
  configuration: Record<string, unknown>,
  key: string,
  label: string,
): string | undefined {
  const value = configuration[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new StorageError(`${label}: configuration.${key} is not a string`, 'invalid');
  return value;
}

/** A TCP port (a number or a numeric string, as records hold either), or the default. */
function port(configuration: Record<string, unknown>, key: string, label: string, fallback: number): number {
  const value = configuration[key];
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
    throw new StorageError(`${label}: configuration.${key} is not a port number`, 'invalid');
  return n;
}

/** An S3-compatible bucket: AWS (`amazon_s3`), MinIO, DigitalOcean Spaces; one reader of their keys. */
const s3: Opener = (configuration, label) => {
  const endpoint = optionalString(configuration, 'endpoint_url', label);
  if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
    throw new StorageError(
      `${label}: configuration.endpoint_url must start with http:// or https://`,
      'invalid',
    );
  return new S3Storage(
    {
      bucket: requiredString(configuration, 'bucket_name', label),
      accessKey: requiredString(configuration, 'access_key', label),
      secretKey: requiredString(configuration, 'secret_key', label),
      region: optionalString(configuration, 'region_name', label),
      endpoint,
    },
    label,
  );
};

const http: Opener = (configuration, label) => {
  const headers = configuration.headers ?? {};
  if (
    typeof headers !== 'object' ||
    Array.isArray(headers) ||
    !Object.values(headers as object).every((v) => typeof v === 'string')
  )
    throw new StorageError(`${label}: configuration.headers must be an object of strings`, 'invalid');
  const timeout = configuration.timeout ?? 30;
  if (typeof timeout !== 'number' || !(timeout > 0) || timeout > 3600)
    throw new StorageError(
      `${label}: configuration.timeout must be a number of seconds (at most 3600)`,
      'invalid',
    );
  return new HttpStorage(
    {
      baseUrl: requiredString(configuration, 'base_url', label),
      headers: headers as Record<string, string>,
      timeoutSeconds: timeout,
    },
    label,
  );
};

/** The providers, by the platform's `provider` value. */
const PROVIDERS: Record<string, Opener> = {
  file_system: (configuration, label) =>
    new LocalStorage(requiredString(configuration, 'location', label), label),
  amazon_s3: s3,
  minio: s3,
  digital_ocean: s3,
  sftp: (configuration, label) => {
    const password = optionalString(configuration, 'password', label);
    const privateKey = optionalString(configuration, 'private_key', label);
    if (!password && !privateKey)
      throw new StorageError(`${label}: configuration needs a password or a private_key`, 'invalid');
    return new SftpStorage(
      {
        host: requiredString(configuration, 'host', label),
        port: port(configuration, 'port', label, 22),
        username: requiredString(configuration, 'username', label),
        password,
        privateKey,
        passphrase: optionalString(configuration, 'private_key_passphrase', label),
        root: optionalString(configuration, 'root_path', label),
      },
      label,
    );
  },
  // Not among the backend's provider values (backend-api.md §13), but the Python SDK reads
  // HTTP storages under both names; read-only.
  http,
  https: http,
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

/**
 * The provider of the platform's storage `id`, reached and its credentials proven (`check`): what
 * an action opens at its start, so a storage that is unreachable or refuses the credentials fails
 * the run there, named, before any work. The caller closes it.
 */
export async function connectStorage(
  client: { getStorage(storageId: number): Promise<Storage> },
  id: number,
): Promise<StorageProvider> {
  const record = await client.getStorage(id).catch((err: unknown) => {
    if (err instanceof NotFoundError)
      throw new StorageError(`storage ${id}: no such storage on the platform`, 'not_found', { cause: err });
    throw err;
  });
  const storage = openStorage(record);
  try {
    await storage.check();
    return storage;
  } catch (err) {
    await storage.close().catch(() => {});
    throw err;
  }
}
