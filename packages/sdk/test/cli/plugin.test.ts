/**
 * `synapse plugin create|run|publish` as a user runs them: each category's template is
 * scaffolded inside the repository (so `synapse-sdk` resolves) and publishes to a real
 * devserver; one runs in every local mode through the CLI; all pass their own tests.
 * Own server: the pre-annotation template's sample submits to task 1 of project 1 (fixed ids).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGIN_CATEGORIES } from '../../src/plugins/enums.ts';
import { useDevServer } from '../helpers.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const TEMPLATES = join(import.meta.dirname, '../../templates');
const h = useDevServer();
let root: string;

beforeAll(async () => {
  await mkdir(join(import.meta.dirname, '../.tmp'), { recursive: true });
  root = await mkdtemp(join(import.meta.dirname, '../.tmp/plugins-'));
  // The pre-annotation template's sample submits to task 1.
  await h.admin('POST', '_emulator/fixtures', { tasks: [{ id: 1, project: 1, data_unit: 1 }] });
});
afterAll(() => rm(root, { recursive: true, force: true }));

function synapse(args: string[], cwd = root) {
  const env = {
    ...process.env,
    SYNAPSE_HOST: h.server.url,
    SYNAPSE_ACCESS_TOKEN: h.server.credentials.accessToken,
  };
  return run(process.execPath, [BIN, ...args], { cwd, env });
}

async function failure(args: string[], cwd = root) {
  const err = await synapse(args, cwd).then(
    () => null,
    (e) => e,
  );
  expect(err).not.toBeNull();
  return { code: err.code as number, stderr: err.stderr as string };
}

// What the CLI does the same for every category (the modes, the error line) is run on one of them:
// each CLI call is a process, and a template's own test already runs its sample and invalid params.
const FULL_RUN = 'neural_net';

async function readTemplate(category: string) {
  return JSON.parse(await readFile(join(TEMPLATES, category, 'template.json'), 'utf8'));
}

describe.each(PLUGIN_CATEGORIES)('plugin template %s', (category) => {
  it('scaffolds and publishes', async () => {
    const template = await readTemplate(category);
    await synapse([
      'plugin',
      'create',
      '--name',
      `Demo ${category}`,
      '--category',
      category,
      '--path',
      category,
    ]);
    const dir = join(root, category);
    expect(existsSync(join(dir, 'test/platform.test.ts'))).toBe(template.platformTest === true);

    if (category === FULL_RUN || category === 'pre_annotation') {
      const params = JSON.stringify(template.sampleParams);
      for (const mode of category === FULL_RUN ? ['local', 'task', 'job'] : ['local']) {
        const { stdout } = await synapse(
          ['plugin', 'run', template.action, '--params', params, '--mode', mode],
          dir,
        );
        const printed = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1));
        expect(printed, mode).toEqual(template.sampleResult);
      }
    }
    if (category === 'pre_annotation') expect((await h.client.getTask(1)).data).toEqual({ objects: [] });

    if (category === FULL_RUN) {
      const invalid = await failure(
        ['plugin', 'run', template.action, '--params', JSON.stringify(template.invalidParams)],
        dir,
      );
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/^Error: .*Parameter validation failed: /);
      expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
    }

    if (category === 'custom') {
      // `custom` exists only in the SDK: the platform refuses it, and says so.
      const refused = await failure(['plugin', 'publish', '--yes'], dir);
      expect(refused.stderr).toBe(
        'Error: Failed to upload plugin: 400: {"category":["\\"custom\\" is not a valid choice."]}\n',
      );
      return;
    }
    const { stdout } = await synapse(['plugin', 'publish', '--yes'], dir);
    const published = JSON.parse(stdout);
    const release = await h.client.getPluginRelease(published.release_id);
    expect(release.code).toBe(`demo-${category}@0.1.0`);
    expect(release.config).toMatchObject({
      category,
      actions: { [template.action]: { method: expect.any(String) } },
    });
  });
});

describe('the scaffolded plugins own tests', () => {
  it('pass in one test runner; the platform test runs on a local platform of its own', async () => {
    const files: string[] = [];
    for (const category of PLUGIN_CATEGORIES) {
      const template = await readTemplate(category);
      files.push(join(category, `test/${template.action}.test.ts`));
      // One platform test is enough to prove the template's: each starts a platform.
      if (category === FULL_RUN) files.push(join(category, 'test/platform.test.ts'));
    }
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--test', ...files], { cwd: root });
    expect(stdout).toMatch(new RegExp(`^# pass ${PLUGIN_CATEGORIES.length * 2 + 1}$`, 'm'));
    expect(stdout).toMatch(/^# skipped 0$/m);
    expect(stdout).toContain('runs as a job on a local platform');
  });
});

describe('plugin CLI errors', () => {
  it('refuses an invalid mode, bad JSON and an existing directory, each in one line', async () => {
    await synapse(['plugin', 'create', '--name', 'Errs', '--path', 'errs']);
    const dir = join(root, 'errs');
    const mode = await failure(['plugin', 'run', 'hello', '--mode', 'fast'], dir);
    expect(mode).toEqual({
      code: 2,
      stderr: 'Error: Invalid mode: fast. Use local, task, job, or remote.\n',
    });
    const json = await failure(['plugin', 'run', 'hello', '--params', '{nope'], dir);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/^Error: Invalid JSON params: /);
    const exists = await failure(['plugin', 'create', '--name', 'Errs', '--path', 'errs']);
    expect(exists.stderr).toBe(`Error: ${dir} already exists and is not empty\n`);
    const unknown = await failure(['plugin', 'run', 'nope'], dir);
    expect(unknown.stderr).toMatch(/Action 'nope' not found/);
  });

  // Each help is one process: every command's (and a subcommand's) help is asked once, here and
  // in the module-loading test below, and each exits 0 with its usage.
  it('prints help for every command, listing each with the description its own help shows', async () => {
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const main = (await synapse(['--help'])).stdout;
    expect(main).toMatch(/^Usage: synapse/);
    const listing = flat(main);
    for (const name of ['login', 'agent', 'doctor', 'plugin', 'dev', 'serve']) {
      // `Usage: synapse <name> ...`, a blank line, then the command's description.
      const { stdout } = await synapse([name, '--help']);
      expect(stdout).toMatch(new RegExp(`^Usage: synapse ${name} `));
      const description = stdout.split('\n\n')[1];
      expect(listing).toContain(` ${name} ${flat(description)} `);
    }
  });

  it('loads only the module of the command that runs: --help loads no client', async () => {
    // A resolve hook that names every module the CLI loads, on stderr.
    const hook = join(root, 'trace-loads.mjs');
    await writeFile(
      hook,
      'export async function resolve(specifier, context, next) {\n' +
        '  const resolved = await next(specifier, context);\n' +
        "  process.stderr.write('loaded ' + resolved.url + '\\n');\n" +
        '  return resolved;\n' +
        '}\n',
    );
    const tracer = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(pathToFileURL(hook).href)})`;
    const loaded = (args: string[]) =>
      run(process.execPath, ['--import', tracer, BIN, ...args], { cwd: root });

    const { stderr: help } = await loaded(['--help']);
    expect(help).toMatch(/\/cli\/main\.(ts|js)$/m);
    expect(help).not.toMatch(/\/cli\/(login|agent|doctor|plugin|dev|serve)\.|\/clients\/|\/undici\//);
    const { stdout: runUsage, stderr: pluginHelp } = await loaded(['plugin', 'run', '--help']);
    expect(runUsage).toMatch(/^Usage: synapse plugin run /);
    expect(pluginHelp).toMatch(/\/cli\/plugin\.(ts|js)$/m);
    expect(pluginHelp).not.toMatch(/\/cli\/(login|agent|doctor|dev|serve)\./);
  });
});
