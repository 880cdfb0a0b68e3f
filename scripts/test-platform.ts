/**
 * Vitest global setup: one local platform for the whole run, started after the guest setup (so
 * it inherits the suite's isolated environment) and closed before the leftover check. Test files
 * that do not need a server of their own (faults, restarts, custom capacity, a data folder) reach
 * it through `useSharedPlatform()` instead of starting a devserver each: that start, 5-7 s on a
 * loaded machine, was most of a short file's time.
 */

import type { TestProject } from 'vitest/node';
import { type LocalPlatformAddress, startLocalPlatform } from '../packages/sdk/src/testing/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    localPlatform: LocalPlatformAddress;
  }
}

/**
 * Room for every deployment the files on it make at once (the default is this machine's cores): a
 * serve application one file leaves RUNNING must not deny another file's deployment. The capacity
 * gate itself is tested on servers of their own.
 */
const CAPACITY = { cpus: 64, memoryBytes: 64 * 1024 ** 3 };

export default async function setup(project: TestProject) {
  const platform = await startLocalPlatform({ devserver: { capacity: CAPACITY } });
  project.provide('localPlatform', platform.address);
  return () => platform.close();
}
