/**
 * An MLflow run logged as a command goes, as Python's tracking leaves one: created RUNNING through the spool when
 * the work starts, sent metrics while it runs (best effort), ended FINISHED, FAILED or KILLED by an entry that holds
 * all the start logged and replaces it while it is still spooled. Shared by `train` and `evaluate`.
 */
import type { Context } from '../src/context.js';
import type { Store } from '../src/store/connect.js';
import type { SpoolMetric, SpoolPayload } from '../src/tracking/spool.js';

/** How a run's end went: its MLflow run id, or null with the reason (the end stays spooled for `oracx mlflow sync`). */
export interface LiveRunEnd {
  mlflowRunId: string | null;
  error?: string;
}

export interface LiveRun {
  /** Spools the RUNNING start and syncs it; metrics go live once it is in MLflow. */
  start(payload: SpoolPayload): Promise<void>;
  /** Whether start() was called. */
  readonly started: boolean;
  /** Sends metrics to the running run (one request in flight; the first failure stops them: the end holds them all). */
  log(metrics: readonly SpoolMetric[]): void;
  /**
   * Spools the end (superseding the start while that is unsynced) and syncs it, logging where it went. Held against a
   * forced exit (src/shutdown.ts), so a second Ctrl-C does not leave the run RUNNING.
   */
  end(what: string, payload: SpoolPayload, artifactDir: string | null): Promise<LiveRunEnd>;
}

/** A live run when MLFLOW_TRACKING_URI is set, else null. `trainingRunId` goes on its spool entries. */
export async function liveRun(ctx: Context, store: Store, trainingRunId: () => number | null): Promise<LiveRun | null> {
  const { mlflowClient } = await import('../src/registry/open.js');
  const { openContext } = await import('./registry-context.js');
  // Without the interrupt signal: after Ctrl-C the run must still be ended KILLED (the quick client gives up soon,
  // and a forced exit leaves the end spooled).
  const { signal: _interrupt, ...open } = openContext(ctx);
  const client = await mlflowClient(open, { quick: true });
  if (!client) return null;
  const { experimentTarget, trackPayload } = await import('../pipelines/track.js');
  const { holdExit } = await import('../src/shutdown.js');
  const experiment = experimentTarget(ctx.io.env);
  const startSpool: number[] = [];
  let started = false;
  let runId: string | null = null;
  const unsent: SpoolMetric[] = [];
  let live: Promise<void> | null = null;
  const pump = async () => {
    while (runId && unsent.length) {
      const batch = unsent.splice(0, 1000);
      await client.logBatch(runId, { metrics: batch, params: [], tags: [] }).catch((error: unknown) => {
        runId = null;
        ctx.logger.debug(`live metrics no longer sent to MLflow (the run's end logs them all): ${String(error)}`);
      });
    }
    live = null;
  };
  return {
    get started() {
      return started;
    },
    async start(payload) {
      started = true;
      const outcome = await trackPayload(store, client, { trainingRunId: trainingRunId(), payload, artifactDir: null, experiment });
      startSpool.push(outcome.spoolId);
      if (outcome.error === undefined) runId = outcome.mlflowRunId;
      else ctx.logger.debug(`${payload.runName}: its start is spooled (${outcome.error})`);
    },
    log(metrics) {
      if (!runId) return;
      unsent.push(...metrics);
      live ??= pump();
    },
    end(what, payload, artifactDir) {
      return holdExit(
        (async (): Promise<LiveRunEnd> => {
          await live;
          runId = null;
          const outcome = await trackPayload(store, client, { trainingRunId: trainingRunId(), payload, artifactDir, experiment, supersedes: startSpool });
          if (outcome.error !== undefined) {
            ctx.logger.warn(`${what} not logged to MLflow (${outcome.error}); it is spooled in the store: replay it with oracx mlflow sync`);
            return { mlflowRunId: null, error: `spooled: ${outcome.error}` };
          }
          ctx.logger.info(`${what} logged to MLflow as run ${outcome.mlflowRunId}`);
          return { mlflowRunId: outcome.mlflowRunId };
        })(),
      );
    },
  };
}
