/**
 * Starts a Ray head of its own for the suite (scripts/ray.sh, which installs Ray on first use)
 * and stops it afterwards. Its ports are not Ray's defaults, so it never meets another head.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const SCRIPT = fileURLToPath(new URL('../../../scripts/ray.sh', import.meta.url));
const ENV = {
  ...process.env,
  RAY_DASHBOARD_PORT: '28265',
  RAY_GCS_PORT: '26379',
  RAY_CLIENT_PORT: '20001',
  RAY_AGENT_PORT: '52366',
  RAY_STATE_DIR: fileURLToPath(new URL('../../../.venv-ray/test-state', import.meta.url)),
};
const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    rayDashboard: string;
  }
}

export default async function setup(project: TestProject) {
  const { stdout } = await run(SCRIPT, ['start'], { env: ENV, timeout: 15 * 60_000 });
  project.provide('rayDashboard', stdout.trim());
  return async () => {
    await run(SCRIPT, ['stop'], { env: ENV });
  };
}
