/**
 * The tags every oracx run carries: the `mlflow.*` system tags MLflow's own clients put on a run (so oracx runs look
 * the same in the MLflow UI), and oracx's own: kind, version, and the commits of the code that ran and of the project.
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { oracxPackage } from '../version.js';

export const TAG = {
  runName: 'mlflow.runName',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  gitBranch: 'mlflow.source.git.branch',
  /** Nests a run under another in MLflow's UI (what mlflow.start_run(nested=True) sets). */
  parentRunId: 'mlflow.parentRunId',
  kind: 'oracx.kind',
  version: 'oracx.version',
  /** The commit of oracx's own checkout (the same value as mlflow.source.git.commit). */
  oracxCommit: 'oracx.git.commit',
  /** The commit of the git checkout the command ran in (the user's project: data, params files, config). */
  projectCommit: 'oracx.project.git.commit',
} as const;

/** What a run records: a training run, an evaluation, a tune study's parent run or one of its trials. */
export type RunKind = 'train' | 'evaluation' | 'tune-study' | 'tune-trial';

/** The current user as MLflow reports it (login name), or undefined when the OS has none (some containers). */
export function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? undefined;
  }
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
}

const SHA = /^[0-9a-f]{40,64}$/;

/** HEAD's commit of the git checkout containing `cwd`, or undefined (no git, not a checkout, timeout). */
export function gitCommit(cwd: string): string | undefined {
  const sha = git(cwd, ['rev-parse', 'HEAD']);
  return sha !== undefined && SHA.test(sha) ? sha : undefined;
}

export interface SourceGit {
  commit: string;
  /** Undefined on a detached HEAD (as in MLflow, which reads the active branch). */
  branch?: string;
}

/**
 * The commit (and branch) of the checkout holding the code in `dir`, as MLflow's GitRunContext reads it for the entry
 * script: the enclosing repository, unless `dir` is git-ignored there (a package installed in a project's
 * node_modules is not that project's code). Undefined when `dir` is in no checkout.
 */
export function sourceGit(dir: string): SourceGit | undefined {
  const out = git(dir, ['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'])?.split('\n');
  const commit = out?.[0];
  if (commit === undefined || !SHA.test(commit)) return undefined;
  // check-ignore exits 0 (ignored), 1 (not ignored); execFileSync throws on 1, so "undefined" means "not ignored".
  if (git(dir, ['check-ignore', '-q', dir]) !== undefined) return undefined;
  const branch = out?.[1];
  return branch && branch !== 'HEAD' ? { commit, branch } : { commit };
}

let oracxGit: { value: SourceGit | undefined } | null = null;

/** The commit of oracx's own code, found from where the package is installed (never from the working directory); cached. */
export function oracxSourceGit(): SourceGit | undefined {
  if (!oracxGit) {
    const root = oracxPackage().root;
    oracxGit = { value: root === null ? undefined : sourceGit(root) };
  }
  return oracxGit.value;
}

/**
 * mlflow.source.name (default: the running script), mlflow.source.type LOCAL, mlflow.user, mlflow.runName when given,
 * oracx.version and, when oracx runs from a git checkout, mlflow.source.git.commit/branch and oracx.git.commit.
 *
 * MLflow's Python client takes mlflow.source.git.commit from the repository of the entry-point script (sys.argv[0]),
 * not from the working directory. oracx's entry point is its own bin/oracx.js, so the analogue is oracx's checkout;
 * an installed oracx (npm, or git-ignored node_modules) has none and the tag is left out, as MLflow leaves it out for
 * a script outside git. The repository the user stands in is recorded separately (oracxRunTags). Never throws.
 */
export function standardRunTags(input: { runName?: string; source?: string } = {}): Record<string, string> {
  const tags: Record<string, string> = {
    // Like MLflow (sys.argv[0]): the entry script's path.
    [TAG.sourceName]: input.source ?? process.argv[1] ?? 'oracx',
    [TAG.sourceType]: 'LOCAL',
    [TAG.version]: oracxPackage().version,
  };
  const user = currentUser();
  if (user !== undefined) tags[TAG.user] = user;
  if (input.runName !== undefined && input.runName !== '') tags[TAG.runName] = input.runName;
  const source = oracxSourceGit();
  if (source !== undefined) {
    tags[TAG.gitCommit] = source.commit;
    tags[TAG.oracxCommit] = source.commit;
    if (source.branch !== undefined) tags[TAG.gitBranch] = source.branch;
  }
  return tags;
}

/**
 * The tags of every run oracx logs, whatever its kind: the standard ones, oracx.kind, and oracx.project.git.commit
 * when `cwd` (the folder the command ran in) is in a git checkout. Never throws.
 */
export function oracxRunTags(kind: RunKind, input: { runName: string; source: string; cwd: string }): Record<string, string> {
  const tags: Record<string, string> = { ...standardRunTags(input), [TAG.kind]: kind };
  const project = gitCommit(input.cwd);
  if (project !== undefined) tags[TAG.projectCommit] = project;
  return tags;
}
