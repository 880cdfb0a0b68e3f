/**
 * The publish archive (plugins.md §11.2): the plugin's files minus ignored ones, zipped so that
 * the same tree always gives the same bytes, hence the same checksum.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Zippable, zipSync } from 'fflate';
import { ArchiveError } from './errors.ts';
import { listFiles, parseIgnoreRules, readIgnoreFile } from './ignore.ts';

/** Never published: VCS data, dependencies, caches, secrets and our own artefacts. */
export const BUILTIN_EXCLUDES = [
  '.git/',
  '.hg/',
  '.svn/',
  'node_modules/',
  '__pycache__/',
  '*.pyc',
  '.venv/',
  'venv/',
  '.env',
  '.DS_Store',
  '.idea/',
  '.vscode/',
  '.pytest_cache/',
  '.mypy_cache/',
  '.ruff_cache/',
  'coverage/',
  '*.log',
  'plugin.zip',
  '.synapse_params.json',
];

/** DOS time starts in 1980; a fixed local date keeps the bytes independent of file times and time zone. */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

export interface PluginArchive {
  /** The zip, `plugin.zip` in a fresh temporary directory. */
  path: string;
  /** MD5 hex of the zip bytes. */
  checksum: string;
  /** Archived paths, relative and sorted. */
  files: string[];
  size: number;
}

/** The files to publish: built-in excludes, then the root `.gitignore`, then `.synapseignore`; later rules win. */
export async function listArchiveFiles(pluginDir: string): Promise<string[]> {
  const rules = parseIgnoreRules([
    ...BUILTIN_EXCLUDES,
    ...(await readIgnoreFile(join(pluginDir, '.gitignore'))),
    ...(await readIgnoreFile(join(pluginDir, '.synapseignore'))),
  ]);
  return listFiles(pluginDir, rules);
}

export async function createArchive(pluginDir: string): Promise<PluginArchive> {
  try {
    const files = await listArchiveFiles(pluginDir);
    const entries: Zippable = {};
    for (const file of files) entries[file] = [await readFile(join(pluginDir, file)), { mtime: FIXED_MTIME }];
    const zip = zipSync(entries, { level: 6 });
    const path = join(await mkdtemp(join(tmpdir(), 'synapse-plugin-')), 'plugin.zip');
    await writeFile(path, zip);
    return { path, checksum: await md5File(path), files, size: zip.byteLength };
  } catch (e) {
    throw new ArchiveError(`Failed to create archive: ${(e as Error).message}`, {}, { cause: e });
  }
}

/** MD5 hex of a file, read in 1 MiB chunks. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}
