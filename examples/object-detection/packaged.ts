/** Files that ship inside the installed `@vladmandic/human` package (its models and sample photos). */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const PACKAGE = '@vladmandic/human';

/** `<package root>/<sub>`: found on the resolver's search paths (the package exports no package.json). */
export function packagedPath(sub: string): string {
  const paths = createRequire(import.meta.url).resolve.paths(PACKAGE) ?? [];
  const root = paths.map((p) => join(p, PACKAGE)).find((dir) => existsSync(join(dir, 'package.json')));
  if (!root) throw new Error(`${PACKAGE} is not installed: run npm ci`);
  return join(root, sub);
}
