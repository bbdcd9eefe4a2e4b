// On a real terminal (a PTY made by util-linux `script`), collect shows a per-file progress bar on stderr and
// colours; piped, it prints none of that. Skipped with a reason where `script` is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, FIXTURES } from '../helpers/cli.js';
import { tempDir } from '../helpers/stores.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) console.warn('[oracx tests] skipping the terminal test: util-linux `script` is not installed');

describe.skipIf(!hasScript)('on a terminal', () => {
  it('draws a progress bar per file and still prints the summary table', () => {
    const dir = tempDir();
    const cmd = `stty cols 100 rows 30; ${process.execPath} ${BIN} --store ${path.join(dir, 's.db')} collect football-data ${path.join(FIXTURES, 'full')}`;
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm' }, timeout: 60_000 }).toString('utf8');
    const text = out.replace(/\r/g, '\n');
    expect(text).toMatch(/E0_2019-2020\.csv \[#{20}\] 100% 380 rows/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what this test looks for
    expect(text).toMatch(/\u001b\[32minfo/); // pretty, coloured log lines on a TTY
    // The table borders are coloured on a terminal, so the total row reads │<esc>… total.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what this test looks for
    expect(text).toMatch(/│\u001b\[39m total\s+/);
  });

  it('a terminal that reports 0 columns gets no spinner (ora would redraw forever)', () => {
    const dir = tempDir();
    const cmd = `stty cols 0; ${process.execPath} ${BIN} --store ${path.join(dir, 's.db')} collect football-data ${path.join(FIXTURES, 'full')}`;
    const out = execFileSync('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, TERM: 'xterm' }, timeout: 60_000 }).toString('utf8');
    expect(out.length).toBeLessThan(20_000);
    expect(out).not.toContain('[####');
    expect(out).toContain('total');
  });
});
