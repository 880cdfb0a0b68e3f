/**
 * gitignore-style file selection for plugin directories (plugins.md §3.3, §11.2): `#` comments,
 * `!` negation, `/` anchoring, trailing `/` for directories, `*`, `?`, `[...]` and `**`.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface Rule {
  regex: RegExp;
  negated: boolean;
  dirOnly: boolean;
}

/** Parses ignore-file lines; later rules win over earlier ones, as in git. */
export function parseIgnoreRules(lines: Iterable<string>): Rule[] {
  const rules: Rule[] = [];
  for (const line of lines) {
    let pattern = line.replace(/(?<!\\)\s+$/, '');
    if (!pattern || pattern.startsWith('#')) continue;
    const negated = pattern.startsWith('!');
    if (negated) pattern = pattern.slice(1);
    else if (pattern.startsWith('\\!') || pattern.startsWith('\\#')) pattern = pattern.slice(1);
    const dirOnly = pattern.endsWith('/');
    if (dirOnly) pattern = pattern.slice(0, -1);
    if (!pattern) continue;
    // A slash anywhere but at the end ties the pattern to the root; otherwise it matches at any depth.
    const anchored = pattern.includes('/');
    if (pattern.startsWith('/')) pattern = pattern.slice(1);
    const body = globToRegex(pattern);
    rules.push({ regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), negated, dirOnly });
  }
  return rules;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
      i++;
      if (atStart && glob[i + 1] === '/') {
        out += '(?:.*/)?'; // `**/`: zero or more directories
        i++;
      } else if (atStart && atEnd) {
        out += '.*'; // trailing `/**`: everything inside
      } else {
        out += '[^/]*'; // `**` inside a name is a plain `*`
      }
    } else if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      const set = glob
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      out += `[${set}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[++i]);
    } else {
      out += escapeRegex(c);
    }
  }
  return out;
}

function escapeRegex(c: string): string {
  return /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
}

/** Whether `path` (relative, `/`-separated) is ignored by itself; the last matching rule decides. */
function matchesRules(rules: Rule[], path: string, isDir: boolean): boolean {
  let ignored = false;
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    if (rule.regex.test(path)) ignored = !rule.negated;
  }
  return ignored;
}

/** `path` is ignored when it or any parent directory is: git cannot re-include a file of an ignored directory. */
export function isIgnored(rules: Rule[], path: string): boolean {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    if (matchesRules(rules, parts.slice(0, i).join('/'), true)) return true;
  }
  return matchesRules(rules, path, false);
}

/** The lines of an ignore file, or none when it does not exist. */
export async function readIgnoreFile(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  return text.split(/\r?\n/);
}

/** Every file under `root` not ignored by `rules`, as sorted `/`-separated relative paths. */
export async function listFiles(root: string, rules: Rule[]): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const rel = prefix + entry.name;
      const full = join(dir, entry.name);
      // Symlinked files are followed; symlinked directories are not (they may loop).
      const isDir = entry.isDirectory();
      const isFile =
        entry.isFile() ||
        (entry.isSymbolicLink() &&
          (await stat(full).then(
            (s) => s.isFile(),
            () => false,
          )));
      if (matchesRules(rules, rel, isDir)) continue;
      if (isDir) await walk(full, `${rel}/`);
      else if (isFile) files.push(rel);
    }
  }
  await walk(root, '');
  return files.sort();
}
