import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json is), found from this module so it works from src/ and dist/. */
export const packageRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('fieldgate: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** A shipped resource path (layouts, mapping): as given if it exists from the cwd, else from the package root. */
export function resolveResource(p: string): string {
  if (path.isAbsolute(p) || existsSync(p)) return path.resolve(p);
  return path.join(packageRoot, p);
}
