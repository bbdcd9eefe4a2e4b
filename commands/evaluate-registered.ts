/** `evaluate --registered NAME[/VERSION|@ALIAS]`: a registered model version, evaluated as it is, linked to where it came from. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../src/context.js';
import { UsageError } from '../src/errors.js';
import { checkAlias, checkModelName } from '../src/registry/names.js';
import type { Store } from '../src/store/connect.js';
import type { FixedModel } from '../pipelines/evaluate.js';
import { openRegistry, type RegistryChoice } from './registry-context.js';

/** Which version --registered names: `name/3`, `name@champion`, `name` (the latest), optionally as `models:/…`. */
export interface RegisteredSpec {
  name: string;
  version?: number;
  alias?: string;
}

/** Parses --registered (commander parser): a usage error names the forms it takes. */
export function parseRegistered(value: string): RegisteredSpec {
  const spec = value.startsWith('models:/') ? value.slice('models:/'.length) : value;
  const m = /^([^/@]+)(?:\/(\d+)|@(.+))?$/.exec(spec);
  if (!m)
    throw new UsageError(`invalid --registered "${value}"`, { hint: 'use NAME/VERSION, NAME@ALIAS or NAME (its latest version), e.g. oracx-e0@champion' });
  const name = checkModelName(m[1]!);
  if (m[2] !== undefined) return { name, version: Number(m[2]) };
  if (m[3] !== undefined) return { name, alias: checkAlias(m[3]) };
  return { name };
}

/** MLflow 3's LoggedModel id, when the package's MLmodel names one (`model_id:`). */
async function modelIdOf(dir: string): Promise<string | undefined> {
  const { PACKAGE_FILES } = await import('../src/registry/package.js');
  const text = await readFile(path.join(dir, PACKAGE_FILES.mlmodel), 'utf8').catch(() => '');
  const id = /^model_id:\s*['"]?([^'"\s]+)['"]?\s*$/m.exec(text)?.[1];
  return id && id !== 'null' ? id : undefined;
}

/**
 * Resolves the version in its registry, brings its package here (downloaded from MLflow, removed afterwards) and
 * runs `use` on it as a fixed model carrying the version and, when this store holds it, the training run it came from.
 */
export async function withRegisteredModel<T>(
  ctx: Context,
  store: Store,
  spec: RegisteredSpec,
  choice: RegistryChoice,
  use: (fixed: FixedModel) => Promise<T>,
): Promise<T> {
  const { UserError } = await import('../src/errors.js');
  const { registry } = await openRegistry(ctx, choice);
  let version: Awaited<ReturnType<typeof registry.getAlias>>;
  if (spec.version !== undefined) version = await registry.getVersion(spec.name, spec.version);
  else if (spec.alias !== undefined) {
    version = await registry.getAlias(spec.name, spec.alias);
    if (!version) throw new UserError(`model "${spec.name}" has no alias "${spec.alias}"`, { hint: `see oracx models show ${spec.name}` });
  } else {
    const latest = (await registry.getModel(spec.name)).latestVersion;
    if (latest === null) throw new UserError(`model "${spec.name}" has no versions`);
    version = await registry.getVersion(spec.name, latest);
  }
  if (version.status !== 'READY') throw new UserError(`${spec.name} version ${version.version} is ${version.status}, not READY`);
  const v = version;
  const { withPackage } = await import('../src/registry/package.js');
  const { loadPackagedModel } = await import('../pipelines/promote.js');
  const { trainedRunOf } = await import('../pipelines/evaluate.js');
  const { trainingMlflowRunId } = await import('../pipelines/track-evaluate.js');
  return withPackage(registry, v, async (dir) => {
    const fixed = await loadPackagedModel(dir, `${v.name} version ${v.version}`);
    // A run id is the id in the store that registered it: trusted when that is this store (local registry) or when
    // this store's run reached the same MLflow run the version was registered from.
    const same =
      v.runId !== null && (registry.backend === 'local' || (v.mlflowRunId !== null && (await trainingMlflowRunId(store, v.runId)) === v.mlflowRunId));
    const trained = same ? await trainedRunOf(store, v.runId!) : null;
    const modelId = await modelIdOf(dir);
    return use({
      ...fixed,
      ...(trained ? { trainedRun: (({ artifactPath: _path, ...t }) => t)(trained) } : {}),
      registered: { name: v.name, version: v.version, mlflowRunId: v.mlflowRunId, ...(modelId ? { modelId } : {}) },
    });
  });
}
