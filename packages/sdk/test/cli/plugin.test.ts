/**
 * `synapse plugin create|run|publish` and `synapse serve` as a user runs them, on every category's
 * template: scaffolded once, inside the repository (so `synapse-sdk` resolves, and the repo's biome
 * sees them), each runs its sample through the CLI, publishes to a real devserver and passes its
 * own tests; the served templates answer a request.
 *
 * Each CLI call is a Node process with a TypeScript loader, so the CLI is spawned where it is the
 * thing under test: one `create`, each category's `run`, one success and one refusal of `publish`,
 * `serve`. What is about a template's content (the other scaffolds, the other publishes, the code
 * rules) runs in this process, and the templates' own tests run in one process.
 * Own server: the pre-annotation template's sample submits to task 1 of project 1 (fixed ids).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_EXPORT_ADAPTERS } from '../../src/actions/entrypoint.ts';
import { PLUGIN_CATEGORIES } from '../../src/plugins/enums.ts';
import { publishPlugin } from '../../src/plugins/publish.ts';
import { newPluginCode, scaffoldPlugin, type TemplateSample } from '../../src/plugins/scaffold.ts';
import { useDevServer } from '../helpers.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '../../../..');
const BIN = join(import.meta.dirname, '../../bin/synapse.js');
const TEMPLATES = join(import.meta.dirname, '../../templates');
// In a `.tmp` folder of the package: vitest skips it (the plugins' tests are run below), the
// repository's biome checks it like any folder a user scaffolds into.
const TMP = join(import.meta.dirname, '../../.tmp');
const h = useDevServer();
let root: string;
const samples = {} as Record<string, TemplateSample>;

// The category the CLI scaffolds (the others are scaffolded in-process) and runs in every local
// mode: what the CLI does the same for every category is run on one of them.
const FULL_RUN = 'neural_net';
// A name with `_` and a space: one code, with `-` only.
const FULL_RUN_NAME = 'My_Net demo';
let created: { stdout: string; stderr: string };

const nameOf = (category: string) => (category === FULL_RUN ? FULL_RUN_NAME : `Demo ${category}`);

beforeAll(async () => {
  await mkdir(TMP, { recursive: true });
  root = await mkdtemp(join(TMP, 'plugins-'));
  // The pre-annotation template's sample submits to task 1.
  await h.admin('POST', '_emulator/fixtures', { tasks: [{ id: 1, project: 1, data_unit: 1 }] });
  // The export template's sample exports project 2 (its own test loads the same on its platform).
  for (const data of JSON.parse(await readFile(join(TEMPLATES, 'export/test/fixtures.json'), 'utf8')))
    await h.admin('POST', '_emulator/fixtures', data);
  for (const category of PLUGIN_CATEGORIES) {
    samples[category] = JSON.parse(await readFile(join(TEMPLATES, category, 'test/sample.json'), 'utf8'));
    if (category !== FULL_RUN)
      await scaffoldPlugin({ name: nameOf(category), category, dir: join(root, category) });
  }
  created = await synapse(['plugin', 'create', '--name', FULL_RUN_NAME, '-c', FULL_RUN, '--path', FULL_RUN]);
});
afterAll(() => rm(root, { recursive: true, force: true }));

function synapse(args: string[], cwd = root, extraEnv: Record<string, string> = {}) {
  const env = {
    ...process.env,
    SYNAPSE_HOST: h.server.url,
    SYNAPSE_ACCESS_TOKEN: h.server.credentials.accessToken,
    ...extraEnv,
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

/** The JSON document a `plugin run` printed last (job mode prints the job's lines before it). */
const printedResult = (stdout: string) => JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1));

describe('plugin create', () => {
  it('makes one code of a name with `_` and spaces, and says what it made', async () => {
    const dir = join(root, FULL_RUN);
    expect(created.stdout).toBe(
      `Created neural_net plugin "${FULL_RUN_NAME}" (code my-net-demo) in ${dir}\n` +
        [
          'config.yaml',
          'package.json',
          'tsconfig.json',
          'README.md',
          '.synapseignore',
          'test/train.test.ts',
          'test/serve.test.ts',
          'plugin/deployment.ts',
          'plugin/model.ts',
          'plugin/serve.ts',
          'plugin/train.ts',
          'test/platform.test.ts',
          'test/sample.json',
        ]
          .map((f) => `  ${f}\n`)
          .join('') +
        // The CLI runs from this repository's checkout, whose packages are not on the registry.
        `Next: npm run pack:local (in ${REPO}), then cd ${dir} && npm install ${REPO}/.packages/*.tgz && npm test\n`,
    );
    const config = await readFile(join(dir, 'config.yaml'), 'utf8');
    expect(config).toContain(`name: "${FULL_RUN_NAME}"\ncode: "my-net-demo"\n`);
    expect(JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')).name).toBe('my-net-demo');
    // The README's commands are the sample's.
    const readme = await readFile(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`npx synapse plugin run train --params '{"epochs":3}'`);
    expect(readme).toContain(`npx synapse plugin run inference --params '{"json":{"inputs":[[2,0],[0,4]]}}'`);
  });

  it('derives codes with `-` only, checks a given code, and refuses a name it cannot make one of', async () => {
    expect(newPluginCode('My_Plugin')).toBe('my-plugin');
    expect(newPluginCode(' __A  b--c__ ')).toBe('a-b-c');
    const refused = (options: { name: string; code?: string }) =>
      scaffoldPlugin({ ...options, category: 'custom', dir: join(root, 'never') }).then(
        () => 'scaffolded',
        (err: Error) => err.message,
      );
    expect(await refused({ name: 'x', code: 'My_Code' })).toBe(
      "Invalid code 'My_Code'. Use lowercase letters, digits, '-' and '_' only",
    );
    expect(await refused({ name: '日本' })).toBe(
      "Cannot make a plugin code of the name '日本': give one with --code",
    );
    // A code given as it is, `_` included, is kept.
    const kept = await scaffoldPlugin({
      name: 'x',
      code: 'my_code',
      category: 'custom',
      dir: join(root, 'kept'),
    });
    expect(await readFile(join(kept.dir, 'config.yaml'), 'utf8')).toContain('code: "my_code"\n');
    await rm(kept.dir, { recursive: true });
    expect(existsSync(join(root, 'never'))).toBe(false);
  });

  it("scaffolds plugins that pass the repository's own biome check", async () => {
    // Every category, with a planted defect first: the check does look at the folder.
    const planted = join(root, 'custom/plugin/planted.ts');
    await writeFile(planted, 'export const a = {"x":1}\n');
    const defect = await run(join(REPO, 'node_modules/.bin/biome'), ['check', root], { cwd: REPO }).then(
      () => null,
      (e) => e.stdout + e.stderr,
    );
    expect(defect).toContain('planted.ts');
    await rm(planted);
    const { stdout, stderr } = await run(join(REPO, 'node_modules/.bin/biome'), ['check', root], {
      cwd: REPO,
    });
    expect(stdout + stderr).toMatch(/Checked \d+ files/);
    expect(stdout + stderr).not.toMatch(/error|warning/i);
  });
});

describe.each(PLUGIN_CATEGORIES)('plugin template %s', (category) => {
  it('runs its sample with synapse plugin run and publishes', async () => {
    const sample = samples[category];
    const dir = join(root, category);
    const params = JSON.stringify(sample.params);
    for (const mode of category === FULL_RUN ? ['local', 'task', 'job'] : ['local']) {
      const { stdout } = await synapse(
        ['plugin', 'run', sample.action, '--params', params, '--mode', mode],
        dir,
      );
      expect(printedResult(stdout), mode).toEqual(sample.result);
    }
    if (category === 'pre_annotation') expect((await h.client.getTask(1)).data).toEqual({ objects: [] });

    if (category === FULL_RUN) {
      const invalid = await failure(
        ['plugin', 'run', sample.action, '--params', JSON.stringify(sample.invalid_params)],
        dir,
      );
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/^Error: .*Parameter validation failed: /);
      expect(invalid.stderr.trim().split('\n')).toHaveLength(1);
    }

    const code = newPluginCode(nameOf(category));
    if (category === 'custom') {
      // `custom` exists only in the SDK: the platform refuses it, and says so.
      const refused = await failure(['plugin', 'publish', '--yes'], dir);
      expect(refused.stderr).toBe(
        'Error: Failed to upload plugin: 400: {"category":["\\"custom\\" is not a valid choice."]}\n',
      );
      return;
    }
    // The CLI's publish is the same for every category: it runs on one, the API on the others.
    const published =
      category === FULL_RUN
        ? JSON.parse((await synapse(['plugin', 'publish', '--yes'], dir)).stdout)
        : await publishPlugin(dir, { client: h.client, adapters: STOCK_EXPORT_ADAPTERS, warn: () => {} });
    const release = await h.client.getPluginRelease(published.release_id);
    expect(release.code).toBe(`${code}@0.1.0`);
    const template = JSON.parse(await readFile(join(TEMPLATES, category, 'template.json'), 'utf8'));
    expect(release.config).toMatchObject({ category, ...template.config, actions: template.actions });
  });
});

describe('the scaffolded plugins', () => {
  it('pass their own tests, in one process; the platform tests run on a local platform of their own', async () => {
    const files: string[] = [];
    let expected = 0;
    for (const category of PLUGIN_CATEGORIES) {
      const tests = (await readdir(join(root, category, 'test'))).filter((f) => f.endsWith('.test.ts'));
      files.push(...tests.map((f) => `./${category}/test/${f}`));
      // The action's sample and its invalid params; the served request; on a platform, the sample
      // as a job and the deployment answering the served request (neural_net), the sample run
      // there (the other categories with a platform test).
      const onPlatform = tests.includes('platform.test.ts') ? (category === 'neural_net' ? 2 : 1) : 0;
      expected += 2 + (tests.includes('serve.test.ts') ? 1 : 0) + onPlatform;
    }
    expect(expected).toBe(PLUGIN_CATEGORIES.length * 2 + 2 + 2 + 3);
    // `node --test` would start a process per file; importing them all runs their tests in this one.
    const imports = files.map((f) => `await import(${JSON.stringify(f)});`).join('');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', '--test-reporter=tap', '--input-type=module', '-e', imports],
      { cwd: root },
    );
    expect(stdout).toMatch(new RegExp(`^# pass ${expected}$`, 'm'));
    expect(stdout).toMatch(/^# fail 0$/m);
    expect(stdout).toMatch(/^# skipped 0$/m);
    expect(stdout).toMatch(/^ok \d+ - train runs as a job on a local platform$/m);
    expect(stdout).toMatch(/^ok \d+ - deployment serves inference on a local platform, which answers/m);
    expect(stdout).toMatch(/^ok \d+ - auto_label infers through the platform's served model$/m);
    expect(stdout).toMatch(/^ok \d+ - validation runs on a local platform, which refuses invalid params/m);
    expect(stdout).toMatch(/^ok \d+ - post_annotate rewrites a task's data on a local platform$/m);
    const served = stdout.match(
      /^ok \d+ - inference answers the sample request on a serve gateway of its own$/gm,
    );
    expect(served).toHaveLength(2);
  });

  it('serve: synapse serve runs the neural_net inference, synapse plugin run inference asks it', async () => {
    const dir = join(root, FULL_RUN);
    const { serve } = samples[FULL_RUN];
    const server: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, SYNAPSE_HOST: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    try {
      let banner = '';
      for await (const line of createInterface({ input: server.stdout! })) {
        banner += `${line}\n`;
        if (line.startsWith('Press Ctrl+C')) break;
      }
      expect(banner).toMatch(/^Serving my-net-demo@0\.1\.0 \(Predictor\) at http:\/\/\S+\/[0-9a-f]{32}\/$/m);
      const origin = new URL(banner.match(/ at (\S+)/)![1]).origin;
      const params = JSON.stringify({ json: serve!.request });
      const { stdout } = await synapse(['plugin', 'run', serve!.deployment, '--params', params], dir, {
        RAY_SERVE_ADDRESS: origin,
      });
      expect(JSON.parse(stdout)).toEqual(serve!.response);

      // A second gateway on the same port: one line naming the port and the way out.
      const port = new URL(origin).port;
      const taken = await failure(['serve', '--port', port], dir);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toBe(
        `Error: Port ${port} on localhost is in use (\`synapse dev\` and \`npm start\` serve on 8100). ` +
          'Pass --port <port> (0 picks a free one), and point runs at it with RAY_SERVE_ADDRESS.\n',
      );
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
  });
});

describe('plugin CLI errors', () => {
  it('refuses an invalid mode, bad JSON, an existing directory and an unknown action, each in one line', async () => {
    const dir = join(root, 'custom');
    const mode = await failure(['plugin', 'run', 'hello', '--mode', 'fast'], dir);
    expect(mode).toEqual({
      code: 2,
      stderr: 'Error: Invalid mode: fast. Use local, task, job, or remote.\n',
    });
    const json = await failure(['plugin', 'run', 'hello', '--params', '{nope'], dir);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/^Error: Invalid JSON params: /);
    const exists = await failure(['plugin', 'create', '--name', 'Errs', '--path', 'custom']);
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
