// Forecasts from MLflow's model registry against a real MLflow server: `oracx predict --model NAME@champion` pulls the
// registered package, and the service follows the alias in MLflow, swapping in the new version when it moves.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Forecast } from '../../pipelines/predict.js';
import { parseModelSource } from '../../src/predict/model.js';
import { openRegistry } from '../../src/registry/open.js';
import { ApiKeyAuthenticator } from '../../src/server/auth/api-key-auth.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { version } from '../../src/server/version.js';
import { openStore, type Store } from '../../src/store/connect.js';
import { FIXTURES, runCli } from '../helpers/cli.js';
import { mlflowOrSkip, mlflowServer, testClient, uniqueName } from '../helpers/mlflow.js';
import { memoryLogger } from '../helpers/server.js';
import { tempDir } from '../helpers/stores.js';

describe.skipIf(!mlflowOrSkip())('forecasts from the MLflow registry', () => {
  let url = '';
  let dir = '';
  let store: Store;
  let server: RunningServer | null = null;
  const name = uniqueName('oracx-serve');
  const env = () => ({
    MLFLOW_TRACKING_URI: url,
    MLFLOW_EXPERIMENT_NAME: uniqueName('oracx-serve-exp'),
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
    ORACX_ACTOR: 'ci-bot',
  });
  const cli = async (args: string[]) => {
    const r = await runCli([...args, '--store', path.join(dir, 'oracx.db')], { cwd: dir, env: env() });
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  const pairing = ['--competition', 'E0', '--home', 'Arsenal', '--away', 'Chelsea', '--date', '2020-09-19'];

  beforeAll(async () => {
    url = await mlflowServer();
    dir = tempDir();
    await cli(['collect', 'football-data', path.join(FIXTURES, 'full'), '-q']);
    const logreg = (await cli(['train', '--model', 'logreg', '--competitions', 'E0', '--param', 'l2=10', '--json'])).json<{ runId: number }>().runId;
    await cli(['register', '--run', String(logreg), '--name', name, '--alias', 'champion', '-q']);
    const dc = (await cli(['train', '--model', 'dixon-coles', '--competitions', 'E0', '--json'])).json<{ runId: number }>().runId;
    await cli(['register', '--run', String(dc), '--name', name, '-q']);
    store = await openStore(path.join(dir, 'oracx.db'));
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('oracx predict pulls NAME@champion from MLflow and names its version in the forecast and the stored row', async () => {
    const f = (await cli(['predict', '--model', `${name}@champion`, '--json', ...pairing])).json<{ forecasts: Forecast[] }>().forecasts[0]!;
    expect(f.model).toMatchObject({ uri: `${name}/1`, name, version: 1, alias: 'champion', kind: 'logreg' });
    expect(f.model.run).toMatch(/^[0-9a-f]{32}$/);
    const row = await store.db.selectFrom('predictions').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ model_name: name, model_version: 1, model_alias: 'champion', source: 'cli' });
  });

  it('the service follows the alias in MLflow: a moved champion is loaded, checked and served', async () => {
    const logger = memoryLogger();
    server = await startServer({
      store,
      logger,
      host: '127.0.0.1',
      port: 0,
      serving: {
        champion: parseModelSource(`${name}@champion`, dir),
        registry: async () => (await openRegistry(store, { env: env(), cwd: dir, logger }, 'mlflow')).registry,
        featureRefreshMs: 0,
        modelPollMs: 0,
        cache: { maxEntries: 1000, ttlMs: 60_000, liveTtlMs: 30_000 },
        sink: { batchRows: 100, intervalMs: 20, maxQueued: 10_000 },
        batch: { maxRows: 512 },
      },
      app: { version: version(), authenticators: [new ApiKeyAuthenticator(store)] },
    });
    const { createApiKey } = await import('../../src/auth/api-keys.js');
    const { key } = await createApiKey(store, { name: 'mlflow-test', role: 'predictor', createdBy: 'test' });
    const predict = async () => {
      const res = await fetch(`${server!.url}/v1/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ competition: 'E0', home: 'Arsenal', away: 'Chelsea', date: '2020-09-19' }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Forecast;
    };
    expect((await predict()).model).toMatchObject({ name, version: 1, kind: 'logreg' });
    expect(await server.runtime.champion.poll()).toBe('unchanged');
    await testClient(url).setAlias(name, 'champion', '2');
    expect(await server.runtime.champion.poll()).toBe('reloaded');
    expect((await predict()).model).toMatchObject({ name, version: 2, kind: 'dixon-coles', alias: 'champion' });
    expect(logger.text()).toContain(`champion: now serving ${name}/2 (was ${name}/1)`);
  });
});
