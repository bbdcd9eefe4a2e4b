// The command logger: winston's lines (JSON with a correlation id and timestamp, or `level: message {meta}`), and
// nothing at all, not even winston itself, for levels the run does not show.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/logger.js';

function capture(options: Partial<LoggerOptions>) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  const logger = createLogger({ level: 'info', json: true, color: false, correlationId: 'cid-1', stream, ...options });
  return { logger, lines };
}

describe('createLogger', () => {
  it('writes JSON lines with the level, message, correlation id, timestamp and meta', () => {
    const { logger, lines } = capture({});
    logger.info('stage collect: skipped');
    logger.warn('slow store', { ms: 12, store: 'oracx.db' });
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toEqual({ level: 'info', message: 'stage collect: skipped', correlationId: 'cid-1', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(b).toEqual({ level: 'warn', message: 'slow store', correlationId: 'cid-1', ms: 12, store: 'oracx.db', timestamp: expect.any(String) });
    // Keys in winston's order (safe-stable-stringify sorts them): the exact text other tools parse.
    expect(lines[1]).toMatch(/^\{"correlationId":"cid-1","level":"warn","message":"slow store","ms":12,"store":"oracx.db","timestamp":"[^"]+"\}$/);
  });

  it('writes `level: message {meta}` when not JSON, coloured only when asked', () => {
    const plain = capture({ json: false });
    plain.logger.info('applied migrations');
    plain.logger.error('failed', { code: 3 });
    expect(plain.lines).toEqual(['info: applied migrations', 'error: failed {"code":3}']);
    const coloured = capture({ json: false, color: true });
    coloured.logger.warn('careful');
    expect(coloured.lines).toEqual(['\u001b[33mwarn\u001b[39m: careful']);
  });

  it('drops what is below the level: -q keeps errors, the default hides debug, -v shows it', () => {
    const quiet = capture({ level: 'error' });
    quiet.logger.warn('w');
    quiet.logger.info('i');
    quiet.logger.debug('d');
    expect(quiet.lines).toEqual([]);
    quiet.logger.error('e');
    expect(quiet.lines.map((l) => JSON.parse(l).message)).toEqual(['e']);

    const normal = capture({ level: 'info' });
    normal.logger.debug('d');
    normal.logger.info('i');
    expect(normal.lines.map((l) => JSON.parse(l).level)).toEqual(['info']);

    const verbose = capture({ level: 'debug' });
    verbose.logger.debug('d');
    expect(verbose.lines.map((l) => JSON.parse(l).level)).toEqual(['debug']);
  });
});
