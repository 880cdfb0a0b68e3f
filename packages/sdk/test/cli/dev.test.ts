import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { buildZip } from '../../../../test-support/archives.ts';
import { AgentClient, BackendClient, type Job, loadCredentials } from '../../src/index.ts';

const BIN = join(import.meta.dirname, '../../bin/synapse.js');

/** Temp folders of this file, removed when it ends whatever the tests did. */
const temps: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(() => Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('synapse dev', () => {
  it('starts the local platform from the CLI, seeds it, saves credentials, and stops on SIGTERM', async () => {
    const dataDir = await tempDir('synapse-cli-dev-');
    const configDir = await tempDir('synapse-cli-config-');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'dev',
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--seed',
        'demo',
        '--serve-port',
        '0',
        '--cpus',
        '3',
        '--gpus',
        '1',
        '--memory',
        '2G',
        '--media-url-ttl',
        '600',
      ],
      {
        env: { ...process.env, SYNAPSE_CONFIG_DIR: configDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('Press Ctrl+C')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
    });
    await ready;
    const output = lines.join('\n');
    const url = /running at (http:\/\/\S+)/.exec(output)![1];
    expect(output).toMatch(/seeded: {3}project \d+ with 12 tasks/);
    expect(output).toMatch(/serve: {4}http:\/\/127\.0\.0\.1:\d+ \(deployments and inference\)/);

    const env = { SYNAPSE_CONFIG_DIR: configDir };
    const credentials = loadCredentials(env);
    expect(credentials.host).toBe(url);
    expect(output).not.toContain(credentials.accessToken!);
    expect((await stat(join(configDir, 'config.json'))).mode & 0o777).toBe(0o600);
    const login = JSON.parse(await readFile(join(dataDir, 'login.json'), 'utf8'));
    expect(login.email).toBe('dev@synapse.local');
    expect(output).not.toContain(login.password);

    const client = new BackendClient(url, { accessToken: credentials.accessToken });
    const [tasks, total] = await client.listTasks({ status: 'pending' });
    expect(total).toBe(12);
    expect(tasks[0].status).toBe('pending');
    // The seeded images come with signed URLs of the lifetime asked for (rounded up to 5 minutes).
    const [[withUnit]] = await client.listTasks({ status: 'pending', expand: 'data_unit', page_size: 1 });
    const image = Object.values((withUnit as any).data_unit.files as Record<string, { url: string }>)[0].url;
    const expires = Number(new URL(image).searchParams.get('expires'));
    expect(expires).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 600 - 60);
    expect(expires).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 600 + 300);
    expect((await fetch(image)).status).toBe(200);
    expect((await fetch(image.split('?')[0])).status).toBe(401);
    await client.close();

    const agent = AgentClient.fromEnv(env)!;
    const answer = await agent.checkFeasibility({
      kind: 'serve',
      num_cpus: 4,
      num_gpus: 1,
      memory_bytes: 2 * 1024 ** 3,
      replicas: 1,
    });
    expect(answer).toMatchObject({
      allowed: false,
      reasons: ['insufficient CPU: requested 4.0, available 3.0'],
    });
    await agent.close();

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('keeps its data beside the config file by default (as npm start does) and prints where', async () => {
    const configDir = await tempDir('synapse-cli-config-');
    const child = spawn(process.execPath, [BIN, 'dev', '--port', '0', '--no-serve'], {
      env: { ...process.env, SYNAPSE_CONFIG_DIR: configDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        lines.push(line);
        if (line.startsWith('Press Ctrl+C')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${lines.join('\n')}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines).toContain(`  data:     ${join(configDir, 'dev')}`);
    expect((await stat(join(configDir, 'dev', 'login.json'))).isFile()).toBe(true);
  });

  it('says which port is in use and how to pick another', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const dataDir = await tempDir('synapse-cli-dev-');
      const child = spawn(
        process.execPath,
        [BIN, 'dev', '--port', String(port), '--no-serve', '--data-dir', dataDir, '--no-save-credentials'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toBe(
        `Error: Port ${port} on 127.0.0.1 is in use (another \`synapse dev\` or \`npm start\`?). ` +
          'Stop it, or pass --port <port> (0 picks a free one).\n',
      );
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('fails with one clear line for a bad option', async () => {
    const child = spawn(process.execPath, [BIN, 'dev', '--port', 'abc', '--no-save-credentials'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toBe('Error: Invalid --port: abc\n');
  });

  it.each([
    ['--archive-max-entries', '0', 'Invalid --archive-max-entries: 0 (expected an integer >= 1)'],
    ['--archive-max-entries', '1.5', 'Invalid --archive-max-entries: 1.5 (expected an integer >= 1)'],
    ['--archive-max-ratio', 'abc', 'Invalid --archive-max-ratio: abc (expected a number >= 0)'],
    ['--archive-max-ratio', '0.5', 'Invalid --archive-max-ratio: 0.5 (expected a number >= 1)'],
    ['--archive-max-size', '12Q', 'Invalid --archive-max-size: 12Q (expected e.g. 16G or 17179869184)'],
    ['--archive-max-size', '0', 'Invalid --archive-max-size: 0 (expected a size > 0)'],
  ])('refuses %s %s with one clear line', async (flag, value, message) => {
    const child = spawn(process.execPath, [BIN, 'dev', flag, value, '--no-save-credentials'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toBe(`Error: ${message}\n`);
  });

  it('applies --archive-max-* to the releases its jobs unpack (#11 item 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synapse-cli-dev-limits-'));
    const configDir = join(dir, 'config');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'dev',
        '--port',
        '0',
        '--data-dir',
        join(dir, 'data'),
        '--no-serve',
        '--archive-max-entries',
        '3',
      ],
      { env: { ...process.env, SYNAPSE_CONFIG_DIR: configDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.startsWith('Press Ctrl+C')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const credentials = loadCredentials({ SYNAPSE_CONFIG_DIR: configDir });
      const client = new BackendClient(credentials.host!, { accessToken: credentials.accessToken });
      const zip = join(dir, 'release.zip');
      await writeFile(
        zip,
        buildZip(['package.json', 'a.ts', 'b.ts', 'c.ts'].map((name) => ({ name, data: Buffer.from('{}') }))),
      );
      const config = {
        name: 'limited',
        code: 'limited',
        version: '1.0.0',
        category: 'neural_net',
        description: '',
        actions: { train: { method: 'job', entrypoint: 'plugin.train:Train' } },
      };
      await client.createPluginRelease({ plugin: 'limited', version: '1.0.0', config }, { file: zip });
      const run = await client.runPlugin('limited', {
        agent: credentials.agent!.id,
        action: 'train',
        params: {},
      });
      let job: Job;
      do {
        await new Promise((r) => setTimeout(r, 100));
        job = await client.getJob(run.job_id);
      } while (job.status !== 'FAILED' && job.status !== 'SUCCEEDED');
      expect(job.status).toBe('FAILED');
      expect([job.console_logs].flat().join('\n')).toContain(
        'ERROR: Plugin release archive refused: 4 entries exceed the limit of 3 entries',
      );
      await client.close();
    } finally {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
