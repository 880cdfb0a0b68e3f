/**
 * Real storage servers for a test file, started by the project's own scripts: an S3-compatible
 * server (moto, scripts/s3-server.sh) and an SFTP server (Debian's OpenSSH, scripts/sftp-server.sh),
 * each on a free loopback port with its state in a temporary folder, stopped after the file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, '..', 'scripts');

export type StorageServerKind = 's3' | 'sftp';

/** Installs the server's software if it is missing; why not when it cannot be (for a skip message). */
export async function installStorageServer(kind: StorageServerKind): Promise<string | undefined> {
  try {
    await run(join(scripts, `${kind}-server.sh`), ['install'], { maxBuffer: 16 * 1024 * 1024 });
    return undefined;
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return `${kind}-server.sh install failed (exit ${e.code}): ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

export interface StorageServer {
  /** The storage record's `configuration` that reaches this server. */
  configuration: Record<string, unknown>;
  /** The folder of its state (the SFTP server's files are under it). */
  dir: string;
}

/** Starts a server of this kind (its software installed); `stop` ends it and removes its folder. */
export async function startStorageServer(
  kind: StorageServerKind,
): Promise<StorageServer & { stop(): Promise<void> }> {
  const script = join(scripts, `${kind}-server.sh`);
  const dir = await mkdtemp(join(tmpdir(), `synapse-${kind}-`));
  const stop = async () => {
    await run(script, ['stop', dir]);
  };
  try {
    const { stdout } = await run(script, ['start', dir, String(await freePort())]);
    return { configuration: JSON.parse(stdout.trim().split('\n').pop()!), dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A server of this kind, started before the file's tests and stopped after them. */
export function useStorageServer(kind: StorageServerKind): StorageServer {
  const server = {} as StorageServer;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await startStorageServer(kind);
    server.configuration = started.configuration;
    server.dir = started.dir;
    stop = started.stop;
  });
  afterAll(async () => {
    await stop?.();
  });
  return server;
}
