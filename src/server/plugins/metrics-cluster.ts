/**
 * /metrics under --workers N. Each worker keeps its own registry; a scrape lands on any one worker, which asks the
 * primary over IPC. The primary's prom-client AggregatorRegistry asks every worker for its registry (prom-client's
 * own IPC messages, answered inside each worker by prom-client) and sums them per series, and the primary sends the
 * text back. Concurrent scrapes share one gathering. The primary serves no HTTP itself: the port belongs to the
 * workers.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../../logger.js';

const REQUEST = 'oracx:metrics-request';
const ANSWER = 'oracx:metrics-answer';

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsAnswer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: answers the workers' requests for the whole cluster's metrics. Returns the function that stops it. */
export async function serveClusterMetrics(logger: Logger): Promise<() => void> {
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();
  let gathering: Promise<string> | null = null;
  const onMessage = (worker: Worker, message: unknown) => {
    const m = message as Partial<MetricsRequest> | null;
    if (m?.type !== REQUEST || typeof m.id !== 'number') return;
    const id = m.id;
    gathering ??= aggregator.clusterMetrics().finally(() => {
      gathering = null;
    });
    gathering.then(
      (text) => reply(worker, { type: ANSWER, id, text }),
      (error: unknown) => {
        logger.warn(`metrics: cannot gather the workers' metrics: ${(error as Error).message}`);
        reply(worker, { type: ANSWER, id, error: (error as Error).message });
      },
    );
  };
  cluster.on('message', onMessage);
  return () => void cluster.off('message', onMessage);
}

function reply(worker: Worker, answer: MetricsAnswer): void {
  // The worker may have died meanwhile: nobody is waiting then.
  if (worker.isConnected()) worker.send(answer, () => undefined);
}

let nextId = 0;
const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
let listening = false;

/** In a worker: every worker's metrics, summed by the primary. */
export function clusterMetricsFromPrimary(timeoutMs = 8000): Promise<string> {
  if (!process.send || !process.connected) return Promise.reject(new Error('no IPC channel to the cluster primary'));
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      const m = message as Partial<MetricsAnswer> | null;
      if (m?.type !== ANSWER || typeof m.id !== 'number') return;
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      clearTimeout(w.timer);
      if (typeof m.text === 'string') w.resolve(m.text);
      else w.reject(new Error(m.error ?? 'no metrics in the answer'));
    });
  }
  const id = ++nextId;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the cluster primary did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    waiting.set(id, { resolve, reject, timer });
    process.send!({ type: REQUEST, id } satisfies MetricsRequest, undefined, undefined, (error: Error | null) => {
      if (!error) return;
      waiting.delete(id);
      clearTimeout(timer);
      reject(error);
    });
  });
}
