// What a worker hands a job handler (src/queue/handlers.ts JobContext), for calling handlers directly in tests.
import { silentLogger } from '../../src/logger.js';
import type { JobContext } from '../../src/queue/handlers.js';
import type { Store } from '../../src/store/connect.js';

/** A handler's context on `store`: a silent logger, progress ignored, never aborted. */
export function jobContext(store: Store, jobId: string): JobContext {
  return { store, logger: silentLogger, version: 'test', jobId, progress: () => undefined, signal: new AbortController().signal };
}
