/**
 * `synapse plugin create`: a new plugin from the templates — the shared files of `templates/base`
 * and the category's action from `templates/<category>` — that runs and passes its own test.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deriveCode } from './config.ts';
import { defaultMethodFor, type PluginCategory } from './enums.ts';
import { PluginError } from './errors.ts';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

interface CategoryTemplate {
  action: string;
  className: string;
  description: string;
  sampleParams: unknown;
  sampleResult: unknown;
  invalidParams: unknown;
  /** The sample runs as a job on a fresh local platform: the plugin gets `test/platform.test.ts`. */
  platformTest?: boolean;
}

export interface ScaffoldOptions {
  name: string;
  category: PluginCategory;
  code?: string;
  /** Target directory; default `./<code>`. */
  dir?: string;
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

export async function scaffoldPlugin(opts: ScaffoldOptions): Promise<{ dir: string; files: string[] }> {
  const code = opts.code ?? deriveCode(opts.name);
  const dir = resolve(opts.dir ?? code);
  if (!(await isEmptyOrMissing(dir))) throw new PluginError(`${dir} already exists and is not empty`);
  const template: CategoryTemplate = JSON.parse(
    await readFile(join(TEMPLATES, opts.category, 'template.json'), 'utf8'),
  );
  const sdk = JSON.parse(await readFile(join(TEMPLATES, '..', 'package.json'), 'utf8'));
  const values: Record<string, string> = {
    name: opts.name,
    code,
    category: opts.category,
    description: template.description,
    action: template.action,
    module: template.action,
    className: template.className,
    method: defaultMethodFor(template.action),
    sampleParams: JSON.stringify(template.sampleParams),
    sampleResult: JSON.stringify(template.sampleResult),
    invalidParams: JSON.stringify(template.invalidParams),
    sdkVersion: sdk.version,
  };
  const files: Array<[target: string, source: string]> = [
    ['config.yaml', 'base/config.yaml'],
    ['package.json', 'base/package.json'],
    ['tsconfig.json', 'base/tsconfig.json'],
    ['README.md', 'base/README.md'],
    ['.synapseignore', 'base/.synapseignore'],
    [`plugin/${template.action}.ts`, `${opts.category}/action.ts`],
    [`test/${template.action}.test.ts`, 'base/test/action.test.ts'],
  ];
  // A sample that runs as a job on a fresh platform gets a test on a local platform too.
  if (template.platformTest) files.push(['test/platform.test.ts', 'base/test/platform.test.ts']);
  for (const [target, source] of files) {
    const path = join(dir, target);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, render(await readFile(join(TEMPLATES, source), 'utf8'), values));
  }
  return { dir, files: files.map(([target]) => target) };
}
