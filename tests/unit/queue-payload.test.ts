// The job payload contract: stable ids, and a worker refusing what it cannot read instead of misapplying it.
import { describe, expect, it } from 'vitest';
import { collectJobId, payloadProblem, PAYLOAD_VERSION } from '../../src/queue/payload.js';
import { packContent } from '../../src/queue/collect-job.js';

const sha = 'a'.repeat(64);
const valid = {
  v: PAYLOAD_VERSION,
  kind: 'collect',
  store: 'postgres://u@h/db',
  source: '/in/E0.csv',
  name: 'E0.csv',
  sha256: sha,
  season: null,
  chunkSize: 1000,
  content: packContent(Buffer.from('Div,Date\n')),
  origin: { host: 'h', pid: 1, oracx: '0.1.0' },
};

describe('job payloads', () => {
  it('job ids depend on kind, store, content and season only', () => {
    const id = collectJobId('postgres://u@h/db', sha, null);
    expect(id).toMatch(/^collect-[0-9a-f]{40}$/);
    expect(collectJobId('postgres://u@h/db', sha, null)).toBe(id);
    expect(collectJobId('postgres://u@h/other', sha, null)).not.toBe(id);
    expect(collectJobId('postgres://u@h/db', 'b'.repeat(64), null)).not.toBe(id);
    expect(collectJobId('postgres://u@h/db', sha, '2019-2020')).not.toBe(id);
  });

  it('accepts its own version and refuses newer, older, missing and malformed payloads', () => {
    expect(payloadProblem(valid, '0.1.0')).toBeNull();
    expect(payloadProblem({ ...valid, v: PAYLOAD_VERSION + 1 }, '0.1.0')).toMatch(
      /version 2 is not the version this worker reads \(1, oracx 0\.1\.0\).*newer oracx; upgrade this worker/,
    );
    expect(payloadProblem({ ...valid, v: 0 }, '0.1.0')).toMatch(/version 0 .*another oracx version; enqueue it again/);
    expect(payloadProblem({ kind: 'collect' }, '0.1.0')).toMatch(/version null/);
    expect(payloadProblem('text', '0.1.0')).toMatch(/version null/);
    expect(payloadProblem({ ...valid, chunkSize: 0 }, '0.1.0')).toMatch(/malformed at chunkSize/);
    expect(payloadProblem({ ...valid, extra: 1 }, '0.1.0')).toMatch(/malformed/);
  });
});
