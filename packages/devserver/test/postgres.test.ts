/**
 * The devserver on a real PostgreSQL (DATABASE_URL) instead of the embedded database: a
 * throwaway cluster started by scripts/postgres.sh, the same client calls, and a restart.
 * Own server: on its own database, restarted; its model counts are the whole database's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendClient } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNED_QUERY } from '../../../test-support/harness.ts';
import { type DevServer, startDevServer } from '../src/index.ts';

const SCRIPT = join(import.meta.dirname, '../../../scripts/postgres.sh');
const dir = join(tmpdir(), `synapse-pg-${process.pid}`);
let databaseUrl: string;
let server: DevServer;
let client: BackendClient;
let modelDir: string | undefined;

beforeAll(() => {
  const port = String(20000 + (process.pid % 20000));
  databaseUrl = execFileSync(SCRIPT, ['start', dir, port], { encoding: 'utf8' }).trim();
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  execFileSync(SCRIPT, ['stop', dir]);
  if (modelDir) await rm(modelDir, { recursive: true, force: true });
});

describe('devserver on PostgreSQL', () => {
  it('serves the same API, with state kept in the database across restarts', async () => {
    server = await startDevServer({ databaseUrl });
    client = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
    modelDir = await mkdtemp(join(tmpdir(), 'pg-model-'));
    const path = join(modelDir, 'model.zip');
    await writeFile(path, Buffer.alloc(200_000, 7));
    const model = await client.createModel(
      { name: 'on-postgres', model_type: 'detection', file: path },
      { chunkSize: 50_000 },
    );
    expect(model.file).toMatch(new RegExp(String.raw`/media/models/\d+/model\.zip${SIGNED_QUERY}$`));

    const created = await client.post('_emulator/fixtures', {
      data: {
        ground_truth_dataset_versions: [{ version: 'v1' }],
        models: Array.from({ length: 150 }, (_, i) => ({
          name: `m${i}`,
          model_type: i % 3 === 0 ? 'segmentation' : 'classification',
        })),
      },
    });
    const [version] = created.ground_truth_dataset_versions;
    await client.post('_emulator/fixtures', {
      data: {
        ground_truth_events: Array.from({ length: 250 }, () => ({ ground_truth_dataset_version: version })),
      },
    });
    const [, segmentation] = await client.listModels({ model_type: 'segmentation' });
    expect(segmentation).toBe(50);
    const events = await client.listGroundTruthEvents(
      { ground_truth_dataset_versions: [version] },
      { listAll: true },
    );
    expect((await events.toArray()).length).toBe(250);

    const token = server.credentials.accessToken;
    await client.close();
    await server.close();
    server = await startDevServer({ databaseUrl });
    expect(server.credentials.accessToken).toBe(token);
    client = new BackendClient(server.url, { accessToken: token });
    expect((await client.getModel(model.id)).name).toBe('on-postgres');
  });
});
