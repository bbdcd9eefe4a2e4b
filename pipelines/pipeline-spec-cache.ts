/**
 * oracx.yaml parsed once per text: the validated PipelineSpec of a file is kept as JSON in oracx's cache folder, keyed
 * by the build of oracx, the file's name and its exact text, so a `oracx run` with nothing changed skips loading the
 * YAML parser and validating the file again (about a tenth of such a run; bench/pipeline-run.mjs). Any edit of the
 * file, or another build of oracx, is a new key. Only a successful parse is cached: a broken file is parsed, and
 * reported, every time. The cache is an optimisation only: an unreadable, unwritable or damaged entry is a miss.
 *
 * Where: ORACX_CACHE_DIR, else $XDG_CACHE_HOME/oracx, else ~/.cache/oracx; ORACX_CACHE_DIR=off turns it off. It is
 * used by the bundled CLI only (npm run build gives each build its id): code run from its sources never caches.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { PipelineSpec } from './pipeline-spec.js';

/** Set by scripts/bundle.mjs: a new id for every build. Undefined when running from the sources (no cache). */
declare const __ORACX_BUILD__: string | undefined;
const BUILD = typeof __ORACX_BUILD__ === 'string' ? __ORACX_BUILD__ : undefined;

/** Entries kept; the oldest beyond it are removed when a new one is written. */
const MAX_ENTRIES = 200;

/** The folder of parsed pipeline files, or null when caching is off (or this is not a build). */
export function pipelineCacheDir(env: NodeJS.ProcessEnv, build = BUILD): string | null {
  if (!build) return null;
  const set = env.ORACX_CACHE_DIR;
  if (set === 'off') return null;
  const root = set ? set : env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, 'oracx') : path.join(homedir(), '.cache', 'oracx');
  return path.join(root, 'pipelines');
}

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  /** The build id (default: this build's; tests pass one). */
  build?: string;
  /** Told whether the cache answered (hit) or was filled (miss), with the entry's path. */
  onCache?: (hit: boolean, entry: string) => void;
}

/** Parses oracx.yaml text (`file` as messages name it), through the cache when there is one. */
export async function loadPipeline(text: string, file: string, options: LoadOptions): Promise<PipelineSpec> {
  const build = options.build ?? BUILD;
  const dir = pipelineCacheDir(options.env, build);
  const entry = dir
    ? path.join(
        dir,
        `${createHash('sha256')
          .update(JSON.stringify([build, file, text]))
          .digest('hex')}.json`,
      )
    : null;
  const { onCache } = options;
  if (entry) {
    const cached = readEntry(entry, file);
    if (cached) {
      onCache?.(true, entry);
      return cached;
    }
  }
  const { parsePipeline } = await import('./pipeline-spec.js');
  const spec = parsePipeline(text, file);
  if (entry) {
    const written = writeEntry(entry, spec);
    if (written) onCache?.(false, entry);
  }
  return spec;
}

function readEntry(entry: string, file: string): PipelineSpec | null {
  try {
    const spec = JSON.parse(readFileSync(entry, 'utf8')) as PipelineSpec;
    return spec && typeof spec.name === 'string' && spec.file === file && Array.isArray(spec.stages) ? spec : null;
  } catch {
    return null;
  }
}

/** Writes the entry atomically (a reader sees the whole entry or none); false when the spec or the folder does not allow it. */
function writeEntry(entry: string, spec: PipelineSpec): boolean {
  const json = JSON.stringify(spec);
  // Only what JSON gives back unchanged (a YAML .inf or .nan would come back as null).
  if (!isDeepStrictEqual(JSON.parse(json), spec)) return false;
  const dir = path.dirname(entry);
  const tmp = `${entry}.${randomUUID()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, json);
    renameSync(tmp, entry);
    prune(dir);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/** Keeps the newest MAX_ENTRIES entries (by modification time). */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  if (names.length <= MAX_ENTRIES) return;
  const aged = names.map((n) => ({ n, t: statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => a.t - b.t);
  for (const { n } of aged.slice(0, names.length - MAX_ENTRIES)) rmSync(path.join(dir, n), { force: true });
}
