/**
 * What `npm start` says before it gets going (#15 items 3 and 5): a port in use names the variable
 * to set, and the platform's data goes where `synapse dev` keeps it, beside the config file.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEMO = join(import.meta.dirname, '../demo.ts');
const TSX = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
let configDir: string;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'demo-start-'));
});
afterAll(() => rm(configDir, { recursive: true, force: true }));

describe('npm start on a port in use', () => {
  it('says to set PORT, and uses the data directory of synapse dev', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const env: Record<string, string | undefined> = {
        ...process.env,
        SYNAPSE_CONFIG_DIR: configDir,
        PORT: String(port),
        SERVE_PORT: '0',
      };
      delete env.SYNAPSE_DEMO_DATA_DIR;
      const child = spawn(TSX, [DEMO], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toBe(
        `Error: Port ${port} is in use (another \`npm start\` or \`synapse dev\`?). Stop it, or set PORT ` +
          `to another port (PORT=0 picks a free one): PORT=${port + 1} npm start\n`,
      );
      // The platform `synapse dev` starts by default: dev/ beside the config file.
      expect((await stat(join(configDir, 'dev'))).isDirectory()).toBe(true);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
