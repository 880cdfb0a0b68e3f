/**
 * A published release unpacked for a run: its package.json's dependencies are linked from the
 * agent's environment, and a dependency "name" that is a path cannot reach outside the links.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BackendClient } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractRelease } from '../src/agent/job-runner.ts';
import { type DevServer, startDevServer } from '../src/index.ts';

let server: DevServer;
let client: BackendClient;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'release-extraction-'));
  server = await startDevServer({ dataDir: join(dir, 'data') });
  client = new BackendClient(server.url, { accessToken: server.credentials.accessToken });
});
afterAll(async () => {
  await client.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('extractRelease', () => {
  it('links installed dependencies and ignores names that are paths', async () => {
    const dependencies = {
      'jpeg-js': '*',
      '../..': '*',
      '../../..': '*',
      '@scope/..': '*',
      'not-installed-x': '*',
    };
    const zip = join(dir, 'release.zip');
    await writeFile(
      zip,
      zipSync({
        'package.json': strToU8(JSON.stringify({ name: 'p', dependencies })),
        'plugin/a.ts': strToU8('export const a = 1;\n'),
      }),
    );
    const config = {
      name: 'p',
      code: 'p',
      version: '1.0.0',
      category: 'neural_net',
      description: '',
      actions: {},
    };
    const { id } = await client.createPluginRelease({ plugin: 'p', version: '1.0.0', config }, { file: zip });
    const release = await server.ctx.collections.plugin_releases.get(id);

    const extracted = await extractRelease(server.ctx, release!);
    expect(existsSync(join(extracted, 'plugin', 'a.ts'))).toBe(true);
    const modules = join(server.ctx.dataDir, 'plugins', 'node_modules');
    expect(readdirSync(modules).sort()).toEqual(['jpeg-js', 'synapse-sdk']);
    expect(lstatSync(join(modules, 'jpeg-js')).isSymbolicLink()).toBe(true);
    // The server's own state is where it was.
    expect(readdirSync(server.ctx.dataDir)).toEqual(expect.arrayContaining(['db', 'media', 'plugins']));
    expect((await client.listPluginReleases())[1]).toBe(1);
  });
});
