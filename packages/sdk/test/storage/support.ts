/** What the storage providers' tests share: streams of known content, listings, secret checks. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { inspect } from 'node:util';
import { expect } from 'vitest';
import type { StorageEntry, StorageProvider } from '../../src/index.ts';

/** `size` bytes made from `seed` (SHA-256 blocks chained), in 64 KiB chunks. */
function* pattern(size: number, seed: string): Generator<Buffer> {
  let block = createHash('sha256').update(seed).digest();
  for (let made = 0; made < size; ) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, size - made));
    for (let at = 0; at < chunk.length; at += block.length) {
      block.copy(chunk, at);
      block = createHash('sha256').update(block).digest();
    }
    made += chunk.length;
    yield chunk;
  }
}

/**
 * A stream of `size` bytes made from `seed`, and their SHA-256: large files of known content,
 * made as they are read (never held whole).
 */
export function patternStream(size: number, seed: string): { stream: Readable; sha256: string } {
  const whole = createHash('sha256');
  for (const chunk of pattern(size, seed)) whole.update(chunk);
  return { stream: Readable.from(pattern(size, seed)), sha256: whole.digest('hex') };
}

export async function collect(entries: AsyncIterable<StorageEntry>): Promise<StorageEntry[]> {
  const all: StorageEntry[] = [];
  for await (const entry of entries) all.push(entry);
  return all;
}

/**
 * None of the secrets appears anywhere in the error as it would be shown or logged: its message,
 * stack, own properties and its causes, at any depth.
 */
export function expectNoSecret(err: unknown, secrets: readonly string[]): void {
  expect(err).toBeInstanceOf(Error);
  const shown = [inspect(err, { depth: 20, showHidden: true }), JSON.stringify(err)];
  for (let e: unknown = err; e instanceof Error; e = e.cause) shown.push(e.message, e.stack ?? '');
  for (const secret of secrets) {
    for (const text of shown)
      expect(text.includes(secret), `a secret appears in ${text.slice(0, 300)}`).toBe(false);
  }
}

/**
 * What a provider's round-trip test wrote (`runs/1/big.bin` of `size` bytes with `sha256`,
 * `runs/1/a/one.json`, `runs/2.txt` of 3 bytes) reads, exists and lists back as written.
 */
export async function expectRunsBack(storage: StorageProvider, sha256: string, size: number): Promise<void> {
  const back = await buffer(await storage.read('runs/1/big.bin'));
  expect(back.length).toBe(size);
  expect(createHash('sha256').update(back).digest('hex')).toBe(sha256);
  expect(await text(await storage.read('runs/1/a/./one.json'))).toBe('{"x":1}');
  expect(await storage.exists('runs/2.txt')).toBe(true);
  expect(await storage.exists('runs/1')).toBe(false);
  expect(await storage.exists('runs/none.txt')).toBe(false);
  expect(await collect(storage.list('runs'))).toEqual([
    { path: 'runs/1/a/one.json', size: 7 },
    { path: 'runs/1/big.bin', size },
    { path: 'runs/2.txt', size: 3 },
  ]);
  expect(await collect(storage.list('runs', { recursive: false }))).toEqual([
    { path: 'runs/2.txt', size: 3 },
  ]);
  expect(await collect(storage.list('nothing/here'))).toEqual([]);
}
