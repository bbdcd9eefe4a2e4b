/** Flags every queue command shares: where Redis is and the key prefix of oracx's queues. */
import type { OptionDef } from '../src/command.js';
import type { Context } from '../src/context.js';

export interface QueueFlags {
  redis?: string;
  queuePrefix?: string;
}

export const QUEUE_OPTIONS: readonly OptionDef[] = [
  { flags: '--redis <url>', description: 'Redis holding the queues (env ORACX_REDIS_URL), e.g. redis://127.0.0.1:6379' },
  { flags: '--queue-prefix <name>', description: 'key prefix of the queues in Redis (env ORACX_QUEUE_PREFIX; default oracx)' },
];

/** Connects to the queues for a command; the caller closes both. */
export async function openQueues(ctx: Context, flags: QueueFlags, what: string) {
  const { queueSettings, connectRedis } = await import('../src/queue/connection.js');
  const { Queues } = await import('../src/queue/queues.js');
  const settings = queueSettings(flags, ctx.io.env, what);
  const connection = await connectRedis(settings.url, (error) => ctx.logger.debug(`Redis: ${error.message}`));
  const queues = new Queues(connection, settings.prefix);
  return {
    queues,
    settings,
    async close() {
      await queues.close().catch(() => undefined);
      connection.disconnect();
    },
  };
}

/**
 * Refuses a SQLite store before it is opened, so that a refused command neither creates nor migrates a file: work
 * that workers on several machines share needs PostgreSQL. `message` gets the store's printable location.
 */
export async function requirePostgres(ctx: Context, message: (location: string) => string, hint: string): Promise<void> {
  const { parseStoreLocation } = await import('../src/store/location.js');
  const location = parseStoreLocation(ctx.config.store, ctx.io.cwd);
  if (location.dialect !== 'sqlite') return;
  const { UserError } = await import('../src/errors.js');
  throw new UserError(message(location.display), { hint });
}
