/**
 * Work a forced exit waits for, briefly: a second Ctrl-C (or SIGTERM after SIGINT) exits at once otherwise, and
 * would leave e.g. an MLflow run RUNNING whose KILLED end was being recorded. Only src/main.ts exits; this module
 * only holds the promises it waits for.
 */
const held = new Set<Promise<unknown>>();

/** Registers `work` (until it settles) as something a forced exit waits for; returns it unchanged. */
export function holdExit<T>(work: Promise<T>): Promise<T> {
  const entry: Promise<unknown> = work.then(
    () => undefined,
    () => undefined,
  );
  held.add(entry);
  void entry.then(() => held.delete(entry));
  return work;
}

/** Resolves when every held piece of work has settled, or after `timeoutMs`, whichever comes first. */
export async function heldWorkSettled(timeoutMs: number): Promise<void> {
  if (held.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all([...held]), timeout]);
  clearTimeout(timer);
}

/** Whether some work is held right now. */
export const holdingExit = (): boolean => held.size > 0;
