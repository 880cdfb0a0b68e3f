/**
 * A real job plugin for the executor tests (SDK) and the platform's job runs (devserver), written
 * under `test-support/.tmp/` so that its `synapse-sdk` import resolves to the workspace's package
 * through the workspace's node_modules.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strToU8, zipSync } from 'fflate';
import { parse } from 'yaml';

const TMP_ROOT = fileURLToPath(new URL('./.tmp/', import.meta.url));

/** The actions of the demo plugin, by file. */
export const PLUGIN_FILES: Record<string, string> = {
  'plugin/echo.ts': `
import { BaseAction, z } from 'synapse-sdk';
export class EchoAction extends BaseAction<{ name: string }> {
  static paramsSchema = z.object({ name: z.string() });
  execute() {
    return { greeting: \`\${this.env.getStr('GREETING')} \${this.params.name}\`, jobId: this.jobId, pid: process.pid };
  }
}
`,
  'plugin/count.ts': `
import { BaseAction } from 'synapse-sdk';
const state = globalThis as { imports?: number };
state.imports = (state.imports ?? 0) + 1;
let calls = 0;
export class CountAction extends BaseAction {
  execute() {
    calls += 1;
    return { imports: state.imports, calls, pid: process.pid };
  }
}
`,
  'plugin/fail.ts': `
import { BaseAction } from 'synapse-sdk';
export class FailAction extends BaseAction {
  execute(): never {
    throw new Error('boom');
  }
}
`,
  'plugin/crash.ts': `
import { BaseAction } from 'synapse-sdk';
export class CrashAction extends BaseAction {
  execute() {
    console.log('about to crash');
    process.exit(3);
  }
}
`,
  'plugin/noisy.ts': `
import { BaseAction } from 'synapse-sdk';
export class NoisyAction extends BaseAction {
  execute() {
    console.log('noise before');
    console.log('__SYNAPSE_RESULT_START__');
    console.log('{"fake": true}');
    console.log('__SYNAPSE_RESULT_END__');
    console.log('noise between');
    console.error('noise on stderr');
    process.stdout.write('an unterminated line');
    process.on('exit', () => console.log('noise after'));
    return { real: true };
  }
}
`,
  'plugin/scalar.ts': `
import { defineAction, z } from 'synapse-sdk';
export const double = defineAction({ name: 'double', params: z.object({ n: z.number() }) }, (p: { n: number }) => p.n * 2);
`,
  'plugin/size.ts': `
import { BaseAction } from 'synapse-sdk';
export class SizeAction extends BaseAction<{ blob: string }> {
  execute() {
    return { length: this.params.blob.length, viaFile: Boolean(process.env.SYNAPSE_ACTION_PARAMS_FILE) };
  }
}
`,
  'plugin/sleep.ts': `
import { writeFileSync } from 'node:fs';
import { BaseAction } from 'synapse-sdk';
export class SleepAction extends BaseAction<{ seconds: number; pidFile?: string }> {
  async execute() {
    if (this.params.pidFile) writeFileSync(this.params.pidFile, String(process.pid));
    console.log('sleeping');
    await new Promise((resolve) => setTimeout(resolve, this.params.seconds * 1000));
    return { slept: this.params.seconds };
  }
}
`,
  'plugin/report.ts': `
import { BaseAction } from 'synapse-sdk';
export class ReportAction extends BaseAction<{ steps: number }> {
  static progressCategories = { train: { proportion: 100 } };
  async execute() {
    for (let i = 0; i <= this.params.steps; i++) this.setProgress(i, this.params.steps, 'train');
    this.setMetrics({ loss: 0.25, accuracy: 0.9 }, 'train');
    this.log('epoch_done', { epoch: 1 });
    this.logMessage('Training finished.', 'success');
    return { epochs: this.params.steps };
  }
}
`,
};

export const CONFIG_YAML = `name: Executor Demo
code: executor-demo
version: "1.0.0"
category: neural_net
description: plugin for the executor tests
env:
  GREETING: hello
actions:
  echo:
    entrypoint: plugin.echo.EchoAction
    method: job
  count:
    entrypoint: plugin.count.CountAction
    method: task
  fail:
    entrypoint: plugin.fail.FailAction
    method: job
  crash:
    entrypoint: plugin.crash.CrashAction
    method: job
  noisy:
    entrypoint: plugin.noisy.NoisyAction
    method: job
  double:
    entrypoint: plugin/scalar.ts:double
    method: task
  size:
    entrypoint: plugin.size.SizeAction
    method: job
  sleep:
    entrypoint: plugin.sleep.SleepAction
    method: job
  train:
    entrypoint: plugin.report.ReportAction
    method: job
`;

/** The config as a release carries it: what the devserver's agent reads. */
export const RELEASE_CONFIG: Record<string, any> = parse(CONFIG_YAML);

const FILES = { 'config.yaml': CONFIG_YAML, 'package.json': '{"type": "module"}\n', ...PLUGIN_FILES };

/** A fresh copy of the demo plugin; its path. */
export async function writePlugin(): Promise<string> {
  await mkdir(TMP_ROOT, { recursive: true });
  const dir = await mkdtemp(join(TMP_ROOT, 'plugin-'));
  for (const [name, text] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** The demo plugin as a release archive. */
export function pluginZip(): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(FILES).map(([name, text]) => [name, strToU8(text)])));
}

/** Polls `read` until `done` holds for its value (or fails after `timeoutMs`). */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 300_000, // a hang guard: a busy machine may be slow, never wrong
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The error `promise` rejects with; fails when it resolves. */
export function failure(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err) => err,
  );
}
