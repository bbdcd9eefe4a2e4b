/** oracx's own package: its version (package.json) and the folder it is installed in, wherever the code runs from. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface OracxPackage {
  version: string;
  /** The folder holding oracx's package.json, or null when it cannot be found (then the version is 0.0.0). */
  root: string | null;
}

let cached: OracxPackage | null = null;

/** oracx's package.json version and folder, found from this module (src/ in tests, dist/cli/ when bundled, dist/src/). */
export function oracxPackage(): OracxPackage {
  if (cached) return cached;
  for (const relative of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const url = new URL(relative, import.meta.url);
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'oracx') {
        cached = { version: pkg.version, root: fileURLToPath(new URL('.', url)).replace(/[\\/]$/, '') };
        return cached;
      }
    } catch {
      // the next candidate
    }
  }
  cached = { version: '0.0.0', root: null };
  return cached;
}

/** The oracx version, from package.json. */
export function version(): string {
  return oracxPackage().version;
}
