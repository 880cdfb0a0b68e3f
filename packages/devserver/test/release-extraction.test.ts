/**
 * A published release unpacked for a run: its package.json's dependencies are linked from the
 * agent's environment, and a dependency "name" that is a path cannot reach outside the links.
 * A hostile archive (#11 item 1) is refused while the server keeps answering, leaving nothing.
 * Own server: a data folder of its own, and servers with extraction limits of their own.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { BackendClient, type Job } from 'synapse-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, textLike, type ZipEntrySpec, zeroBomb } from '../../../test-support/archives.ts';
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
  it('links installed dependencies, optional ones too, and ignores names that are paths', async () => {
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
        'package.json': strToU8(
          JSON.stringify({ name: 'p', dependencies, optionalDependencies: { pngjs: '*', '../x': '*' } }),
        ),
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
    expect(readdirSync(modules).sort()).toEqual(['jpeg-js', 'pngjs', 'synapse-sdk']);
    expect(lstatSync(join(modules, 'jpeg-js')).isSymbolicLink()).toBe(true);
    // The server's own state is where it was.
    expect(readdirSync(server.ctx.dataDir)).toEqual(expect.arrayContaining(['db', 'media', 'plugins']));
    expect((await client.listPluginReleases())[1]).toBe(1);
  });
});

const MiB = 1024 ** 2;

/** Publishes release `code@1.0.0` with a `job` action, its archive made of `entries`. */
async function publish(code: string, entries: ZipEntrySpec[]) {
  const zip = join(dir, `${code}.zip`);
  await writeFile(zip, buildZip([{ name: 'package.json', data: strToU8('{"name":"p"}') }, ...entries]));
  const config = {
    name: code,
    code,
    version: '1.0.0',
    category: 'neural_net',
    description: '',
    actions: { train: { method: 'job', entrypoint: 'plugin.train:Train' } },
  };
  const { id } = await client.createPluginRelease({ plugin: code, version: '1.0.0', config }, { file: zip });
  return (await server.ctx.collections.plugin_releases.get(id))!;
}

/**
 * Polls `GET /health/` over HTTP until `done` settles; returns the longest time between two
 * answers (from the start to the first one, and from the last one to the end, included).
 */
async function healthGaps<T>(done: Promise<T>): Promise<{ maxGap: number; answers: number; result: T }> {
  let finished = false;
  const result = done.finally(() => {
    finished = true;
  });
  let last = performance.now();
  let maxGap = 0;
  let answers = 0;
  while (!finished) {
    const response = await fetch(`${server.url}/health/`, { signal: AbortSignal.timeout(30_000) });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    answers++;
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    await new Promise((r) => setTimeout(r, 20));
  }
  maxGap = Math.max(maxGap, performance.now() - last);
  return { maxGap, answers, result: await result };
}

/** No staging or partial folder of any extraction is left in `<dataDir>/plugins`. */
function leftovers(checksum: string): string[] {
  const root = join(server.ctx.dataDir, 'plugins');
  return existsSync(root) ? readdirSync(root).filter((f) => f.startsWith('.') || f === checksum) : [];
}

describe('a hostile release archive (#11 item 1)', () => {
  it.each([
    [
      'a 1 GiB zero bomb in 1 MiB (honest headers)',
      [{ name: 'plugin/zeros.bin', deflated: zeroBomb(1024) }],
      /Plugin release archive entry "plugin\/zeros.bin" refused: compression ratio \d+:1 exceeds the limit of 100:1/,
    ],
    [
      'a 1 GiB zero bomb declaring 1 MiB',
      [{ name: 'plugin/zeros.bin', deflated: zeroBomb(1024), size: MiB }],
      `Plugin release archive entry "plugin/zeros.bin" refused: inflates beyond its declared size of ${MiB} bytes`,
    ],
    [
      'a symlink',
      [{ name: 'plugin/link', data: strToU8('/etc/passwd'), mode: 0o120777 }],
      'Plugin release archive entry "plugin/link" refused: symbolic links are not allowed',
    ],
  ] as [string, ZipEntrySpec[], string | RegExp][])(
    'fails the job run over HTTP with the rule, answering /health/ meanwhile: %s',
    async (_what, entries, message) => {
      const code = `bomb${Math.random().toString(36).slice(2, 8)}`;
      const release = await publish(code, entries);
      const run = await client.runPlugin(code, {
        agent: server.credentials.agentId,
        action: 'train',
        params: {},
      });
      const ended = (async (): Promise<Job> => {
        for (;;) {
          const job = await client.getJob(run.job_id);
          if (job.status === 'FAILED' || job.status === 'SUCCEEDED') return job;
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const { maxGap, answers, result: job } = await healthGaps(ended);
      expect(job.status).toBe('FAILED');
      // A hang guard, not a speed check: the issue saw no answer for 11 minutes; a loaded CI
      // machine may stall a second or two, never tens of seconds while the server keeps answering.
      expect(answers).toBeGreaterThan(0);
      expect(maxGap).toBeLessThan(30_000);
      expect([job.console_logs].flat().join('\n')).toMatch(message);
      expect(leftovers(release.checksum)).toEqual([]);
    },
  );

  it('still extracts a large legit release (100 MiB at an ordinary ratio), streaming', async () => {
    const data = textLike(100 * MiB, 7);
    const release = await publish('large', [{ name: 'plugin/data.txt', data }]);
    const { result: extracted } = await healthGaps(extractRelease(server.ctx, release));
    expect((await readFile(join(extracted, 'plugin', 'data.txt'))).equals(data)).toBe(true);
    expect(leftovers(release.checksum)).toEqual([release.checksum]);
  });

  it('refuses a bad limit when the server starts', async () => {
    await expect(startDevServer({ extractionLimits: { maxRatio: 0 } })).rejects.toThrow(
      'Invalid extraction limit maxRatio: 0',
    );
  });

  it('raised limits let a highly compressible release through', async () => {
    const release = await publish('dense', [{ name: 'plugin/zeros.bin', deflated: zeroBomb(8) }]);
    await expect(extractRelease(server.ctx, release)).rejects.toThrow(/exceeds the limit of 100:1/);
    const raised = { ...server.ctx, extractionLimits: { maxRatio: 2000 } };
    const extracted = await extractRelease(raised, release);
    expect(readdirSync(join(extracted, 'plugin'))).toEqual(['zeros.bin']);
  });
});
