/**
 * The S3-compatible providers (`amazon_s3`, `minio`, `digital_ocean`): a bucket, read and written
 * with the AWS SDK v3. Keys are paths relative to the bucket's root, like the platform's Python
 * SDK reads them (`bucket_name`, `access_key`, `secret_key`, `region_name`, `endpoint_url`).
 * The AWS SDK is loaded on first use: importing it costs a third of a second, which every
 * importer of synapse-sdk would pay otherwise.
 */
import { Readable } from 'node:stream';
import type { GetObjectCommandOutput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import {
  redactedCause,
  type StorageEntry,
  StorageError,
  type StorageProvider,
  storagePath,
} from './provider.ts';

export interface S3StorageOptions {
  bucket: string;
  accessKey: string;
  secretKey: string;
  region?: string;
  /** A server other than AWS (MinIO, DigitalOcean Spaces, a local test server). */
  endpoint?: string;
  /** Connecting, in milliseconds (default 5 s). */
  connectTimeoutMs?: number;
  /** A request's silence before it is abandoned, in milliseconds (default 60 s). */
  requestTimeoutMs?: number;
}

/** Parts of a streamed upload: S3 allows 10,000 parts, so files up to ~80 GB stream through. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

type S3Sdk = typeof import('@aws-sdk/client-s3');

export class S3Storage implements StorageProvider {
  readonly writable = true;
  readonly #options: S3StorageOptions;
  readonly #bucket: string;
  readonly #secrets: string[];
  #sdk?: Promise<{ s3: S3Sdk; client: S3Client }>;

  constructor(
    options: S3StorageOptions,
    readonly label: string,
  ) {
    this.#options = options;
    this.#bucket = options.bucket;
    this.#secrets = [options.accessKey, options.secretKey];
  }

  /** The SDK and this storage's client, made on first use. */
  #connect(): Promise<{ s3: S3Sdk; client: S3Client }> {
    const o = this.#options;
    this.#sdk ??= import('@aws-sdk/client-s3').then((s3) => ({
      s3,
      client: new s3.S3Client({
        region: o.region || 'us-east-1',
        endpoint: o.endpoint,
        // Servers other than AWS seldom have a DNS name per bucket.
        forcePathStyle: o.endpoint !== undefined,
        credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secretKey },
        // Checksums only where S3 requires them: S3-compatible servers differ in the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        requestHandler: {
          connectionTimeout: o.connectTimeoutMs ?? 5_000,
          requestTimeout: o.requestTimeoutMs ?? 60_000,
        },
      }),
    }));
    return this.#sdk;
  }

  async check(): Promise<void> {
    await this.#send((s3) => new s3.HeadBucketCommand({ Bucket: this.#bucket }), '');
  }

  async write(path: string, data: string | Uint8Array | Readable): Promise<void> {
    const key = this.#key(path);
    if (!(data instanceof Readable)) {
      await this.#send((s3) => new s3.PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: data }), key);
      return;
    }
    // A stream of unknown length goes up in parts (one part is one PutObject); memory stays
    // at PART_SIZE × PARTS_IN_FLIGHT whatever the size.
    const [{ client }, { Upload }] = await Promise.all([this.#connect(), import('@aws-sdk/lib-storage')]);
    const upload = new Upload({
      client,
      params: { Bucket: this.#bucket, Key: key, Body: data },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw this.#error(err, key);
    }
  }

  async read(path: string): Promise<Readable> {
    const key = this.#key(path);
    const out = await this.#send<GetObjectCommandOutput>(
      (s3) => new s3.GetObjectCommand({ Bucket: this.#bucket, Key: key }),
      key,
    );
    if (!(out.Body instanceof Readable))
      throw new StorageError(`${this.label}: no body for ${key}`, 'invalid');
    return out.Body;
  }

  async exists(path: string): Promise<boolean> {
    const key = this.#key(path);
    if (key === '') return false;
    try {
      await this.#send((s3) => new s3.HeadObjectCommand({ Bucket: this.#bucket, Key: key }), key);
      return true;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'not_found') return false;
      throw err;
    }
  }

  async *list(prefix: string, options: { recursive?: boolean } = {}): AsyncIterable<StorageEntry> {
    const folder = this.#key(prefix);
    const Prefix = folder === '' ? '' : `${folder}/`;
    let token: string | undefined;
    do {
      const page = await this.#send<ListObjectsV2CommandOutput>(
        (s3) =>
          new s3.ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix,
            Delimiter: options.recursive === false ? '/' : undefined,
            ContinuationToken: token,
          }),
        folder,
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? '';
        // Folder markers (`a/`) are not files; keys no path can name (`a/../b`, `/x`) are left
        // out, as nothing else here could read them.
        if (key.endsWith('/') || !this.#nameable(key)) continue;
        yield { path: key, size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(path: string): Promise<void> {
    const key = this.#key(path);
    await this.#send((s3) => new s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: key }), key);
  }

  locate(path: string): string {
    const key = this.#key(path);
    return `s3://${this.#bucket}${key ? `/${key}` : ''}`;
  }

  async close(): Promise<void> {
    const sdk = this.#sdk;
    this.#sdk = undefined;
    if (sdk) (await sdk).client.destroy();
  }

  #key(path: string): string {
    return storagePath(path, this.label);
  }

  #nameable(key: string): boolean {
    try {
      return storagePath(key, this.label) === key;
    } catch {
      return false;
    }
  }

  /** One command; its output type is the caller's to name (the client's overloads do not carry through). */
  async #send<Output = unknown>(command: (s3: S3Sdk) => { input: unknown }, key: string): Promise<Output> {
    const { s3, client } = await this.#connect();
    try {
      return (await client.send(command(s3) as never)) as Output;
    } catch (err) {
      throw this.#error(err, key);
    }
  }

  /** The SDK's error as a StorageError naming the storage and the key, without credentials. */
  #error(err: unknown, key: string): StorageError {
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    const where = key ? `${key} in bucket ${this.#bucket}` : `bucket ${this.#bucket}`;
    const cause = redactedCause(err, this.#secrets);
    if (
      status === 401 ||
      status === 403 ||
      /^(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken|AuthorizationHeaderMalformed)$/.test(
        name,
      )
    )
      return new StorageError(
        `${this.label}: the server refused the credentials or access to ${where}`,
        'refused',
        {
          cause,
        },
      );
    if (name === 'NoSuchBucket' || (key === '' && status === 404))
      return new StorageError(`${this.label}: no bucket ${this.#bucket}`, 'not_found', { cause });
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound')
      return new StorageError(`${this.label}: no file ${where}`, 'not_found', { cause });
    if (status === undefined)
      // No answer at all: refused connection, unknown host, timeout.
      return new StorageError(
        `${this.label}: the server could not be reached (${(e.code ?? name) || 'network error'})`,
        'unreachable',
        { cause },
      );
    return new StorageError(`${this.label}: the server answered ${status} ${name} for ${where}`, 'invalid', {
      cause,
    });
  }
}
