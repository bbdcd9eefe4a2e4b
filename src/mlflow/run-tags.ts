/** The `mlflow.*` system tags MLflow's own clients put on a run, so oracx runs look the same in the MLflow UI. */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

export const TAG = {
  runName: 'mlflow.runName',
  user: 'mlflow.user',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  gitCommit: 'mlflow.source.git.commit',
  /** Nests a run under another in MLflow's UI (what mlflow.start_run(nested=True) sets). */
  parentRunId: 'mlflow.parentRunId',
} as const;

/** The current user as MLflow reports it (login name), or undefined when the OS has none (some containers). */
export function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? undefined;
  }
}

/** HEAD's commit of the git checkout containing `cwd`, or undefined (no git, not a checkout, timeout). */
export function gitCommit(cwd: string): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const sha = out.trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}

/**
 * mlflow.source.name (default: the running script), mlflow.source.type LOCAL, mlflow.user, mlflow.runName when given,
 * and mlflow.source.git.commit when `cwd` is in a git checkout. Never throws.
 */
export function standardRunTags(input: { runName?: string; source?: string; cwd?: string } = {}): Record<string, string> {
  const tags: Record<string, string> = {
    // Like MLflow (sys.argv[0]): the entry script's path.
    [TAG.sourceName]: input.source ?? process.argv[1] ?? 'oracx',
    [TAG.sourceType]: 'LOCAL',
  };
  const user = currentUser();
  if (user !== undefined) tags[TAG.user] = user;
  if (input.runName !== undefined && input.runName !== '') tags[TAG.runName] = input.runName;
  const commit = gitCommit(input.cwd ?? process.cwd());
  if (commit !== undefined) tags[TAG.gitCommit] = commit;
  return tags;
}
