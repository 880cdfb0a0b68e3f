/**
 * `synapse-sdk/testing`, imported by its package name as a plugin author would: a real local
 * platform started by the test, a plugin folder published to it, its job actions run by the
 * platform's agent as real processes, their jobs read back.
 * Own server: starting one with startLocalPlatform() is the subject.
 */
import { rm } from 'node:fs/promises';
import { connectLocalPlatform, type LocalPlatform, startLocalPlatform } from 'synapse-sdk/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePlugin } from '../../../../test-support/job-plugin.ts';

let platform: LocalPlatform;
let dir: string;
beforeAll(async () => {
  [platform, dir] = await Promise.all([startLocalPlatform(), writePlugin()]);
});
afterAll(async () => {
  await platform?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('synapse-sdk/testing', () => {
  it('publishes a plugin folder, runs a job action to its end and reads its job', async () => {
    const release = await platform.publishPlugin(dir);
    expect(release).toMatchObject({
      release_id: expect.any(Number),
      code: 'executor-demo',
      version: '1.0.0',
    });

    const { job, result } = await platform.runAction('executor-demo', 'train', { steps: 3 });
    expect(result).toEqual({ epochs: 3 });
    expect(job).toMatchObject({ status: 'SUCCEEDED', action: 'train', plugin_release: release.release_id });
    const read = await platform.readJob(job?.id as string);
    expect(read).toMatchObject({ id: job?.id, status: 'SUCCEEDED', result: { epochs: 3 } });
    expect((read.metrics_record as any).record.categories.train).toEqual({ loss: 0.25, accuracy: 0.9 });
  });

  it('hands back a failed job for the test to assert on', async () => {
    const { job, result } = await platform.runAction('executor-demo', 'fail');
    expect(job?.status).toBe('FAILED');
    expect(result).toBeNull();
  });

  it('connects to a running platform without owning it', async () => {
    const other = connectLocalPlatform(platform.address);
    const [, count] = await other.client.listPluginReleases();
    expect(count).toBeGreaterThan(0);
    await other.close();
    // Closing a connection leaves the platform running for its owner.
    await expect(platform.client.listPluginReleases()).resolves.toBeDefined();
  });
});
