/**
 * Resolves after `ms`, or at once when the signal aborts (the caller checks which). The abort listener is removed when
 * the timer fires: a long polling loop must not pile up one listener per wait.
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
