import { it } from 'vitest';
import { createHash } from 'node:crypto';
import { MODELS } from '../../src/ml/models/index.js';
import { simulateLeague } from '../../src/ml/models/synthetic.js';
it('hash', async () => {
  const { data } = simulateLeague({ seed: 7, seasons: 3 });
  const m = await MODELS.mlp.fit(data, { epochs: 5 }, { seed: 9 });
  console.log('HASH', createHash('sha256').update(JSON.stringify(m.serialize())).digest('hex'));
});
