/**
 * `synapse plugin create`: a new plugin from the templates — the shared files of `templates/base`
 * and every file of `templates/<category>` — that runs its sample and passes its own tests.
 *
 * The TypeScript and JSON files are copied as they are: the templates are checked by the repo's
 * biome and tsc, so a scaffolded plugin is formatted, lint-clean and type-correct. Only
 * `config.yaml`, `package.json` and `README.md` carry placeholders.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginCategory } from './enums.ts';
import { PluginError } from './errors.ts';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));
const CODE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/** `templates/<category>/template.json`: what `config.yaml` says beyond the name. */
interface CategoryTemplate {
  description: string;
  actions: Record<string, { entrypoint: string; method: string }>;
  /** More top-level config keys (a smart tool's `annotation_type`, ...). */
  config?: Record<string, string>;
}

/** `test/sample.json` of a template: the main action's sample, and the served one's when it serves. */
export interface TemplateSample {
  action: string;
  params: Record<string, unknown>;
  result: unknown;
  invalid_params: Record<string, unknown>;
  serve?: { deployment: string; request: Record<string, unknown>; response: unknown };
}

export interface ScaffoldOptions {
  name: string;
  category: PluginCategory;
  code?: string;
  /** Target directory; default `./<code>`. */
  dir?: string;
}

/**
 * The code of a new plugin: the name lower-cased, each run of other characters than `a-z` and
 * `0-9` (`_` included) one `-`, so `My_Plugin Demo` gives `my-plugin-demo`, never a mix of `-`
 * and `_`. (A config without `code` derives it keeping `_`, plugins.md §1.1; a new plugin's
 * config names its code, so the two never disagree.)
 */
export function newPluginCode(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `{{key}}` placeholders; values are inserted as they are. */
function render(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  return readdir(dir).then(
    (entries) => entries.length === 0,
    () => true,
  );
}

/** Every file under `dir`, as paths relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** The `actions:` block (and any extra keys) of `config.yaml`; strings as JSON, which YAML reads. */
function configYaml(template: CategoryTemplate): string {
  const extra = Object.entries(template.config ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`);
  const actions = Object.entries(template.actions).map(
    ([name, a]) =>
      `  ${name}:\n    entrypoint: ${JSON.stringify(a.entrypoint)}\n    method: ${JSON.stringify(a.method)}\n`,
  );
  return `${extra.join('')}actions:\n${actions.join('')}`.trimEnd();
}

/** The README's commands: test, run the sample, serve and ask the served app, publish. */
function readmeCommands(sample: TemplateSample, platformTest: boolean): string {
  const params = JSON.stringify(sample.params);
  const lines = [
    ['npm install', ''],
    ['npm test', "the plugin's own tests (test/)"],
    ...(platformTest
      ? [['npm install --save-dev synapse-devserver', 'then npm test also runs it on a local platform']]
      : []),
    [`npx synapse plugin run ${sample.action} --params '${params}'`, 'run it in this process'],
    [`npx synapse plugin run ${sample.action} --mode job --params '${params}'`, 'in its own process'],
    ...(sample.serve
      ? [
          [
            `npx synapse serve --deployment ${sample.serve.deployment}`,
            `serve ${sample.serve.deployment} on http://localhost:8100`,
          ],
          [
            `npx synapse plugin run ${sample.serve.deployment} --params '${JSON.stringify({ json: sample.serve.request })}'`,
            'ask it (in a second terminal)',
          ],
        ]
      : []),
    ['npx synapse plugin publish', 'upload a release to the platform'],
  ];
  const width = Math.max(...lines.map(([command]) => command.length)) + 3;
  return lines.map(([command, why]) => (why ? `${command.padEnd(width)}# ${why}` : command)).join('\n');
}

export async function scaffoldPlugin(
  opts: ScaffoldOptions,
): Promise<{ dir: string; code: string; files: string[] }> {
  const code = opts.code ?? newPluginCode(opts.name);
  if (opts.code !== undefined && !CODE_PATTERN.test(code)) {
    throw new PluginError(`Invalid code '${code}'. Use lowercase letters, digits, '-' and '_' only`);
  }
  if (!code) {
    throw new PluginError(`Cannot make a plugin code of the name '${opts.name}': give one with --code`);
  }
  const dir = resolve(opts.dir ?? code);
  if (!(await isEmptyOrMissing(dir))) throw new PluginError(`${dir} already exists and is not empty`);
  const categoryDir = join(TEMPLATES, opts.category);
  const template: CategoryTemplate = JSON.parse(await readFile(join(categoryDir, 'template.json'), 'utf8'));
  const sample: TemplateSample = JSON.parse(await readFile(join(categoryDir, 'test/sample.json'), 'utf8'));
  const categoryFiles = (await filesUnder(categoryDir)).filter((f) => f !== 'template.json');
  const sdk = JSON.parse(await readFile(join(TEMPLATES, '..', 'package.json'), 'utf8'));
  const values: Record<string, string> = {
    // Quoted by the template: YAML reads a JSON string as that string.
    name: JSON.stringify(opts.name).slice(1, -1),
    title: opts.name,
    code,
    category: opts.category,
    description: template.description,
    config: configYaml(template),
    commands: readmeCommands(sample, categoryFiles.includes('test/platform.test.ts')),
    sdkVersion: sdk.version,
  };
  const files: Array<[target: string, source: string, rendered: boolean]> = [
    ['config.yaml', 'base/config.yaml', true],
    ['package.json', 'base/package.json', true],
    ['tsconfig.json', 'base/tsconfig.json', false],
    ['README.md', 'base/README.md', true],
    ['.synapseignore', 'base/.synapseignore', false],
    [`test/${sample.action}.test.ts`, 'base/test/action.test.ts', false],
    ...(sample.serve
      ? [['test/serve.test.ts', 'base/test/serve.test.ts', false] as [string, string, boolean]]
      : []),
    ...categoryFiles.map((f): [string, string, boolean] => [f, join(opts.category, f), false]),
  ];
  // A category's own file replaces the base file of that name (an action whose test needs a platform).
  const own = new Set(categoryFiles);
  const chosen = files.filter(
    ([target, source]) => !own.has(target) || source === join(opts.category, target),
  );
  for (const [target, source, rendered] of chosen) {
    const path = join(dir, target);
    const text = await readFile(join(TEMPLATES, source), 'utf8');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, rendered ? render(text, values) : text);
  }
  return { dir, code, files: chosen.map(([target]) => target) };
}
