// A fit whose loss turns NaN: the run is marked failed with the reason, and nothing is registered.
// The model is faked (real models do not diverge on finite, standardised features); the store is real.
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/errors.js';
import { openStore } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

vi.mock('../../src/ml/models/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/ml/models/index.js')>();
  return {
    ...real,
    fitModel: async (_name: string, _data: unknown, _params: unknown, options: { onEpoch?: (l: { epoch: number; loss: number }) => void }) => {
      options.onEpoch?.({ epoch: 1, loss: 1.05 });
      options.onEpoch?.({ epoch: 2, loss: 0.98 });
      throw new real.TrainingDiverged('mlp', 3, Number.NaN);
    },
  };
});

describe('train: diverging fit', () => {
  it('marks the run failed with the message, keeps its epoch logs, registers nothing', async () => {
    const dir = tempDir();
    expect((await runCli(['collect', 'football-data', path.join(FIXTURES, 'full', 'E0_2017-2018.csv'), '-q'], { cwd: dir })).code).toBe(0);
    const store = await openStore(path.join(dir, 'oracx.db'));
    try {
      const { train } = await import('../../pipelines/train.js');
      const error = await train(store, {
        model: 'mlp',
        featureSet: 'core@1',
        competitions: ['E0'],
        seed: 1,
        params: {},
        artifactsDir: path.join(dir, 'artifacts'),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(/^training diverged: mlp training diverged at epoch 3: loss is NaN/);
      const runs = await store.db.selectFrom('training_runs').selectAll().execute();
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'failed', artifact_path: null });
      expect(runs[0]!.error).toContain('loss is NaN');
      expect(runs[0]!.finished_at).not.toBeNull();
      const logs = await store.db.selectFrom('training_logs').select(['epoch', 'loss']).orderBy('epoch').execute();
      expect(logs).toEqual([
        { epoch: 1, loss: 1.05 },
        { epoch: 2, loss: 0.98 },
      ]);
      expect(await store.db.selectFrom('model_versions').selectAll().execute()).toHaveLength(0);
    } finally {
      await store.close();
    }
  });
});
