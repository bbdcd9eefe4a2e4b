/**
 * The service's background prediction refresh: one pass at a time (close waits for it), with the champion and its
 * feature state, logging what was refreshed or skipped and telling the metrics. A failure is logged and the events
 * stay pending for the next pass; replicas share the work through the consumer's lease (pipelines/prediction-refresh).
 */
import { randomUUID } from 'node:crypto';
import type { Predictor } from '../../../pipelines/predict.js';
import type { RefreshResult } from '../../../pipelines/prediction-refresh.js';
import type { Logger } from '../../logger.js';
import type { LoadedModel } from '../../predict/model.js';
import type { Store } from '../../store/connect.js';
import type { ServingEvents } from './serving.js';

export interface BackgroundRefreshOptions {
  store: Store;
  logger: Logger;
  events?: ServingEvents;
  /** Run before each pass (the feature state folded up to date). */
  before: () => Promise<void>;
  /** The model that refreshes, and its predictor, as of now (a hot reload changes them). */
  champion: () => { model: LoadedModel; predictor: Predictor };
}

export class BackgroundRefresh {
  /** This process's token for the consumer's lease. */
  private readonly owner = `serve:${process.pid}:${randomUUID()}`;
  private running: Promise<RefreshResult | null> | null = null;

  constructor(private readonly o: BackgroundRefreshOptions) {}

  /** One pass (a pass already running is shared); null when it failed (logged). */
  run(): Promise<RefreshResult | null> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async pass(): Promise<RefreshResult | null> {
    const { refreshPredictions } = await import('../../../pipelines/prediction-refresh.js');
    const { logger } = this.o;
    try {
      await this.o.before();
      const { model, predictor } = this.o.champion();
      const result = await refreshPredictions(this.o.store, {
        model,
        predictor,
        owner: this.owner,
        onProgress: (e) => {
          if (e.type === 'skipped') logger.warn(`prediction refresh: event ${e.eventId} (match ${e.matchId ?? '?'}) skipped: ${e.reason}`);
          else if (e.type === 'refreshed')
            logger.info(
              `prediction refresh: match ${e.matchId} finished → ${e.coming.length} coming prediction(s) refreshed with ${model.identity.uri} (matches ${e.coming.join(', ')})`,
            );
        },
      });
      if (result.events > 0) this.o.events?.onRefresh?.(result.events, result.refreshed, result.skipped.length);
      return result;
    } catch (error) {
      logger.error(`prediction refresh failed (the events stay pending; the next pass retries): ${(error as Error).message}`);
      return null;
    }
  }
}
