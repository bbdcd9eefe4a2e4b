// Impossible dates, reversed ranges and empty lists on the command line: each is a usage error (exit 2) with one clear
// line, caught before a store is opened, so nothing is run or recorded (issue 10, points 4 and 5).
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

/** Runs oracx in a fresh folder whose default store (./oracx.db) does not exist yet. */
async function inFreshDir(args: string[]): Promise<CliResult & { dir: string }> {
  const dir = tempDir();
  return { ...(await runCli(args, { cwd: dir })), dir };
}

/** The error lines: commander adds a help hint after its own messages, which is not part of the message. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '' && l !== '(run with --help for usage)');

async function expectUsageError(args: string[], message: RegExp): Promise<void> {
  const r = await inFreshDir(args);
  const what = `oracx ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`;
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  expect(errorLines(r.stderr), what).toEqual([expect.stringMatching(message)]);
  expect(r.stdout, what).toBe('');
  // Nothing ran: not even the store was created (a store is opened, and migrated, only by a command that runs).
  expect(existsSync(`${r.dir}/oracx.db`), `${what} created a store`).toBe(false);
  expect(readdirSync(r.dir), what).toEqual([]);
}

const EMPTY_LIST = /expected a non-empty comma-separated list, got ""|expected a non-empty comma-separated list, got ","/;

describe('impossible dates are usage errors', () => {
  it.each([
    [['matches', 'list', '--from', '2019-04-31']],
    [['matches', 'list', '--from', '2019-02-29']],
    [['matches', 'list', '--to', '1900-02-29']],
    [['train', '--train-from', '2019-02-30']],
    [['train', '--train-until', '2019-02-29']],
    [['predict', '--model', 'm@champion', '--from', '2019-02-29']],
  ])('oracx %j', async (args) => {
    await expectUsageError(args, /is invalid\. expected an existing date as yyyy-mm-dd, got "\d{4}-\d\d-\d\d"$/);
  });

  it('auth keys create --expires refuses a date that does not exist instead of rolling it over', async () => {
    for (const when of ['2027-02-30', '2027-02-29', '2027-04-31T00:00:00Z', '2027-01-31T24:00:00Z', '2027-01-31T12:60Z', 'next week']) {
      await expectUsageError(
        ['auth', 'keys', 'create', '--role', 'viewer', '--name', 'ci', '--expires', when],
        /--expires <when>.* is invalid\. expected a lifetime like 90d or 12h, or an existing ISO date or date-time/,
      );
    }
  });

  it('auth audit --since refuses a date or time that does not exist', async () => {
    for (const when of ['2019-02-29', '2019-02-30T10:00:00Z', '2019-01-01T25:00', '2019-01-01T10:00:61Z', 'yesterday']) {
      await expectUsageError(['auth', 'audit', '--since', when], /--since <when>.* is invalid\. expected an existing ISO date or date-time/);
    }
  });
});

describe('reversed ranges are usage errors', () => {
  it.each([
    [['matches', 'list', '--from', '2020-01-01', '--to', '2019-01-01'], /^oracx: --from 2020-01-01 is after --to 2019-01-01/],
    [['train', '--train-from', '2020-01-01', '--train-until', '2019-01-01'], /^oracx: --train-from 2020-01-01 is after --train-until 2019-01-01/],
    [['predict', '--model', 'm@champion', '--from', '2020-01-01', '--to', '2019-12-31'], /^oracx: --from 2020-01-01 is after --to 2019-12-31/],
  ])('oracx %j', async (args, message) => {
    await expectUsageError(args, message);
  });
});

describe('an empty list is a usage error for every command', () => {
  const cases: string[][] = [
    ['train', '--competitions'],
    ['evaluate', '--seasons', '2019-2020', '--competitions'],
    ['tune', '--seasons', '2019-2020', '--competitions'],
    ['models', 'promote', 'oracx-e0/2', '--competitions'],
    ['models', 'promote', 'oracx-e0/2', '--seasons'],
    ['evaluate', '--competitions', 'E0', '--seasons'],
    ['matches', 'list', '--competition'],
    ['matches', 'list', '--season'],
    ['predict', '--model', 'm@champion', '--competitions'],
    ['predict', '--model', 'm@champion', '--match'],
    ['serve', '--model', 'm@champion', '--cors'],
    ['serve', '--model', 'm@champion', '--jwt-audience'],
    ['auth', 'tokens', 'issue', '--sub', 'ci', '--role', 'viewer', '--audience'],
  ];
  for (const value of ['', ',', ' , ']) {
    it.each(cases.map((c) => [[...c, value]]))('oracx %j', async (args) => {
      await expectUsageError(args, value === ' , ' ? /expected a non-empty comma-separated list, got " , "/ : EMPTY_LIST);
    });
  }
});

describe('what is valid still runs', () => {
  it('a leap day, and a range of one day', async () => {
    const r = await inFreshDir(['matches', 'list', '--from', '2020-02-29', '--to', '2020-02-29', '--competition', 'E0,', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ total: number }>().total).toBe(0);
  });

  it('auth keys create --expires takes a lifetime, a date or a date-time; auth audit --since a date or a date-time', async () => {
    const dir = tempDir();
    for (const [i, when] of ['90d', '2096-02-29', '2096-02-29T23:59:59Z', '2096-02-29T12:00+02:00'].entries()) {
      const r = await runCli(['auth', 'keys', 'create', '--role', 'viewer', '--name', `k${i}`, '--expires', when, '--json'], { cwd: dir });
      expect(r.code, `${when}: ${r.stderr}`).toBe(0);
      const expected = when === '90d' ? expect.any(String) : new Date(when).toISOString();
      expect(r.json<{ expiresAt: string }>().expiresAt).toEqual(expected);
    }
    const past = await runCli(['auth', 'keys', 'create', '--role', 'viewer', '--name', 'old', '--expires', '2020-02-29'], { cwd: dir });
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('--expires 2020-02-29 is in the past');
    for (const since of ['2020-02-29', '2020-02-29T12:00:00.5Z']) {
      const r = await runCli(['auth', 'audit', '--since', since, '--json'], { cwd: dir });
      expect(r.code, `${since}: ${r.stderr}`).toBe(0);
      expect(r.json<{ events: unknown[] }>().events).toHaveLength(4);
    }
  });
});
