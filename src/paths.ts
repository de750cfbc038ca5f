import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root folder (the one holding package.json), found from this module's own location:
 * the same answer whether the code runs from source (src/) or compiled (dist/src/).
 */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** True when this process runs the compiled JavaScript in dist/ (production), not the TypeScript sources. */
export const RUNNING_COMPILED = import.meta.url.endsWith('.js');

/** Where `npm run build` writes the compiled code and the prebuilt workflow bundle. */
export const DIST_DIR = join(PROJECT_ROOT, 'dist');

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
