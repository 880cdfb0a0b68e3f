/** Real plugin directories in a temp dir for the plugin tests, removed when the test that made them ends. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const SDK_DIR = resolve(fileURLToPath(import.meta.url), '../../..');

/** Plugin modules import the SDK by file path (a temp dir cannot resolve `synapse-sdk`). */
export const ACTION_TS = join(SDK_DIR, 'src/plugins/action.ts');

/**
 * Removes `dir` when the current test ends (`rm` unlinks the node_modules symlink without
 * following it). Per test, not per file: with workers that share modules between files
 * (`isolate: false`), a file-level hook registered here would run for the first file only.
 */
export function removeLater(dir: string): string {
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A temp directory holding exactly `files`. */
export async function writeTree(files: Record<string, string>): Promise<string> {
  const dir = removeLater(await mkdtemp(join(tmpdir(), 'sdk-plugin-')));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** An ES module plugin, as `synapse plugin create` makes, whose dependencies are the repo's node_modules. */
export async function writePlugin(files: Record<string, string>): Promise<string> {
  const dir = await writeTree({ 'package.json': '{"type": "module"}\n', ...files });
  await symlink(join(SDK_DIR, '../../node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** A config with one `task` action per entry. */
export function configYaml(actions: Record<string, string>): string {
  const lines = Object.entries(actions).map(
    ([name, entrypoint]) => `  ${name}:\n    entrypoint: "${entrypoint}"\n    method: task\n`,
  );
  return `name: Demo Plugin\nversion: "1.0.0"\ncategory: neural_net\ndescription: demo\nactions:\n${lines.join('')}`;
}
