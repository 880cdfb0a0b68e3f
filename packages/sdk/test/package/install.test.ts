/**
 * The packages as a user gets them (issue #12): all three (the contract, the SDK, the devserver) are packed (`npm pack`, which builds them) and
 * installed into an empty project in the system's temp directory, far from this workspace, with
 * their third-party dependencies from the registry. There, with plain Node and no TypeScript
 * loader: ESM imports and a client call against `npx synapse dev` started from the installed
 * package, a CommonJS require, TypeScript consumers (nodenext and bundler resolution, lib checks
 * on), the CLI, and a scaffolded plugin that installs the tarball, passes its own test, publishes
 * and runs as a job on that platform.
 *
 * Slow by nature (network installs): generous timeouts, no timed assertions. Every process runs
 * without this repo's `synapse-source` condition and with a config directory of its own.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTarball, type PackedPackage, packPackages } from '../../../../scripts/pack-packages.ts';
import { BackendClient } from '../../src/index.ts';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const EXPORT_SAMPLE = join(ROOT, 'packages/sdk/templates/export/test/sample.json');
const EXPORT_FIXTURES = join(ROOT, 'packages/sdk/templates/export/test/fixtures.json');
const MINUTES = 60_000;

let tmp: string;
let app: string;
let env: NodeJS.ProcessEnv;
let packed: PackedPackage[];
let dev: ChildProcess | undefined;
let devUrl: string;

/**
 * A user's environment: none of the variables npm, vitest or this repo set (above all not
 * NODE_OPTIONS with the source condition), a config directory in the temp folder. The suite's run
 * marker stays, so a process left behind is still found.
 */
function userEnvironment(configDir: string): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|NODE_OPTIONS$|VITEST|SYNAPSE_)/.test(key)) continue;
    clean[key] = value;
  }
  return { ...clean, SYNAPSE_TEST_RUN: process.env.SYNAPSE_TEST_RUN, SYNAPSE_CONFIG_DIR: configDir };
}

async function sh(command: string, args: string[], cwd: string) {
  try {
    return await execFileAsync(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout}\n${e.stderr}`,
    );
  }
}

const tarball = (name: string) => packed.find((p) => p.name === name)!.tarball;
const savedConfig = async () =>
  JSON.parse(await readFile(join(tmp, 'config', 'config.json'), 'utf8')) as {
    host: string;
    access_token: string;
  };

/** The last top-level JSON object a command printed. */
function lastJson(stdout: string): any {
  return JSON.parse(stdout.slice(stdout.lastIndexOf('\n{') + 1));
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'synapse-install-'));
  env = userEnvironment(join(tmp, 'config'));
  await mkdir(join(tmp, 'tarballs'));
  packed = await packPackages(join(tmp, 'tarballs'));

  app = join(tmp, 'app');
  await mkdir(app);
  await sh('npm', ['init', '-y'], app);
  await sh(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      tarball('synapse-core'),
      tarball('synapse-sdk'),
      tarball('synapse-devserver'),
      '@types/node@20',
    ],
    app,
  );

  // The local platform, started the way the README tells a user to, on a free port.
  dev = spawn(
    'npx',
    ['synapse', 'dev', '--port', '0', '--no-serve', '--seed', 'demo', '--data-dir', join(tmp, 'dev')],
    { cwd: app, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  dev.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const started = (async () => {
    for await (const line of createInterface({ input: dev!.stdout! })) {
      const url = /^Synapse devserver running at (\S+)/.exec(line)?.[1];
      if (url) devUrl = url;
      if (line.startsWith('Press Ctrl+C')) return;
    }
    throw new Error(`synapse dev ended before it was ready:\n${stderr}`);
  })();
  await started;
}, 15 * MINUTES);

afterAll(async () => {
  if (dev?.pid !== undefined && dev.exitCode === null && dev.signalCode === null) {
    const exited = once(dev, 'exit');
    // npx and the synapse process under it are one process group (detached above).
    process.kill(-dev.pid, 'SIGTERM');
    const stopped = await Promise.race([
      exited.then(() => true),
      new Promise((r) => setTimeout(r, 15_000, false)),
    ]);
    if (!stopped) process.kill(-dev.pid, 'SIGKILL');
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, MINUTES);

describe('the packed packages in an empty project', () => {
  it('ships no tests, benches or examples; only dist, sources, bins, templates, README, LICENSE', () => {
    for (const pkg of packed) {
      const tops = new Set(pkg.files.map((file) => file.split('/')[0]));
      for (const top of tops)
        expect(['dist', 'src', 'bin', 'templates', 'README.md', 'LICENSE', 'package.json']).toContain(top);
      expect(tops).toContain('dist');
    }
  });

  it('passes publint and attw; every export lists its types first', async () => {
    for (const pkg of packed) {
      const { ok, output } = await lintTarball(pkg.tarball);
      expect(ok, output).toBe(true);
      expect(output).toContain('All good!');
      const manifest = JSON.parse(
        await readFile(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8'),
      );
      for (const [path, target] of Object.entries(manifest.exports)) {
        if (typeof target === 'object')
          expect(Object.keys(target as object)[0], `${pkg.name} ${path}`).toBe('types');
      }
    }
  });

  it('imports from plain Node ESM, without a loader, and calls the platform', async () => {
    await writeFile(
      join(app, 'client.mjs'),
      `import { BackendClient, BaseAction, ToTaskAction, createBackendClient } from 'synapse-sdk';

const client = createBackendClient(); // from the config file that synapse dev saved
const [tasks, count] = await client.listTasks();
await client.close();
console.log(JSON.stringify({
  resolved: import.meta.resolve('synapse-sdk'),
  client: client instanceof BackendClient,
  toTaskIsAction: ToTaskAction.prototype instanceof BaseAction,
  count,
  firstTask: tasks[0]?.id,
}));
`,
    );
    const { stdout } = await sh(process.execPath, ['client.mjs'], app);
    const out = JSON.parse(stdout);
    expect(out.resolved).toMatch(/\/node_modules\/synapse-sdk\/dist\/index\.js$/);
    expect(out).toMatchObject({ client: true, toTaskIsAction: true, firstTask: expect.any(Number) });
    expect(out.count).toBeGreaterThan(0);
  });

  it('imports the clients alone from synapse-sdk/clients: the same bindings as the root, without the plugin framework', async () => {
    // A resolve hook that names every module loaded, on stderr.
    await writeFile(
      join(app, 'trace-loads.mjs'),
      'export async function resolve(specifier, context, next) {\n' +
        '  const resolved = await next(specifier, context);\n' +
        "  process.stderr.write('loaded ' + resolved.url + '\\n');\n" +
        '  return resolved;\n' +
        '}\n',
    );
    const tracer = `data:text/javascript,import{register}from'node:module';register('./trace-loads.mjs',${JSON.stringify(pathToFileURL(`${app}/`).href)})`;
    const loads = async (specifier: string) =>
      (
        await sh(
          process.execPath,
          ['--import', tracer, '--input-type=module', '-e', `await import('${specifier}')`],
          app,
        )
      ).stderr;
    const clientsLoads = await loads('synapse-sdk/clients');
    expect(clientsLoads).toMatch(/synapse-sdk\/dist\/clients\/index\.js$/m);
    expect(clientsLoads).not.toMatch(
      /\/node_modules\/(zod|fastify|yaml|tsx)\/|synapse-sdk\/dist\/(plugins|serve|actions|executors)\//,
    );
    expect(await loads('synapse-sdk')).toMatch(/\/node_modules\/zod\//);

    await writeFile(
      join(app, 'clients.mjs'),
      `import * as clients from 'synapse-sdk/clients';
import * as root from 'synapse-sdk';

const names = Object.keys(clients);
console.log(JSON.stringify({
  names: names.length,
  same: names.filter((name) => clients[name] === root[name]).length,
  BackendClient: typeof clients.BackendClient,
}));
`,
    );
    const out = JSON.parse((await sh(process.execPath, ['clients.mjs'], app)).stdout);
    expect(out).toEqual({ names: out.same, same: expect.any(Number), BackendClient: 'function' });
    expect(out.names).toBeGreaterThan(10);
  });

  it('imports the format converters from synapse-sdk/formats: the same bindings as the root, working on plain Node', async () => {
    await writeFile(
      join(app, 'formats.mjs'),
      `import * as formats from 'synapse-sdk/formats';
import * as root from 'synapse-sdk';

const item = { fileName: 'a.jpg', width: 10, height: 10,
  objects: [{ id: 'o', class_id: 3, type: 'bbox', coordinates: { x: 0.5, y: 1, width: 2.25, height: 3 } }] };
const classes = [{ id: 3, name: 'car' }];
const { files } = formats.toVoc([item], { classes });
console.log(JSON.stringify({
  same: ['toCoco', 'fromCoco', 'toYolo', 'fromYolo', 'toVoc', 'fromVoc'].every((n) => typeof formats[n] === 'function' && formats[n] === root[n]),
  bbox: formats.toCoco([item], { classes }).coco.annotations[0].bbox,
  voc: formats.fromVoc(files['Annotations/a.xml'], 'a.xml', { classes }).item.objects[0].coordinates,
}));
`,
    );
    const out = JSON.parse((await sh(process.execPath, ['formats.mjs'], app)).stdout);
    expect(out).toEqual({
      same: true,
      bbox: [0.5, 1, 2.25, 3],
      voc: { x: 0.5, y: 1, width: 2.25, height: 3 },
    });
  });

  it("imports the run protocol from synapse-core/protocol: the contract's bindings, which the SDK re-exports", async () => {
    await writeFile(
      join(app, 'protocol.mjs'),
      `import * as protocol from 'synapse-core/protocol';
import * as core from 'synapse-core';
import * as sdk from 'synapse-sdk';

const reexported = ['releaseChecksum', 'releaseRoutePrefix', 'RESULT_START', 'RESULT_END', 'MULTIPLEX_HEADER',
  'MultiplexTokenError', 'PLUGIN_CATEGORIES', 'RUN_METHODS', 'LOG_LEVELS', 'defaultMethodFor'];
console.log(JSON.stringify({
  route: protocol.releaseRoutePrefix(protocol.releaseChecksum(protocol.releaseCode('echo-serve', '1.0.0'))),
  inCore: Object.keys(protocol).every((name) => core[name] === protocol[name]),
  inSdk: reexported.filter((name) => sdk[name] !== core[name]),
  runHost: sdk.ENV.runHost === protocol.RUN_ENV.runHost,
}));
`,
    );
    const { stdout } = await sh(process.execPath, ['protocol.mjs'], app);
    expect(JSON.parse(stdout)).toEqual({
      route: '/0b29c0e6335ecd901701dd0387289ea5',
      inCore: true,
      inSdk: [],
      runHost: true,
    });
  });

  it('requires from CommonJS on the Node versions of engines (require of ESM)', async () => {
    const manifest = JSON.parse(await readFile(join(app, 'node_modules/synapse-sdk/package.json'), 'utf8'));
    expect(manifest.engines.node).toBe('>=20.19');
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(
      major > 20 || (major === 20 && minor >= 19),
      `this Node (${process.version}) is one engines allows`,
    ).toBe(true);
    await writeFile(
      join(app, 'require.cjs'),
      `const sdk = require('synapse-sdk');
console.log(JSON.stringify({
  resolved: require.resolve('synapse-sdk'),
  BackendClient: typeof sdk.BackendClient,
  BaseAction: typeof sdk.BaseAction,
  z: typeof sdk.z.object,
}));
`,
    );
    const { stdout } = await sh(process.execPath, ['require.cjs'], app);
    expect(JSON.parse(stdout)).toEqual({
      resolved: join(app, 'node_modules/synapse-sdk/dist/index.js'),
      BackendClient: 'function',
      BaseAction: 'function',
      z: 'function',
    });
  });

  it.each(['nodenext', 'bundler'])(
    'type-checks a TypeScript consumer with moduleResolution %s and lib checks on',
    async (resolution) => {
      const dir = join(app, `ts-${resolution}`);
      await mkdir(dir);
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2023',
            lib: ['ES2023'],
            module: resolution === 'nodenext' ? 'nodenext' : 'preserve',
            moduleResolution: resolution,
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
          },
          include: ['*.mts'],
        }),
      );
      await writeFile(
        join(dir, 'consumer.mts'),
        `import {
  BackendClient,
  BaseAction,
  BaseStep,
  BaseStepContext,
  Orchestrator,
  StepRegistry,
  StepResult,
  type Task,
  z,
} from 'synapse-sdk';
import { BackendClient as Client, NotFoundError } from 'synapse-sdk/clients';

const Params = z.object({ name: z.string().min(1), times: z.number().int().positive().default(1) });

export class GreetAction extends BaseAction<z.infer<typeof Params>> {
  static override paramsSchema = Params;

  async execute() {
    this.logMessage(\`Greeting \${this.params.name}\`);
    return { message: \`Hello, \${this.params.name}!\`.repeat(this.params.times) };
  }
}

class CountStep extends BaseStep {
  get name() {
    return 'count';
  }
  get progressWeight() {
    return 1;
  }
  execute(ctx: BaseStepContext) {
    ctx.setProgress(1, 1);
    return new StepResult({ success: true, data: { counted: 1 } });
  }
}

export async function workflow(ctx: BaseStepContext): Promise<boolean> {
  const registry = new StepRegistry();
  registry.register(new CountStep());
  const result = await new Orchestrator(registry, ctx).execute();
  return result.success;
}

export async function firstTask(client: BackendClient): Promise<Task | undefined> {
  const [tasks, count] = await client.listTasks({ project: 1 });
  const n: number = count;
  return n > 0 ? tasks[0] : undefined;
}

export const sameClient: typeof BackendClient = Client;
export const isNotFound = (err: unknown): boolean => err instanceof NotFoundError && err.statusCode === 404;

// @ts-expect-error: the params schema types the action's params
export const wrong: z.infer<typeof Params> = { name: 42 };
`,
      );
      await sh(process.execPath, [TSC, '-p', dir], app);
    },
    5 * MINUTES,
  );

  it(
    'runs the CLI: --help, then a plugin that installs the tarball, tests, runs in each local mode, publishes and runs as a job',
    async () => {
      const help = await sh('npx', ['synapse', '--help'], app);
      expect(help.stdout).toMatch(/^Usage: synapse /);
      expect(help.stdout).toMatch(/^ {2}dev +run the local Synapse platform/m);

      const plugin = join(tmp, 'install-check');
      await sh(
        'npx',
        ['synapse', 'plugin', 'create', '--name', 'Install Check', '--category', 'export', '--path', plugin],
        app,
      );
      const manifest = JSON.parse(await readFile(join(plugin, 'package.json'), 'utf8'));
      expect(manifest.dependencies['synapse-sdk']).toBe('^0.1.0');

      // The contract package comes from its tarball too: from the registry, npm would fetch it.
      await sh(
        'npm',
        ['install', '--no-audit', '--no-fund', tarball('synapse-core'), tarball('synapse-sdk')],
        plugin,
      );
      // The plugin has the SDK only: `synapse dev` there says what to install.
      const noDevserver = await sh('npx', ['synapse', 'dev', '--port', '0'], plugin).then(
        () => null,
        (err: Error) => err.message,
      );
      expect(noDevserver).toMatch(
        /^Error: synapse dev needs the synapse-devserver package: npm install synapse-devserver$/m,
      );
      await sh('npm', ['test'], plugin);

      // The sample exports its project: the records the template's own test loads, here under the
      // ids this platform gives them (its demo seed holds some of theirs).
      const login = await savedConfig();
      const ids: Record<string, Record<number, number>> = {};
      const refs: Record<string, string> = {
        data_collection: 'data_collections',
        project: 'projects',
        data_unit: 'data_units',
      };
      for (const step of JSON.parse(await readFile(EXPORT_FIXTURES, 'utf8')) as Record<string, any[]>[]) {
        const [[kind, records]] = Object.entries(step);
        const body = records.map(({ id: _id, ...record }) => {
          for (const [key, family] of Object.entries(refs))
            if (typeof record[key] === 'number') record[key] = ids[family]![record[key]];
          return record;
        });
        const loaded = await fetch(new URL('_emulator/fixtures', `${login.host.replace(/\/$/, '')}/`), {
          method: 'POST',
          headers: {
            'Synapse-Access-Token': `Token ${login.access_token}`,
            'Content-Type': 'application/json',
          },
          body: JSON.stringify({ [kind!]: body }),
        });
        expect(loaded.status, await loaded.clone().text()).toBeLessThan(300);
        const created = ((await loaded.json()) as Record<string, number[]>)[kind!]!;
        ids[kind!] = Object.fromEntries(records.map((r, n) => [r.id, created[n]!]));
      }
      const sample = JSON.parse(await readFile(EXPORT_SAMPLE, 'utf8'));
      sample.params.filter.project = ids.projects![sample.params.filter.project];
      // One export folder per run (a second run into the same name writes `<name>(1)`).
      const exportRun = (name: string) => ({
        params: JSON.stringify({ ...sample.params, name }),
        result: { ...sample.result, output_path: name },
      });
      // In this process, in a task worker and in a job process: each from the compiled SDK, the
      // plugin's action still TypeScript.
      for (const mode of ['local', 'task', 'job']) {
        const run = exportRun(`${sample.params.name}-${mode}`);
        const { stdout } = await sh(
          'npx',
          ['synapse', 'plugin', 'run', 'export', '--params', run.params, '--mode', mode],
          plugin,
        );
        expect(lastJson(stdout), mode).toEqual(run.result);
      }

      const published = lastJson((await sh('npx', ['synapse', 'plugin', 'publish', '--yes'], plugin)).stdout);
      expect(published.release_id).toEqual(expect.any(Number));

      // On the platform, followed to its end: the result on stdout, the job's id on stderr.
      const remote = exportRun(`${sample.params.name}-platform`);
      const onPlatform = await sh(
        'npx',
        ['synapse', 'plugin', 'run', 'export', '--params', remote.params, '--on-platform'],
        plugin,
      );
      expect(lastJson(onPlatform.stdout)).toEqual(remote.result);
      const jobId = /Job (\S+) submitted/.exec(onPlatform.stderr)?.[1];
      expect(onPlatform.stderr).toContain(`Job ${jobId} SUCCEEDED.`);

      const { host, access_token } = await savedConfig();
      expect(host).toBe(devUrl);
      const client = new BackendClient(host, { accessToken: access_token });
      try {
        expect(await client.getJob(jobId!)).toMatchObject({ status: 'SUCCEEDED', result: remote.result });
      } finally {
        await client.close();
      }
    },
    15 * MINUTES,
  );
});
