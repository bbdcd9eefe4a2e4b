import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitCommit, oracxRunTags, oracxSourceGit, sourceGit, standardRunTags } from '../../src/mlflow/run-tags.js';
import { oracxPackage } from '../../src/version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname);
const dirs: string[] = [];
afterAll(() =>
  dirs.forEach((d) => {
    rmSync(d, { recursive: true, force: true });
  }),
);

/** A fresh git repository with one commit (and a .gitignore for node_modules); its folder and commit. */
function repo(): { dir: string; commit: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'oracx-tags-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  git('init', '-q', '-b', 'project-main');
  writeFileSync(path.join(dir, '.gitignore'), 'node_modules\n');
  git('add', '.gitignore');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'init');
  return { dir, commit: git('rev-parse', 'HEAD') };
}

describe('oracx package', () => {
  it('finds its version and folder from the module, not from the working directory', () => {
    expect(oracxPackage()).toEqual({ version: pkg.version, root: ROOT });
  });
});

describe('sourceGit', () => {
  it('gives the commit and branch of the checkout holding a folder', () => {
    const { dir, commit } = repo();
    expect(sourceGit(dir)).toEqual({ commit, branch: 'project-main' });
  });

  it('gives nothing for a folder git-ignored in the repository around it (a package in node_modules), or outside git', () => {
    const { dir } = repo();
    const installed = path.join(dir, 'node_modules', 'oracx');
    mkdirSync(installed, { recursive: true });
    expect(sourceGit(installed)).toBeUndefined();
    expect(sourceGit(mkdtempSync(path.join(tmpdir(), 'oracx-nogit-')))).toBeUndefined();
    expect(sourceGit('/does/not/exist')).toBeUndefined();
  });
});

describe('oracxRunTags', () => {
  it("records oracx's own commit as mlflow.source.git.commit, never the repository the command runs in", () => {
    const project = repo();
    const tags = oracxRunTags('train', { runName: 'r', source: 'oracx train', cwd: project.dir });
    expect(tags).toMatchObject({
      'mlflow.source.name': 'oracx train',
      'mlflow.source.type': 'LOCAL',
      'mlflow.runName': 'r',
      'oracx.kind': 'train',
      'oracx.version': pkg.version,
      'oracx.project.git.commit': project.commit,
    });
    expect(tags['mlflow.source.git.commit']).not.toBe(project.commit);
    // The tests run from oracx's checkout (or a copy without .git): its commit, or none.
    const own = oracxSourceGit();
    expect(own?.commit).toBe(gitCommit(ROOT));
    expect(tags['mlflow.source.git.commit']).toBe(own?.commit);
    expect(tags['oracx.git.commit']).toBe(own?.commit);
  });

  it('leaves the project commit out outside a checkout, gives every kind the same tags, and never throws', () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'oracx-nogit-'));
    dirs.push(outside);
    const kinds = ['train', 'evaluation', 'tune-study', 'tune-trial'] as const;
    const all = kinds.map((kind) => oracxRunTags(kind, { runName: 'r', source: 's', cwd: outside }));
    all.forEach((tags, i) => {
      expect(tags['oracx.kind']).toBe(kinds[i]);
      expect(tags['oracx.project.git.commit']).toBeUndefined();
      expect(tags['oracx.version']).toBe(pkg.version);
    });
    expect(() => oracxRunTags('train', { runName: 'r', source: 's', cwd: '/does/not/exist' })).not.toThrow();
  });

  it("standardRunTags (every run the client creates) carries the version and oracx's commit but no project commit", () => {
    const tags = standardRunTags({ runName: 'r' });
    expect(tags['oracx.version']).toBe(pkg.version);
    expect(tags['mlflow.source.git.commit']).toBe(oracxSourceGit()?.commit);
    expect(tags['oracx.project.git.commit']).toBeUndefined();
  });
});
