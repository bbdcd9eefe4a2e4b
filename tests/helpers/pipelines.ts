// A small, fast oracx.yaml for pipeline tests: collect the bundled E0 seasons → features → logreg with a fixed l2 →
// evaluate 2019-20 with a gate, optionally register and promote in the local registry.
import path from 'node:path';
import { stringify } from 'yaml';
import { FIXTURES } from './cli.js';

export type Stages = Record<string, Record<string, unknown>>;

/** The pipeline's text after `edit` changed its stages (in place); `registry` adds register and promote stages. */
export function e0Pipeline(edit: (stages: Stages) => void = () => {}, options: { registry?: boolean } = {}): string {
  const stages: Stages = {
    collect: { inputs: [path.join(FIXTURES, 'full')] },
    features: { set: 'core@2' },
    train: { model: 'logreg', features: 'core@2', competitions: ['E0'], 'train-until': '2019-06-30', seed: 7, params: { l2: 0.1 } },
    evaluate: { seasons: ['2019-2020'], gate: ['rps<=0.25'] },
    ...(options.registry
      ? {
          register: { name: 'oracx-e0', alias: 'challenger', registry: 'local' },
          promote: { alias: 'champion', seasons: ['2019-2020'], registry: 'local' },
        }
      : {}),
  };
  edit(stages);
  return stringify({ name: 'e0', stages });
}
