/**
 * `models promote` and `models rollback`: move an alias (champion by default) between versions of a registered model,
 * behind gates that compare the challenger with the current champion on the same evaluation window, and record every
 * move in the registry's history (MLflow's event tags, the local store's audit table) that rollback walks back.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GateFailed, UserError } from '../src/errors.js';
import { checkGate, type Gate, type GateOutcome } from '../src/ml/evaluation/gates.js';
import type { MetricSummary } from '../src/ml/evaluation/report-types.js';
import { loadModel } from '../src/ml/models/index.js';
import { aliasStack, currentActor, moveAlias } from '../src/registry/audit.js';
import { PACKAGE_FILES, withPackage } from '../src/registry/package.js';
import type { Registry, VersionRecord } from '../src/registry/types.js';
import type { Store } from '../src/store/connect.js';
import { evaluate, type FixedModel } from './evaluate.js';

/** Which matches promotion gates are measured on: the same for challenger and champion. */
export interface PromotionWindow {
  /** Default: the competitions the challenger was trained on. */
  competitions: string[];
  seasons: string[];
  /** Used when seasons is empty; default 1 (the latest season of each competition). */
  lastSeasons?: number;
}

export interface PromoteOptions {
  name: string;
  alias: string;
  /** The challenger: this version, else the version holding `fromAlias`, else the latest. */
  version?: number;
  fromAlias?: string;
  gates: Gate[];
  window: PromotionWindow;
  /** Let a challenger on another feature set replace the champion (the serving features change with it). */
  allowFeatureChange?: boolean;
  /** Who is promoting, for the audit (default: currentActor()). */
  actor?: string;
  signal?: AbortSignal;
}

export interface PromotionFigures {
  challenger: MetricSummary;
  champion?: MetricSummary;
  bookmaker?: MetricSummary;
  seasons: string[];
  competitions: string[];
}

export interface PromoteResult {
  name: string;
  alias: string;
  from: number | null;
  to: number;
  figures?: PromotionFigures;
  gates: GateOutcome[];
  /** Records of the history that could not be read (hand-edited MLflow tags) and were left out of a rollback. */
  warnings?: string[];
}

/** A gate failed: exit 3, with what was measured (a failed `promote --json` prints it in its error document). */
export class PromotionRefused extends GateFailed {
  constructor(
    message: string,
    readonly details: { name: string; alias: string; from: number | null; to: number; figures?: PromotionFigures; gates: GateOutcome[] },
    options?: { hint?: string },
  ) {
    super(message, options);
    this.name = 'PromotionRefused';
  }
}

/** Reads a package's model and training window, for an evaluation of it as it is. */
export async function loadPackagedModel(dir: string, label: string): Promise<FixedModel> {
  let serialized: unknown;
  let meta: { featureSet?: string; competitions?: string[]; trainFrom?: string; trainUntil?: string };
  try {
    serialized = JSON.parse(await readFile(path.join(dir, PACKAGE_FILES.model), 'utf8'));
    meta = JSON.parse(await readFile(path.join(dir, PACKAGE_FILES.metadata), 'utf8')) as typeof meta;
  } catch (error) {
    throw new UserError(`cannot read the package of ${label} in ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (typeof meta.featureSet !== 'string' || !Array.isArray(meta.competitions)) {
    throw new UserError(`the package of ${label} has no featureSet/competitions in ${PACKAGE_FILES.metadata}`);
  }
  return {
    label,
    model: loadModel(serialized),
    featureSet: meta.featureSet,
    competitions: meta.competitions,
    trainFrom: meta.trainFrom ?? '0000-01-01',
    trainUntil: meta.trainUntil ?? '9999-12-31',
  };
}

async function challengerOf(registry: Registry, options: PromoteOptions): Promise<VersionRecord> {
  if (options.version !== undefined) return registry.getVersion(options.name, options.version);
  if (options.fromAlias !== undefined) {
    const v = await registry.getAlias(options.name, options.fromAlias);
    if (!v) throw new UserError(`model "${options.name}" has no alias "${options.fromAlias}"`, { hint: 'pass --version N' });
    return v;
  }
  const latest = (await registry.getModel(options.name)).latestVersion;
  if (latest === null) throw new UserError(`model "${options.name}" has no versions`);
  return registry.getVersion(options.name, latest);
}

/** Evaluates one packaged version on the promotion window. */
async function measure(store: Store, registry: Registry, version: VersionRecord, window: PromotionWindow, signal?: AbortSignal) {
  return withPackage(registry, version, async (dir) => {
    const fixed = await loadPackagedModel(dir, `${version.name} version ${version.version}`);
    return evaluate(store, {
      model: fixed.model.kind,
      featureSet: fixed.featureSet,
      competitions: window.competitions.length ? window.competitions : fixed.competitions,
      seasons: window.seasons,
      lastSeasons: window.seasons.length ? undefined : (window.lastSeasons ?? 1),
      walkForward: { kind: 'season' },
      seed: 0,
      params: {},
      fixed,
      bookmaker: true,
      margin: 'multiplicative',
      gates: [],
      signal,
    });
  });
}

/** Moves the alias to the challenger if every gate holds; exit 3 (GateFailed) with the figures otherwise. */
export async function promote(store: Store, registry: Registry, options: PromoteOptions): Promise<PromoteResult> {
  const challenger = await challengerOf(registry, options);
  if (challenger.status !== 'READY') {
    throw new UserError(`${options.name} version ${challenger.version} is ${challenger.status}, not READY: it cannot be promoted`, {
      hint: 'wait for the registration to finish, or register the run again',
    });
  }
  const champion = await registry.getAlias(options.name, options.alias);
  if (champion?.version === challenger.version) {
    throw new UserError(`${options.name} version ${challenger.version} already holds "${options.alias}"`);
  }
  if (champion && champion.featureSet !== challenger.featureSet && !options.allowFeatureChange) {
    throw new UserError(
      `${options.name} version ${challenger.version} uses feature set ${challenger.featureSet} but the ${options.alias} (version ${champion.version}) uses ${champion.featureSet}`,
      { hint: "clients send the champion's features; pass --allow-feature-change if they are ready for the new set" },
    );
  }

  let figures: PromotionFigures | undefined;
  let gates: GateOutcome[] = [];
  if (options.gates.length > 0) {
    const needsChampion = options.gates.some((g) => g.threshold.kind === 'baseline' && g.threshold.baseline === 'champion');
    // Both models are scored on the same matches: the window must follow both training windows.
    const competitions = options.window.competitions.length ? options.window.competitions : await competitionsOf(registry, challenger);
    const window = { ...options.window, competitions };
    const mine = await measure(store, registry, challenger, window, options.signal);
    const theirs = champion ? await measure(store, registry, champion, window, options.signal) : undefined;
    figures = { challenger: mine.overall, champion: theirs?.overall, bookmaker: mine.baselines.bookmaker, seasons: mine.seasons, competitions };
    if (theirs && theirs.overall.n !== mine.overall.n) {
      throw new UserError(`challenger and champion were scored on different matches (${mine.overall.n} vs ${theirs.overall.n})`);
    }
    gates = options.gates
      .filter((g) => champion || !needsChampion || !(g.threshold.kind === 'baseline' && g.threshold.baseline === 'champion'))
      .map((g) => {
        try {
          return checkGate(g, mine.overall, { ...mine.baselines, ...(theirs ? { champion: theirs.overall } : {}) });
        } catch (error) {
          throw new UserError((error as Error).message);
        }
      });
    const failed = gates.filter((g) => !g.passed);
    if (failed.length > 0) {
      const why = failed.map((g) => `${g.gate}: ${g.actual.toFixed(5)} vs ${g.threshold.toFixed(5)}`).join('; ');
      throw new PromotionRefused(
        `${options.name} version ${challenger.version} not promoted to "${options.alias}": ${why}`,
        { name: options.name, alias: options.alias, from: champion?.version ?? null, to: challenger.version, figures, gates },
        { hint: `measured on ${mine.overall.n} matches of ${competitions.join(', ')} ${mine.seasons.join(', ')}` },
      );
    }
  }

  await moveAlias(store, registry, {
    modelName: options.name,
    action: 'promote',
    alias: options.alias,
    fromVersion: champion?.version ?? null,
    toVersion: challenger.version,
    actor: options.actor ?? currentActor(),
    details: { gates, ...(figures ? { figures } : {}), ...(champion ? {} : { note: 'no previous holder: comparison gates skipped' }) },
  });
  return { name: options.name, alias: options.alias, from: champion?.version ?? null, to: challenger.version, figures, gates };
}

async function competitionsOf(registry: Registry, version: VersionRecord): Promise<string[]> {
  return withPackage(registry, version, async (dir) => (await loadPackagedModel(dir, `${version.name} version ${version.version}`)).competitions);
}

export interface RollbackOptions {
  name: string;
  alias: string;
  /** Roll back to this version instead of the previous holder. */
  to?: number;
  actor?: string;
}

/**
 * Moves the alias back to the version that held it before the current one, or to `to`. The previous holder comes from
 * the registry's history: on MLflow its event tags, so a machine that never saw the promotions can roll back.
 */
export async function rollback(store: Store, registry: Registry, options: RollbackOptions): Promise<PromoteResult> {
  const current = await registry.getAlias(options.name, options.alias);
  if (!current) throw new UserError(`model "${options.name}" has no alias "${options.alias}" to roll back`);
  let target = options.to;
  let warnings: string[] = [];
  if (target === undefined) {
    const history = await registry.history(options.name);
    const entries = history.entries;
    warnings = history.warnings;
    const stack = aliasStack(entries.filter((e) => e.alias === options.alias));
    // A record that could not be read may be the missing step: say so beside the way out.
    const unread = warnings.length ? `; ${warnings.length} history record(s) could not be read (see oracx models show ${options.name})` : '';
    if (stack[stack.length - 1] !== current.version) {
      throw new UserError(
        `"${options.alias}" of ${options.name} is version ${current.version}, but its history in ${registry.location} has it at ${stack.length ? `version ${stack[stack.length - 1]}` : 'no version'}: it was moved outside oracx`,
        { hint: `pass --to VERSION to choose the version${unread}` },
      );
    }
    if (stack.length < 2)
      throw new UserError(`"${options.alias}" of ${options.name} has no previous version to roll back to`, { hint: `pass --to VERSION${unread}` });
    target = stack[stack.length - 2]!;
  }
  await registry.getVersion(options.name, target);
  if (target === current.version) throw new UserError(`${options.name} version ${target} already holds "${options.alias}"`);
  await moveAlias(store, registry, {
    modelName: options.name,
    action: 'rollback',
    alias: options.alias,
    fromVersion: current.version,
    toVersion: target,
    actor: options.actor ?? currentActor(),
    details: options.to === undefined ? {} : { explicit: true },
  });
  return { name: options.name, alias: options.alias, from: current.version, to: target, gates: [], ...(warnings.length ? { warnings } : {}) };
}
