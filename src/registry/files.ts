/** Folder copies for model packages: whole or not at all. */
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Every file under dir, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * Copies the folder `from` to `to` through a sibling temporary folder renamed into place, so `to` is either absent
 * or complete. Fails if `to` exists.
 */
export async function copyDirAtomic(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}-${Date.now()}`;
  try {
    await cp(from, tmp, { recursive: true, errorOnExist: true, force: false });
    await rename(tmp, to);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
