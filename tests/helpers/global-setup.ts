// Checks once per run which services are reachable and hands the answer to the tests (inject).
// Under CI=true a missing PostgreSQL fails the run loudly instead of skipping its tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
// A plain .mjs script, shared with `npm run setup:python`.
import { ensurePythonEnv } from '../../scripts/setup-python.mjs';
// Shared with bench/mlflow-log.mjs.
import { launchMlflowServer } from '../../bench/mlflow-server.mjs';

export const PG_URL = process.env.ORACX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

async function pgReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropTestSchemas(): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(`select nspname from pg_namespace where nspname like 'oracx_t_${process.pid}_%'`);
    for (const { nspname } of rows) await client.query(`drop schema "${nspname}" cascade`);
  } finally {
    await client.end();
  }
}

/** The test venv's python (MLflow, onnx, onnxruntime), installed on first use; '' when it cannot be (not under CI). */
function pythonEnv(): string {
  try {
    return ensurePythonEnv({ quiet: false }) as string;
  } catch (error) {
    const why = (error as Error).message;
    if (ci) throw new Error(`the Python test venv is required under CI=true: ${why}`);
    console.warn(`[oracx tests] Python-backed tests (MLflow, ONNX cross-checks) will be skipped: ${why}`);
    return '';
  }
}

export default async function setup(project: TestProject) {
  const problem = await pgReachable();
  if (problem && ci) throw new Error(`PostgreSQL at ${PG_URL} is required under CI=true but unreachable: ${problem}`);
  if (problem) console.warn(`[oracx tests] PostgreSQL tests will be skipped: ${PG_URL} unreachable (${problem})`);
  project.provide('pgUrl', problem ? '' : PG_URL);
  project.provide('runId', String(process.pid));
  // The built CLIs that tests spawn with this process's environment cache in a folder of the run, not in ~/.cache.
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'oracx-test-cache-'));
  process.env.ORACX_CACHE_DIR ??= cacheDir;
  const python = pythonEnv();
  project.provide('python', python);
  // One MLflow server for the whole run. It starts in the background (3–6 s) while the first test files run; MLflow
  // tests wait for it with mlflowServer() from tests/helpers/mlflow.ts, which reports a failed start with its log.
  const mlflow = python ? await launchMlflowServer({ python }) : null;
  let stopping = false;
  if (mlflow) {
    mlflow.ready.then(
      (ms: number) => console.warn(`[oracx tests] MLflow server ready at ${mlflow.url} in ${(ms / 1000).toFixed(1)} s`),
      (error: Error) => stopping || console.warn(`[oracx tests] MLflow server failed to start: ${error.message}`),
    );
  }
  project.provide('mlflowUrl', mlflow?.url ?? '');
  project.provide('mlflowLog', mlflow?.log ?? '');
  return async () => {
    stopping = true;
    await mlflow?.stop();
    if (!problem) await dropTestSchemas();
    rmSync(cacheDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    runId: string;
    /** Path of the test venv's python, or '' when unavailable (tests skip with a reason). */
    python: string;
    /** Base URL of the run's shared MLflow server ('' without python); wait for it with mlflowServer(). */
    mlflowUrl: string;
    /** Its log file, quoted when it fails to start. */
    mlflowLog: string;
  }
}
