/**
 * The registry in the oracx store, for use without MLflow: the same versions/aliases semantics. Package folders live
 * under `<root>/<name>/<version>/` and a version row exists only once its folder is complete.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { UserError } from '../errors.js';
import type { Store } from '../store/connect.js';
import { auditTrail, type AuditEntry } from './audit.js';
import type { RegistryEvent } from './events.js';
import { copyDirAtomic, listFiles } from './files.js';
import type { ModelRecord, RegisterInput, Registry, VersionRecord } from './types.js';

type VersionRow = {
  version: number;
  run_id: number;
  mlflow_run_id: string | null;
  model_kind: string;
  feature_set: string;
  source: string;
  metrics: string;
  created_at: string | Date;
};

const iso = (t: string | Date): string => (t instanceof Date ? t.toISOString() : t);

export class LocalRegistry implements Registry {
  readonly backend = 'local' as const;
  readonly location: string;

  /** root: the folder package copies go to (e.g. `.oracx/registry`). */
  constructor(
    private readonly store: Store,
    private readonly root: string,
  ) {
    this.location = `${store.location} (local registry, packages in ${root})`;
  }

  private async modelId(name: string): Promise<number> {
    const row = await this.store.db.selectFrom('registered_models').select('id').where('name', '=', name).executeTakeFirst();
    if (!row) throw await this.unknownModel(name);
    return Number(row.id);
  }

  private async unknownModel(name: string): Promise<UserError> {
    const names = (await this.store.db.selectFrom('registered_models').select('name').orderBy('name').execute()).map((r) => r.name);
    return new UserError(`unknown registered model "${name}"`, {
      hint: names.length ? `registered: ${names.join(', ')}` : 'nothing is registered yet; see oracx register --help',
    });
  }

  private async aliasesOf(modelId: number): Promise<Map<number, string[]>> {
    const rows = await this.store.db.selectFrom('registry_aliases').select(['alias', 'version']).where('model_id', '=', modelId).orderBy('alias').execute();
    const out = new Map<number, string[]>();
    for (const r of rows) out.set(r.version, [...(out.get(r.version) ?? []), r.alias]);
    return out;
  }

  private record(name: string, row: VersionRow, aliases: string[]): VersionRecord {
    return {
      name,
      version: row.version,
      runId: Number(row.run_id),
      mlflowRunId: row.mlflow_run_id,
      modelKind: row.model_kind,
      featureSet: row.feature_set,
      source: row.source,
      status: 'READY',
      metrics: JSON.parse(row.metrics) as Record<string, unknown>,
      aliases,
      createdAt: iso(row.created_at),
    };
  }

  async register(input: RegisterInput): Promise<VersionRecord> {
    let written: string | null = null;
    try {
      const version = await this.store.db.transaction().execute(async (tx) => {
        let model = await tx.selectFrom('registered_models').select('id').where('name', '=', input.name).executeTakeFirst();
        model ??= await tx
          .insertInto('registered_models')
          .values({ name: input.name, description: input.description ?? '' })
          .returning('id')
          .executeTakeFirstOrThrow();
        const modelId = Number(model.id);
        // Concurrent registrations of one name on PostgreSQL take turns here; SQLite transactions already do.
        if (this.store.dialect === 'postgres') await tx.selectFrom('registered_models').select('id').where('id', '=', modelId).forUpdate().execute();
        const max = await tx
          .selectFrom('registry_versions')
          .select(sql<number | null>`max(version)`.as('v'))
          .where('model_id', '=', modelId)
          .executeTakeFirst();
        const next = Number(max?.v ?? 0) + 1;
        const source = path.join(this.root, input.name, String(next));
        await tx
          .insertInto('registry_versions')
          .values({
            model_id: modelId,
            version: next,
            run_id: input.runId,
            model_kind: input.modelKind,
            feature_set: input.featureSet,
            source,
            mlflow_run_id: input.mlflowRunId,
            metrics: JSON.stringify(input.metrics),
          })
          .execute();
        // A leftover folder from a registration that failed after copying (crash) is not a version: replace it.
        await rm(source, { recursive: true, force: true });
        await copyDirAtomic(input.packageDir, source);
        written = source;
        return next;
      });
      written = null;
      return await this.getVersion(input.name, version);
    } finally {
      // The copy happened but the transaction did not commit: remove it so no folder exists without its row.
      if (written !== null) await rm(written, { recursive: true, force: true });
    }
  }

  async listModels(): Promise<ModelRecord[]> {
    const names = await this.store.db.selectFrom('registered_models').select('name').orderBy('name').execute();
    return Promise.all(names.map((n) => this.getModel(n.name)));
  }

  async getModel(name: string): Promise<ModelRecord> {
    const model = await this.store.db.selectFrom('registered_models').selectAll().where('name', '=', name).executeTakeFirst();
    if (!model) throw await this.unknownModel(name);
    const id = Number(model.id);
    const stats = await this.store.db
      .selectFrom('registry_versions')
      .select([sql<number | null>`max(version)`.as('latest'), sql<number>`count(*)`.as('n')])
      .where('model_id', '=', id)
      .executeTakeFirst();
    const aliases = await this.store.db.selectFrom('registry_aliases').select(['alias', 'version']).where('model_id', '=', id).orderBy('alias').execute();
    return {
      name,
      description: model.description,
      latestVersion: stats?.latest === null || stats?.latest === undefined ? null : Number(stats.latest),
      versions: Number(stats?.n ?? 0),
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
      createdAt: iso(model.created_at),
    };
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const id = await this.modelId(name);
    const aliases = await this.aliasesOf(id);
    const rows = await this.store.db.selectFrom('registry_versions').selectAll().where('model_id', '=', id).orderBy('version', 'desc').execute();
    return rows.map((r) => this.record(name, r, aliases.get(r.version) ?? []));
  }

  async getVersion(name: string, version: number): Promise<VersionRecord> {
    const id = await this.modelId(name);
    const row = await this.store.db.selectFrom('registry_versions').selectAll().where('model_id', '=', id).where('version', '=', version).executeTakeFirst();
    if (!row) {
      const latest = (await this.getModel(name)).latestVersion;
      throw new UserError(`model "${name}" has no version ${version}`, { hint: latest ? `versions are 1…${latest}` : 'it has no versions' });
    }
    return this.record(name, row, (await this.aliasesOf(id)).get(version) ?? []);
  }

  async getAlias(name: string, alias: string): Promise<VersionRecord | null> {
    const id = await this.modelId(name);
    const row = await this.store.db.selectFrom('registry_aliases').select('version').where('model_id', '=', id).where('alias', '=', alias).executeTakeFirst();
    return row ? this.getVersion(name, row.version) : null;
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    await this.getVersion(name, version);
    const id = await this.modelId(name);
    await this.store.db
      .insertInto('registry_aliases')
      .values({ model_id: id, alias, version })
      .onConflict((oc) => oc.columns(['model_id', 'alias']).doUpdateSet({ version, updated_at: new Date().toISOString() }))
      .execute();
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    const id = await this.modelId(name);
    await this.store.db.deleteFrom('registry_aliases').where('model_id', '=', id).where('alias', '=', alias).execute();
  }

  async pull(version: VersionRecord, destDir: string): Promise<string[]> {
    try {
      await copyDirAtomic(version.source, destDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`the package of ${version.name} version ${version.version} is missing at ${version.source}`, { cause: error });
      if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ERR_FS_CP_EEXIST')
        throw new UserError(`${destDir} already exists`, { hint: 'pass --out to another folder or remove it', cause: error });
      throw error;
    }
    return (await listFiles(destDir)).map((f) => path.join(destDir, f));
  }

  /** The store's audit table is this registry's history: recordEvent (audit.ts) writes it, nothing else to do. */
  async appendEvent(_event: RegistryEvent): Promise<void> {}

  async history(name: string): Promise<{ entries: AuditEntry[]; warnings: string[] }> {
    await this.modelId(name);
    // The same store may also hold the audit of an MLflow model of the same name: only this registry's entries.
    return { entries: (await auditTrail(this.store, name)).filter((e) => e.backend === 'local'), warnings: [] };
  }
}
