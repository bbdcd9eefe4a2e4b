/**
 * Registry events as MLflow holds them, so every machine sharing one MLflow server reads one history: one
 * registered-model tag per event (`oracx.event.<sortable time>-<random>` = compact JSON), never overwritten, so two
 * writers at once add two tags instead of one replacing the other; and per-alias tags on the versions an event moved
 * an alias to and from, for whoever browses a version's page in MLflow's UI.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AuditAction, AuditEntry } from './audit.js';

/** Prefix of the registered-model tags that hold events. */
export const EVENT_TAG_PREFIX = 'oracx.event.';

/**
 * MLflow 3.17 validates registry tag values up to 100,000 characters, but its SQL store keeps registered-model tag
 * values in a VARCHAR(5000) column (mlflow/store/model_registry/dbmodels/models.py, SqlRegisteredModelTag): on
 * PostgreSQL or MySQL a longer value fails. Events stay within what every backend store keeps.
 */
export const EVENT_VALUE_LIMIT = 5000;

/** What one registry event says: the audit entry minus what the store adds (id, backend). */
export interface RegistryEvent {
  modelName: string;
  action: AuditAction;
  alias: string | null;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  details: Record<string, unknown>;
}

const version = z.number().int().positive().nullable();
const EventValue = z.object({
  action: z.enum(['register', 'promote', 'rollback', 'set-alias', 'delete-alias']),
  alias: z.string().nullable(),
  from: version,
  to: version,
  actor: z.string(),
  at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
  details: z.record(z.string(), z.unknown()).default({}),
});

/** `20261201T081502.123Z`: ISO 8601 basic format, which sorts as text in time order. */
function sortableTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '');
}

/** Milliseconds since the epoch of an event key's time, or null when the key is not an event key. */
export function eventKeyTime(key: string): number | null {
  const m = /^oracx\.event\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-[0-9a-f]+$/.exec(key);
  if (!m) return null;
  const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  return Number.isNaN(t) ? null : t;
}

/**
 * A new event key: the later of now and 1 ms after the latest event already recorded, so an event written after
 * reading another machine's sorts after it even when this machine's clock is behind; a random suffix keeps two
 * writers at the same millisecond apart.
 */
export function newEventKey(existingKeys: Iterable<string>, now = Date.now()): string {
  let latest = -Infinity;
  for (const key of existingKeys) latest = Math.max(latest, eventKeyTime(key) ?? -Infinity);
  return `${EVENT_TAG_PREFIX}${sortableTime(Math.max(now, latest + 1))}-${randomBytes(4).toString('hex')}`;
}

/** Gates and headline figures only: what is left of details too long for one tag. */
function briefDetails(details: Record<string, unknown>): Record<string, unknown> {
  const gates = Array.isArray(details.gates)
    ? (details.gates as { gate?: unknown; passed?: unknown; actual?: unknown; threshold?: unknown }[]).map((g) => ({
        gate: g.gate,
        passed: g.passed,
        actual: g.actual,
        threshold: g.threshold,
      }))
    : undefined;
  const figures = details.figures as Record<string, { rps?: unknown; n?: unknown } | undefined> | undefined;
  const brief = (s?: { rps?: unknown; n?: unknown }) => (s ? { rps: s.rps, n: s.n } : undefined);
  return {
    ...(gates ? { gates } : {}),
    ...(figures ? { figures: { challenger: brief(figures.challenger), champion: brief(figures.champion), bookmaker: brief(figures.bookmaker) } } : {}),
    truncated: true,
  };
}

/**
 * The tag value of an event: compact JSON within EVENT_VALUE_LIMIT. Details that do not fit are cut to the gates and
 * headline figures (marked `truncated`), then dropped; the local store keeps them whole.
 */
export function encodeEvent(event: RegistryEvent, at: Date): string {
  const base = { action: event.action, alias: event.alias, from: event.fromVersion, to: event.toVersion, actor: event.actor, at: at.toISOString() };
  for (const details of [event.details, briefDetails(event.details), { truncated: true }]) {
    const value = JSON.stringify({ ...base, details });
    if (value.length <= EVENT_VALUE_LIMIT) return value;
  }
  throw new RangeError(
    `a registry event of ${event.modelName} does not fit in ${EVENT_VALUE_LIMIT} characters even without its details (actor "${event.actor.slice(0, 40)}…")`,
  );
}

/**
 * The events among a registered model's tags, oldest first. A tag under the event prefix that does not parse (edited
 * by hand) is skipped with a warning naming it, so one bad tag never hides the rest of the history.
 */
export function decodeEvents(modelName: string, tags: Record<string, string>): { entries: AuditEntry[]; warnings: string[] } {
  const entries: AuditEntry[] = [];
  const warnings: string[] = [];
  const keys = Object.keys(tags)
    .filter((k) => k.startsWith(EVENT_TAG_PREFIX))
    .sort();
  for (const key of keys) {
    const raw = tags[key]!;
    let parsed: ReturnType<typeof EventValue.safeParse>;
    try {
      parsed = EventValue.safeParse(JSON.parse(raw));
    } catch (error) {
      warnings.push(`registered model tag ${key} is not JSON (${(error as Error).message}): event skipped`);
      continue;
    }
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
      warnings.push(`registered model tag ${key} is not an oracx event (${why}): event skipped`);
      continue;
    }
    const e = parsed.data;
    entries.push({
      id: entries.length + 1,
      key,
      modelName,
      action: e.action,
      alias: e.alias,
      fromVersion: e.from,
      toVersion: e.to,
      backend: 'mlflow',
      actor: e.actor,
      details: e.details,
      createdAt: new Date(Date.parse(e.at)).toISOString(),
    });
  }
  return { entries, warnings };
}

/** One-line gate summary for a version tag, e.g. "rps<=champion: 0.20110 vs 0.20300". */
function gateLine(details: Record<string, unknown>): string | undefined {
  const gates = details.gates as { gate: string; actual: number; threshold: number }[] | undefined;
  if (!Array.isArray(gates) || gates.length === 0) return undefined;
  return gates.map((g) => `${g.gate}: ${Number(g.actual).toFixed(5)} vs ${Number(g.threshold).toFixed(5)}`).join('; ');
}

/**
 * Version tags an event leaves, by version: `oracx.<alias>.promoted_{at,by,from,via,gates}` on the version that now
 * holds the alias, `oracx.<alias>.demoted_{at,by,to,via}` on the one that lost it, `oracx.registered_by` on a new
 * version. They describe the latest move only; the history is the event tags.
 */
export function versionTags(event: RegistryEvent, at: Date): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  const add = (v: number, tags: Record<string, string>) => out.set(v, { ...(out.get(v) ?? {}), ...tags });
  const when = at.toISOString();
  if (event.action === 'register' && event.toVersion !== null) add(event.toVersion, { 'oracx.registered_by': event.actor, 'oracx.registered_at': when });
  if (event.alias === null) return out;
  const p = `oracx.${event.alias}`;
  if (event.toVersion !== null) {
    const gates = gateLine(event.details);
    add(event.toVersion, {
      [`${p}.promoted_at`]: when,
      [`${p}.promoted_by`]: event.actor,
      [`${p}.promoted_from`]: event.fromVersion === null ? 'none' : String(event.fromVersion),
      [`${p}.promoted_via`]: event.action,
      ...(gates ? { [`${p}.promoted_gates`]: gates } : {}),
    });
  }
  if (event.fromVersion !== null && event.fromVersion !== event.toVersion) {
    add(event.fromVersion, {
      [`${p}.demoted_at`]: when,
      [`${p}.demoted_by`]: event.actor,
      [`${p}.demoted_to`]: event.toVersion === null ? 'none' : String(event.toVersion),
      [`${p}.demoted_via`]: event.action,
    });
  }
  return out;
}
