// MicroBatcher: forecasts asked for in one event-loop turn go through one scoring run, and turn() (what cache hits
// wait for) resolves with that turn's flush, so their answers leave together with the scored ones.
import { describe, expect, it } from 'vitest';
import type { Forecast, PreparedInput, Predictor } from '../../pipelines/predict.js';
import type { LoadedModel } from '../../src/predict/model.js';
import { MicroBatcher } from '../../src/server/runtime/batcher.js';

const model = {} as LoadedModel;
const input = (id: number) => ({ matchId: id }) as unknown as PreparedInput;

function batcher(runs: number[][], order: string[]) {
  const predictor = {
    score: async (_m: LoadedModel, inputs: readonly PreparedInput[]) => {
      runs.push(inputs.map((i) => i.matchId!));
      order.push('scored');
      return inputs.map((i) => ({ matchId: i.matchId }) as Forecast);
    },
  } as unknown as Predictor;
  return new MicroBatcher(() => predictor, { maxRows: 2 });
}

describe('MicroBatcher', () => {
  it('scores one turn’s forecasts together, in runs of at most maxRows', async () => {
    const runs: number[][] = [];
    const b = batcher(runs, []);
    const got = await Promise.all([1, 2, 3].map((id) => b.score(model, input(id))));
    expect(got.map((f) => f.matchId)).toEqual([1, 2, 3]);
    expect(runs).toEqual([[1, 2], [3]]);
  });

  it('resolves turn() at the flush of the turn it was asked in, with or without forecasts to score', async () => {
    const order: string[] = [];
    const b = batcher([], order);
    const waited = b.turn().then(() => order.push('turn'));
    const scored = b.score(model, input(7)).then(() => order.push('answer'));
    order.push('same tick');
    await Promise.all([waited, scored]);
    expect(order[0]).toBe('same tick');
    expect(order).toContain('turn');
    await b.turn();
    expect(order).toHaveLength(4);
  });
});
