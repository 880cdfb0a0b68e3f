/**
 * Every section reference (the section sign and a number) in the repo resolves to a heading of
 * the contract in `docs/spec/`. A reference names its spec file first or inherits the last spec
 * file its file named before it: a module's header comment names the file once and its members
 * cite bare section numbers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const specDir = join(root, 'docs/spec');
const SCANNED = ['packages', 'examples', 'scripts', 'docs/architecture.md', 'README.md'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.tmp', 'spec']);

function* sourceFiles(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(join(path, entry.name));
    } else if (/\.(ts|mjs|md)$/.test(entry.name)) yield join(path, entry.name);
  }
}

/** Section numbers by spec file, from its headings (`## 10. Plugins`, `### 10.3 Running ...`). */
function specSections(): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  for (const name of readdirSync(specDir)) {
    const numbers = new Set<string>();
    for (const match of readFileSync(join(specDir, name), 'utf8').matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm))
      numbers.add(match[1]);
    sections.set(name, numbers);
  }
  return sections;
}

interface Problem {
  at: string;
  ref: string;
  rule: string;
}

/** The unresolved references of one file's text. */
export function unresolvedRefs(at: string, text: string, sections: Map<string, Set<string>>): Problem[] {
  const problems: Problem[] = [];
  let specFile: string | null = null;
  // Spec file names and `§` numbers in reading order; a file name sets the context for what follows.
  for (const match of text.matchAll(/([a-z][a-z-]*\.md)|§\s?(\d+(?:\.\d+)*)/g)) {
    if (match[1]) {
      if (sections.has(match[1])) specFile = match[1];
      continue;
    }
    const line = text.slice(0, match.index).split('\n').length;
    const ref = `§${match[2]}`;
    if (!specFile) problems.push({ at: `${at}:${line}`, ref, rule: 'names no docs/spec file before it' });
    else if (!sections.get(specFile)?.has(match[2]))
      problems.push({ at: `${at}:${line}`, ref, rule: `${specFile} has no section ${match[2]}` });
  }
  return problems;
}

describe('the contract in docs/spec', () => {
  it('holds every spec file the code names', () => {
    const names = readdirSync(specDir).sort();
    expect(names).toEqual([
      'README.md',
      'backend-api.md',
      'client.md',
      'inference.md',
      'plugins.md',
      'to-task.md',
    ]);
  });

  it('resolves every § reference in code, tests, scripts and docs', () => {
    const sections = specSections();
    const problems: Problem[] = [];
    let refs = 0;
    for (const top of SCANNED) {
      for (const file of sourceFiles(join(root, top))) {
        const text = readFileSync(file, 'utf8');
        if (!text.includes('§')) continue;
        refs += text.split('§').length - 1;
        problems.push(...unresolvedRefs(relative(root, file), text, sections));
      }
    }
    // The repo cites the spec about two hundred times; a scan that finds none is broken.
    expect(refs).toBeGreaterThan(100);
    expect(problems.map((p) => `${p.at}: ${p.ref} ${p.rule}`)).toEqual([]);
  });

  it('reports a bare reference and a missing section by place and rule', () => {
    const sections = specSections();
    // Built from parts so that this file's own scan does not find these references.
    const sign = '\u00a7';
    const text = `/** ${sign}3 first */\n// plugins.md ${sign}10.5 then ${sign}99\n`;
    expect(unresolvedRefs('x.ts', text, sections)).toEqual([
      { at: 'x.ts:1', ref: `${sign}3`, rule: 'names no docs/spec file before it' },
      { at: 'x.ts:2', ref: `${sign}99`, rule: 'plugins.md has no section 99' },
    ]);
  });
});
