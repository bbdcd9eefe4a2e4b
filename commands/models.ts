/**
 * `oracx models list|show|promote|rollback|pull`: the model registry, the same on MLflow and in the local store. Under
 * --json each prints one document, also when it fails (withJsonErrors).
 */
import path from 'node:path';
import { defineCommand } from '../src/command.js';
import { parseGate, type Gate } from '../src/ml/evaluation/gates.js';
import { currentActor } from '../src/registry/audit.js';
import { checkAlias, checkModelName, parseVersionRef } from '../src/registry/names.js';
import type { VersionRecord } from '../src/registry/types.js';
import { withJsonErrors } from './json-errors.js';
import { integer, list, seasons } from './parse.js';
import { openRegistry, REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';

interface Common {
  registry: RegistryChoice;
}

const ALIAS_OPTION = { flags: '--alias <alias>', description: 'the alias to move', defaultValue: 'champion' };

/** Promotion gates may also compare with the current holder of the alias ("champion"). */
function requireGate(value: string, previous?: unknown): Gate[] {
  return [...((previous as Gate[] | undefined) ?? []), parseGate(value, ['bookmaker', 'naive', 'elo', 'champion'])];
}

const aliasList = (v: VersionRecord) => v.aliases.join(', ') || '—';
/** Params the fit chose itself, as 'l2=0.237' ('l2=1 (fallback)' when the window was too small to choose). */
function autoParams(v: VersionRecord): string {
  const auto = v.metrics.auto as Record<string, { value: number; method: string }> | undefined;
  const items = Object.entries(auto ?? {}).map(([k, c]) => `${k}=${c.value}${c.method === 'fallback' ? ' (fallback)' : ''}`);
  return items.join(', ') || '—';
}
const fixed = (x: unknown, digits = 4) => (typeof x === 'number' ? x.toFixed(digits) : '—');

export const modelsList = withJsonErrors(
  defineCommand<Common>({
    path: ['models', 'list'],
    description: 'registered models with their latest version and aliases',
    options: [REGISTRY_OPTION],
    examples: ['oracx models list', 'oracx models list --registry local --json'],
    async run(ctx, _args, options) {
      const { registry } = await openRegistry(ctx, options.registry);
      const models = await registry.listModels();
      if (ctx.output.json) return ctx.output.printJson({ registry: registry.backend, models });
      if (models.length === 0) return ctx.logger.info(`no registered models in ${registry.location}; see oracx register --help`);
      ctx.output.printTable({
        head: ['model', 'versions', 'latest', 'aliases', 'created'],
        rows: models.map((m) => [
          m.name,
          m.versions,
          m.latestVersion ?? '—',
          Object.entries(m.aliases)
            .map(([a, v]) => `${a}=${v}`)
            .join(', ') || '—',
          m.createdAt,
        ]),
      });
    },
  }),
);

export const modelsShow = withJsonErrors(
  defineCommand<Common>({
    path: ['models', 'show'],
    args: '<name>',
    description: 'versions of a registered model, its aliases and their history (promotions and rollbacks)',
    options: [REGISTRY_OPTION],
    examples: ['oracx models show oracx-e0', 'oracx models show oracx-e0 --json'],
    async run(ctx, args, options) {
      const name = checkModelName(args[0]!);
      const { registry } = await openRegistry(ctx, options.registry);
      const model = await registry.getModel(name);
      const versions = await registry.listVersions(name);
      // The registry's own history: on MLflow its event tags, the same on every machine sharing the server.
      const { entries: history, warnings } = await registry.history(name);
      for (const w of warnings) ctx.logger.warn(w);
      if (ctx.output.json) return ctx.output.printJson({ registry: registry.backend, model, versions, history, warnings });
      ctx.output.printTable({
        head: ['version', 'aliases', 'kind', 'features', 'run', 'MLflow run', 'train RPS', 'auto params', 'status', 'created'],
        rows: versions.map((v) => [
          v.version,
          aliasList(v),
          v.modelKind,
          v.featureSet,
          v.runId ?? '—',
          v.mlflowRunId ?? '—',
          fixed((v.metrics.train as { rps?: number } | undefined)?.rps),
          autoParams(v),
          v.status,
          v.createdAt,
        ]),
      });
      if (history.length) {
        ctx.output.printTable({
          head: ['when', 'action', 'alias', 'from', 'to', 'by', 'figures'],
          rows: history.map((h) => {
            const f = h.details.figures as { challenger?: { rps: number }; champion?: { rps: number } } | undefined;
            const figures = f?.challenger ? `RPS ${f.challenger.rps.toFixed(4)}${f.champion ? ` vs ${f.champion.rps.toFixed(4)}` : ''}` : '';
            return [h.createdAt, h.action, h.alias ?? '—', h.fromVersion ?? '—', h.toVersion ?? '—', h.actor, figures];
          }),
        });
      }
    },
  }),
);

interface PromoteOptions extends Common {
  alias: string;
  require?: Gate[];
  competitions?: string[];
  seasons?: string[];
  lastSeasons?: number;
  allowFeatureChange?: boolean;
}

export const modelsPromote = withJsonErrors(
  defineCommand<PromoteOptions>({
    path: ['models', 'promote'],
    args: '<ref>',
    description:
      'point an alias (champion) at a version if it beats the current holder on the same evaluation window (exit 3 if not); ref is NAME/VERSION, NAME@ALIAS, or NAME for its "challenger" alias (else its latest version)',
    options: [
      ALIAS_OPTION,
      {
        flags: '--require <gate>',
        description: 'gate against the current holder or a baseline, e.g. "rps<=champion" or "rps<=bookmaker+0.005"; repeatable',
        parse: requireGate,
      },
      { flags: '--competitions <codes>', description: 'evaluation window: competitions (default: those the challenger was trained on)', parse: list },
      { flags: '--seasons <seasons>', description: 'evaluation window: seasons after both training windows (default: the latest season)', parse: seasons },
      { flags: '--last-seasons <n>', description: 'instead of --seasons: the last N seasons', parse: integer(1) },
      { flags: '--allow-feature-change', description: 'allow a challenger on another feature set than the current holder' },
      REGISTRY_OPTION,
    ],
    examples: [
      'oracx models promote oracx-e0 --alias champion --require "rps<=champion"',
      'oracx models promote oracx-e0/3 --require "rps<=champion-0.001" --seasons 2019-2020',
    ],
    async run(ctx, args, options) {
      const ref = parseVersionRef(args[0]!);
      const name = ref.name;
      checkAlias(options.alias);
      const store = await ctx.store();
      const { registry } = await openRegistry(ctx, options.registry);
      // A bare NAME means its "challenger" alias when that is set, else its latest version.
      const version = 'version' in ref ? ref.version : undefined;
      let fromAlias = 'alias' in ref ? ref.alias : undefined;
      if ('latest' in ref && (await registry.getAlias(name, 'challenger'))) fromAlias = 'challenger';
      const { promote } = await import('../pipelines/promote.js');
      const progress = await ctx.output.progress(`promoting ${name}`);
      const result = await promote(store, registry, {
        name,
        alias: options.alias,
        version,
        fromAlias,
        gates: options.require ?? [],
        window: { competitions: options.competitions ?? [], seasons: options.seasons ?? [], lastSeasons: options.lastSeasons },
        allowFeatureChange: options.allowFeatureChange,
        actor: currentActor(ctx.io.env),
        signal: ctx.signal,
      }).finally(() => progress.stop());
      ctx.logger.info(`${name}: "${result.alias}" now version ${result.to}${result.from === null ? '' : ` (was ${result.from})`}`);
      if (ctx.output.json) return ctx.output.printJson(result);
      const f = result.figures;
      ctx.output.printTable({
        head: ['model', 'alias', 'from', 'to', 'challenger RPS', 'champion RPS', 'bookmaker RPS', 'matches', 'gates'],
        rows: [
          [
            name,
            result.alias,
            result.from ?? '—',
            result.to,
            fixed(f?.challenger.rps),
            fixed(f?.champion?.rps),
            fixed(f?.bookmaker?.rps),
            f?.challenger.n ?? '—',
            result.gates.map((g) => `${g.gate} ✓`).join(', ') || '—',
          ],
        ],
      });
    },
  }),
);

interface RollbackOptions extends Common {
  alias: string;
  to?: number;
}

export const modelsRollback = withJsonErrors(
  defineCommand<RollbackOptions>({
    path: ['models', 'rollback'],
    args: '<name>',
    description: 'move an alias (champion) back to the version that held it before',
    options: [ALIAS_OPTION, { flags: '--to <version>', description: 'roll back to this version instead', parse: integer(1) }, REGISTRY_OPTION],
    examples: ['oracx models rollback oracx-e0', 'oracx models rollback oracx-e0 --alias champion --to 2'],
    async run(ctx, args, options) {
      const name = checkModelName(args[0]!);
      checkAlias(options.alias);
      const store = await ctx.store();
      const { registry } = await openRegistry(ctx, options.registry);
      const { rollback } = await import('../pipelines/promote.js');
      const result = await rollback(store, registry, { name, alias: options.alias, to: options.to, actor: currentActor(ctx.io.env) });
      for (const w of result.warnings ?? []) ctx.logger.warn(w);
      ctx.logger.info(`${name}: "${result.alias}" rolled back from version ${result.from} to ${result.to}`);
      if (ctx.output.json) return ctx.output.printJson(result);
      ctx.output.printTable({ head: ['model', 'alias', 'from', 'to'], rows: [[name, result.alias, result.from ?? '—', result.to]] });
    },
  }),
);

interface PullOptions extends Common {
  out?: string;
}

export const modelsPull = withJsonErrors(
  defineCommand<PullOptions>({
    path: ['models', 'pull'],
    args: '<ref>',
    description: "copy a version's package (model.onnx, MLmodel, oracx-model.json…) to a folder; ref is NAME, NAME@ALIAS or NAME/VERSION",
    options: [{ flags: '--out <dir>', description: 'destination folder (default: ./NAME-vVERSION)' }, REGISTRY_OPTION],
    examples: ['oracx models pull oracx-e0@champion', 'oracx models pull oracx-e0/3 --out serving/model'],
    async run(ctx, args, options) {
      const ref = parseVersionRef(args[0]!);
      const { registry } = await openRegistry(ctx, options.registry);
      const { UserError } = await import('../src/errors.js');
      let version: VersionRecord;
      if ('version' in ref) version = await registry.getVersion(ref.name, ref.version);
      else if ('alias' in ref) {
        const v = await registry.getAlias(ref.name, ref.alias);
        if (!v) throw new UserError(`model "${ref.name}" has no alias "${ref.alias}"`, { hint: `see oracx models show ${ref.name}` });
        version = v;
      } else {
        const latest = (await registry.getModel(ref.name)).latestVersion;
        if (latest === null) throw new UserError(`model "${ref.name}" has no versions`);
        version = await registry.getVersion(ref.name, latest);
      }
      const dest = path.resolve(ctx.io.cwd, options.out ?? `${version.name}-v${version.version}`);
      const { existsSync, readdirSync } = await import('node:fs');
      if (existsSync(dest) && readdirSync(dest).length > 0) {
        throw new UserError(`${dest} already exists and is not empty`, { hint: 'pass --out to another folder or remove it' });
      }
      const files = await registry.pull(version, dest);
      ctx.logger.info(`${version.name} version ${version.version} pulled to ${dest} (${files.length} files)`);
      if (ctx.output.json) return ctx.output.printJson({ name: version.name, version: version.version, dir: dest, files });
      ctx.output.printTable({ head: ['file'], rows: files.map((f) => [path.relative(ctx.io.cwd, f)]) });
    },
  }),
);
