/** `oracx features list|show|build`: the feature store. */
import { defineCommand } from '../src/command.js';
import { UserError } from '../src/errors.js';
import { integer } from './parse.js';

export const featuresList = defineCommand<Record<string, never>>({
  path: ['features', 'list'],
  description: 'list the feature sets, their hashes and how many matches have stored values',
  examples: ['oracx features list', 'oracx features list --json'],
  async run(ctx) {
    const store = await ctx.store({ readOnly: true });
    const { listFeatureSets } = await import('../pipelines/features.js');
    const sets = await listFeatureSets(store);
    if (ctx.output.json) return ctx.output.printJson(sets);
    ctx.output.printTable({
      head: ['feature set', 'features', 'stored', 'hash', 'description'],
      rows: sets.map((s) => [s.ref, s.features.length, s.materialised, s.hash.slice(0, 12), s.description]),
    });
  },
});

export const featuresShow = defineCommand<{ set: string; match?: number }>({
  path: ['features', 'show'],
  description: 'show a feature set definition, or the stored vector of one match',
  args: '<set>',
  options: [{ flags: '--match <id>', description: 'match id (see oracx matches list)', parse: integer(1) }],
  examples: ['oracx features show core@1', 'oracx features show core@1 --match 812 --json'],
  async run(ctx, [ref], options) {
    const { resolveFeatureSet, storedVector } = await import('../pipelines/features.js');
    const { featureNames, definitionHash } = await import('../src/ml/features/definition.js');
    const def = resolveFeatureSet(ref!);
    if (options.match !== undefined) {
      const store = await ctx.store({ readOnly: true });
      const vector = await storedVector(store, ref!, options.match);
      if (!vector) throw new UserError(`no stored ${ref} values for match ${options.match}`, { hint: `run oracx features build --set ${ref}` });
      if (ctx.output.json) return ctx.output.printJson({ set: ref, match: options.match, values: vector });
      return ctx.output.printTable({ head: ['feature', 'value'], rows: Object.entries(vector).map(([k, v]) => [k, Number(v.toFixed(6))]) });
    }
    const doc = { ref, hash: definitionHash(def), description: def.description, groups: def.groups, features: featureNames(def) };
    if (ctx.output.json) return ctx.output.printJson(doc);
    ctx.output.printLine(`${ref} (${doc.hash.slice(0, 12)}): ${def.description}`);
    ctx.output.printTable({ head: ['group', 'parameters'], rows: Object.entries(def.groups).map(([g, p]) => [g, JSON.stringify(p)]) });
    ctx.output.printLine(`features (${doc.features.length}): ${doc.features.join(', ')}`);
  },
});

export const featuresBuild = defineCommand<{ set: string }>({
  path: ['features', 'build'],
  description: 'compute a feature set for every match (point-in-time) and store new or changed values',
  options: [{ flags: '--set <name@version>', description: 'feature set', defaultValue: 'core@2' }],
  examples: ['oracx features build --set core@1', 'oracx features build --set market@1 --json'],
  async run(ctx, _args, options) {
    const store = await ctx.store();
    const { buildFeatures } = await import('../pipelines/features.js');
    const progress = await ctx.output.progress(`building ${options.set}`);
    const result = await buildFeatures(store, options.set).finally(() => progress.stop());
    if (ctx.output.json) return ctx.output.printJson(result);
    ctx.output.printLine(
      `${result.ref}: ${result.matches} matches, ${result.written} written, ${result.unchanged} unchanged (${result.ms} ms, ${result.matchesPerSecond} matches/s)`,
    );
  },
});
