/** The oracx version, from package.json (found from src/ in tests and from dist/ when built). */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

export function version(): string {
  if (cached) return cached;
  for (const relative of ['../../package.json', '../../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'oracx') return (cached = pkg.version);
    } catch {
      // the next candidate
    }
  }
  return (cached = '0.0.0');
}
