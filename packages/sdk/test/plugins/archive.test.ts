import { createHash } from 'node:crypto';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { createArchive as create, listArchiveFiles, md5File } from '../../src/plugins/archive.ts';
import { ArchiveError } from '../../src/plugins/errors.ts';
import { isIgnored, parseIgnoreRules } from '../../src/plugins/ignore.ts';
import { removeLater, writeTree } from './plugin-dir.ts';

async function createArchive(dir: string) {
  const archive = await create(dir);
  removeLater(dirname(archive.path));
  return archive;
}

const ignores = (patterns: string[], path: string) => isIgnored(parseIgnoreRules(patterns), path);

describe('ignore rules (gitignore syntax)', () => {
  it('matches names at any depth unless anchored', () => {
    expect(ignores(['*.log'], 'a/b/run.log')).toBe(true);
    expect(ignores(['build'], 'src/build/out.js')).toBe(true);
    expect(ignores(['/build'], 'src/build/out.js')).toBe(false);
    expect(ignores(['/build'], 'build/out.js')).toBe(true);
    expect(ignores(['docs/*.md'], 'docs/a.md')).toBe(true);
    expect(ignores(['docs/*.md'], 'docs/sub/a.md')).toBe(false);
    expect(ignores(['docs/*.md'], 'x/docs/a.md')).toBe(false);
  });

  it('handles directory patterns, ** and character classes', () => {
    expect(ignores(['cache/'], 'cache')).toBe(false); // a file named like the directory
    expect(ignores(['cache/'], 'a/cache/x')).toBe(true);
    expect(ignores(['**/fixtures'], 'fixtures/a.json')).toBe(true);
    expect(ignores(['**/fixtures'], 'a/b/fixtures/a.json')).toBe(true);
    expect(ignores(['data/**'], 'data/a/b.bin')).toBe(true);
    expect(ignores(['data/**'], 'data')).toBe(false);
    expect(ignores(['a/**/z.txt'], 'a/z.txt')).toBe(true);
    expect(ignores(['a/**/z.txt'], 'a/b/c/z.txt')).toBe(true);
    expect(ignores(['file[0-9].txt'], 'file7.txt')).toBe(true);
    expect(ignores(['file[!0-9].txt'], 'file7.txt')).toBe(false);
    expect(ignores(['?.txt'], 'a.txt')).toBe(true);
    expect(ignores(['?.txt'], 'ab.txt')).toBe(false);
  });

  it('lets a later negation re-include, but not inside an ignored directory', () => {
    expect(ignores(['*.md', '!README.md'], 'README.md')).toBe(false);
    expect(ignores(['*.md', '!README.md'], 'NOTES.md')).toBe(true);
    expect(ignores(['!README.md', '*.md'], 'README.md')).toBe(true);
    expect(ignores(['secret/', '!secret/keep.txt'], 'secret/keep.txt')).toBe(true);
    expect(ignores(['secret/*', '!secret/keep.txt'], 'secret/keep.txt')).toBe(false);
  });

  it('skips comments and blank lines, and honours escapes', () => {
    expect(ignores(['# comment', '', '   '], '# comment')).toBe(false);
    expect(ignores(['\\#notes'], '#notes')).toBe(true);
    expect(ignores(['\\!important'], '!important')).toBe(true);
    expect(ignores(['*.tmp   '], 'a.tmp')).toBe(true);
  });
});

describe('createArchive', () => {
  const tree = {
    'config.yaml': 'name: demo\n',
    'plugin/train.ts': 'export class Train {}\n',
    'plugin/util.ts': 'export {};\n',
    'README.md': '# Demo\n',
    'NOTES.md': 'private\n',
    '.env': 'TOKEN=x\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    'node_modules/dep/index.js': '',
    'src/node_modules/x.js': '',
    'plugin/__pycache__/a.pyc': '',
    'debug.log': '',
    'plugin.zip': 'old',
    '.synapse_params.json': '{}',
    '.vscode/settings.json': '{}',
    'coverage/index.html': '',
    'build/out.js': '',
    'data/big/weights.bin': 'x',
    'data/keep/labels.json': '[]',
    'wheels/pkg.whl': 'wheel',
    'tmp/scratch.txt': '',
    '.gitignore': 'build/\n*.md\n!README.md\ntmp\n',
    '.synapseignore': '# heavy data\ndata/**\n!data/keep/\n!data/keep/**\n',
  };

  it('applies the built-in excludes, then .gitignore, then .synapseignore', async () => {
    const dir = await writeTree(tree);
    expect(await listArchiveFiles(dir)).toEqual([
      '.gitignore',
      '.synapseignore',
      'README.md',
      'config.yaml',
      'data/keep/labels.json',
      'plugin/train.ts',
      'plugin/util.ts',
      'wheels/pkg.whl',
    ]);
  });

  it('lets .synapseignore re-include what .gitignore left out', async () => {
    const dir = await writeTree({
      'config.yaml': '',
      'dist/index.js': '',
      '.gitignore': 'dist/\n',
      '.synapseignore': '!dist/\n',
    });
    expect(await listArchiveFiles(dir)).toEqual([
      '.gitignore',
      '.synapseignore',
      'config.yaml',
      'dist/index.js',
    ]);
  });

  it('zips the files, sorted, deflated, dated 1980-01-01, with the MD5 of the zip', async () => {
    const dir = await writeTree(tree);
    const archive = await createArchive(dir);
    const bytes = await readFile(archive.path);
    expect(archive.path.endsWith('/plugin.zip')).toBe(true);
    expect(archive.size).toBe(bytes.byteLength);
    expect(archive.checksum).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(await md5File(archive.path)).toBe(archive.checksum);

    const entries = unzipSync(bytes);
    expect(Object.keys(entries)).toEqual(archive.files);
    expect(strFromU8(entries['plugin/train.ts'])).toBe('export class Train {}\n');
    expect(strFromU8(entries['wheels/pkg.whl'])).toBe('wheel');

    // Local file headers: method 8 (deflate), DOS time 0, DOS date 1980-01-01 = (0 << 9) | (1 << 5) | 1.
    const header = new DataView(bytes.buffer, bytes.byteOffset);
    expect(header.getUint32(0, true)).toBe(0x04034b50);
    expect(header.getUint16(8, true)).toBe(8);
    expect(header.getUint16(10, true)).toBe(0);
    expect(header.getUint16(12, true)).toBe(0x21);
  });

  it('gives the same bytes for the same tree, whatever the file times', async () => {
    const first = await createArchive(await writeTree(tree));
    const otherDir = await writeTree(tree);
    await utimes(join(otherDir, 'config.yaml'), new Date('2020-05-05'), new Date('2020-05-05'));
    const second = await createArchive(otherDir);
    expect(second.checksum).toBe(first.checksum);
    expect(await readFile(second.path)).toEqual(await readFile(first.path));

    await writeFile(join(otherDir, 'plugin/util.ts'), 'export const changed = 1;\n');
    expect((await createArchive(otherDir)).checksum).not.toBe(first.checksum);
  });

  it('wraps any failure in ArchiveError', async () => {
    const missing = join(tmpdir(), 'sdk-archive-does-not-exist');
    const err = await createArchive(missing).catch((e) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect(err.message).toMatch(/^Failed to create archive: ENOENT/);

    if (process.getuid?.() === 0) return; // root reads anything
    const dir = await writeTree({ 'config.yaml': '', 'locked.txt': 'x' });
    await chmod(join(dir, 'locked.txt'), 0);
    await expect(createArchive(dir)).rejects.toThrow(/^Failed to create archive: EACCES/);
  });
});
