import { spawn } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { AgentClient, BackendClient, loadCredentials } from '../../src/index.ts';

const BIN = join(import.meta.dirname, '../../bin/synapse.js');

describe('synapse dev', () => {
  it('starts the local platform from the CLI, seeds it, saves credentials, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'synapse-cli-dev-'));
    const configDir = await mkdtemp(join(tmpdir(), 'synapse-cli-config-'));
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
});
