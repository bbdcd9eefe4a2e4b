// Which `tune` workers are known dead at once: only processes on this host whose pid no longer exists.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { jobWorker, workerGone } from '../../pipelines/tune-study.js';

describe('workerGone', () => {
  const host = hostname();

  it('is false for a live process on this host', () => {
    expect(workerGone(`${host}:${process.pid}`, host)).toBe(false);
  });

  it('is true for a process on this host that has exited', () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(exited.status).toBe(0);
    expect(workerGone(`${host}:${exited.pid}`, host)).toBe(true);
  });

  it('is false when it cannot know: another host, or a worker id that is not host:pid', () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(workerGone(`not-${host}:${exited.pid}`, host)).toBe(false);
    expect(workerGone('no-pid', host)).toBe(false);
    expect(workerGone(`${host}:abc`, host)).toBe(false);
    expect(workerGone(`${host}:0`, host)).toBe(false);
  });

  it("reads the process of a queue worker's tag (host:pid job ID)", () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(workerGone(jobWorker(host, exited.pid!, 'tune-abc-3'), host)).toBe(true);
    expect(workerGone(jobWorker(host, process.pid, 'tune-abc-3'), host)).toBe(false);
    expect(workerGone(jobWorker(`not-${host}`, exited.pid!, 'tune-abc-3'), host)).toBe(false);
  });
});
