/** Validation of registry names and version references ("oracx-e0", "oracx-e0@champion", "oracx-e0/3"). */
import { UsageError } from '../errors.js';
import { ALIAS_RE, MODEL_NAME_RE } from './types.js';

/** Throws a UsageError unless name can be a registered model name. */
export function checkModelName(name: string): string {
  if (!MODEL_NAME_RE.test(name)) {
    throw new UsageError(`invalid model name "${name}": use letters, digits, ".", "_" and "-", starting with a letter or digit`);
  }
  return name;
}

/** Throws a UsageError unless alias can be an alias ("latest" is reserved, as in MLflow; a number would read as a version). */
export function checkAlias(alias: string): string {
  if (!ALIAS_RE.test(alias) || alias.toLowerCase() === 'latest') {
    throw new UsageError(`invalid alias "${alias}": use letters, digits, "_" and "-", not starting with a digit; "latest" is reserved`);
  }
  return alias;
}

/** A reference to one version: by number, by alias, or the latest. */
export type VersionRef = { name: string; version: number } | { name: string; alias: string } | { name: string; latest: true };

/** Parses "NAME", "NAME@ALIAS" or "NAME/VERSION" (MLflow's models:/ URIs use the same shapes). */
export function parseVersionRef(text: string): VersionRef {
  const trimmed = text.replace(/^models:\//, '');
  const at = /^([^@/]+)@(.+)$/.exec(trimmed);
  if (at) return { name: checkModelName(at[1]!), alias: checkAlias(at[2]!) };
  const slash = /^([^@/]+)\/(\d+)$/.exec(trimmed);
  if (slash) return { name: checkModelName(slash[1]!), version: Number(slash[2]) };
  if (/[@/]/.test(trimmed)) throw new UsageError(`invalid model reference "${text}": expected NAME, NAME@ALIAS or NAME/VERSION`);
  return { name: checkModelName(trimmed), latest: true };
}
