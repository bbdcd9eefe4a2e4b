/**
 * Artifacts through the tracking server's proxy (`/api/2.0/mlflow-artifacts/artifacts/...`, `mlflow server
 * --serve-artifacts`, the default). Paths here are "proxied paths": relative to the server's artifact destination,
 * e.g. `1/<run>/artifacts/model/model.onnx`.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MlflowError, MlflowNotFound, MlflowValidationError } from './errors.js';
import type { MlflowHttp } from './http.js';
import type { FileInfo } from './types.js';
import { Responses } from './wire.js';

export const ARTIFACTS_API = '/api/2.0/mlflow-artifacts/artifacts';
const PROXY_ANCHOR = `${ARTIFACTS_API}/`;

const join = (...parts: string[]) => parts.filter((p) => p !== '').join('/');
const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** A relative artifact path with `/` separators and no empty, `.` or `..` segments ('' allowed for the root when `root`). */
export function normaliseArtifactPath(value: string, options: { root?: boolean } = {}): string {
  const p = value.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  const segments = p === '' ? [] : p.split('/');
  if ((segments.length === 0 && !options.root) || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new MlflowValidationError(`artifact path "${value}" is not a plain relative path (no empty, . or .. segments)`, { endpoint: ARTIFACTS_API });
  }
  // The server refuses '#' and URL-decodes paths until they stop changing, so "%41" would be stored as "A".
  if (/#|%[0-9a-f]{2}/i.test(p)) {
    throw new MlflowValidationError(`artifact path "${value}" has "#" or a %-escape, which the MLflow server refuses or rewrites`, { endpoint: ARTIFACTS_API });
  }
  return segments.join('/');
}

/**
 * The proxied path of an artifact location: `mlflow-artifacts:/1/<run>/artifacts`, `mlflow-artifacts://host/…` or
 * `http(s)://host/api/2.0/mlflow-artifacts/artifacts/…`. Other stores (s3://, file paths) are not reachable via the proxy.
 */
export function proxiedPath(uri: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'mlflow-artifacts') {
    const rest = uri.slice('mlflow-artifacts:'.length);
    const pathPart = rest.startsWith('//') ? rest.slice(2).replace(/^[^/]*/, '') : rest;
    return normaliseArtifactPath(decodeURIComponent(pathPart), { root: true });
  }
  if ((scheme === 'http' || scheme === 'https') && uri.includes(PROXY_ANCHOR)) {
    const after = new URL(uri).pathname.split(PROXY_ANCHOR)[1] ?? '';
    return normaliseArtifactPath(decodeURIComponent(after), { root: true });
  }
  throw new MlflowError(`artifact location ${uri} is not served through the tracking server, so oracx cannot reach it`, {
    endpoint: ARTIFACTS_API,
    hint: 'use a server started with --serve-artifacts (the default) and an experiment whose artifact location is mlflow-artifacts:/…',
  });
}

/** PUTs one file. */
export async function uploadProxied(http: MlflowHttp, proxied: string, body: Uint8Array | string, contentType?: string): Promise<void> {
  await http.request({ method: 'PUT', path: `${ARTIFACTS_API}/${encode(proxied)}`, body, contentType });
}

/** The entries directly under a proxied directory (names only, as the proxy returns them); [] for a file or nothing. */
export async function listProxied(http: MlflowHttp, proxied: string): Promise<FileInfo[]> {
  const files = await http.json({ method: 'GET', path: ARTIFACTS_API, query: { path: proxied } }, Responses.files);
  for (const f of files) {
    // Names become local file names on download: nothing that could climb out of the destination.
    if (f.path === '' || f.path === '.' || f.path === '..' || /[/\\]/.test(f.path)) {
      throw new MlflowError(`artifact listing of ${proxied} has an unsafe entry name "${f.path}"`, { endpoint: ARTIFACTS_API });
    }
  }
  return files;
}

/** GETs one file's bytes. */
export async function downloadProxied(http: MlflowHttp, proxied: string): Promise<Uint8Array> {
  const response = await http.request({ method: 'GET', path: `${ARTIFACTS_API}/${encode(proxied)}` });
  return response.body;
}

/** Whether a proxied path is a directory, a file, or missing, from its parent's listing. */
async function kindOf(http: MlflowHttp, proxied: string): Promise<'dir' | 'file' | 'missing'> {
  const cut = proxied.lastIndexOf('/');
  if (cut < 0) return 'dir';
  const name = proxied.slice(cut + 1);
  const entry = (await listProxied(http, proxied.slice(0, cut))).find((f) => f.path === name);
  if (!entry) return 'missing';
  return entry.isDir ? 'dir' : 'file';
}

async function writeLocal(file: string, bytes: Uint8Array): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return file;
}

/** Downloads the file or tree at `proxied` into `localTarget` (the file itself, or the directory to fill); local files. */
export async function downloadTree(http: MlflowHttp, proxied: string, localTarget: string): Promise<string[]> {
  const kind = await kindOf(http, proxied);
  if (kind === 'missing') {
    throw new MlflowNotFound(`no artifact at ${proxied}`, { endpoint: ARTIFACTS_API, errorCode: 'RESOURCE_DOES_NOT_EXIST' });
  }
  if (kind === 'file') return [await writeLocal(localTarget, await downloadProxied(http, proxied))];
  const out: string[] = [];
  const walk = async (dir: string, local: string): Promise<void> => {
    for (const entry of await listProxied(http, dir)) {
      const child = join(dir, entry.path);
      const target = path.join(local, entry.path);
      if (entry.isDir) await walk(child, target);
      else out.push(await writeLocal(target, await downloadProxied(http, child)));
    }
  };
  await walk(proxied, localTarget);
  return out;
}

/** Files under a local directory, as paths relative to it with `/` separators (symlinks followed), sorted. */
export async function localFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const relChild = rel === '' ? name : `${rel}/${name}`;
      const info = await stat(path.join(dir, relChild));
      if (info.isDirectory()) await walk(relChild);
      else if (info.isFile()) out.push(relChild);
    }
  };
  await walk('');
  return out;
}

/** Uploads every file under `localDir` below the proxied directory `proxiedDir`, a few at a time. */
export async function uploadTree(http: MlflowHttp, proxiedDir: string, localDir: string, concurrency = 4): Promise<string[]> {
  const files = await localFiles(localDir);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const rel = files[next++] as string;
      await uploadProxied(http, join(proxiedDir, rel), await readFile(path.join(localDir, rel)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return files;
}

export { join as joinArtifactPath };
