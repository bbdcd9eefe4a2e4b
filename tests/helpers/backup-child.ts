// A slowed-down `db backup` for tests/e2e/backup-kill.test.ts, bundled by esbuild and run as a child process:
// one SQLite page per step and a pause after each table, so the test can SIGKILL it mid-backup.
import { backupStore } from '../../pipelines/backup.js';

const [store, to] = process.argv.slice(2) as [string, string];
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let told = false;
const tell = () => {
  if (!told) process.stdout.write('started\n');
  told = true;
};
await backupStore({
  store,
  cwd: process.cwd(),
  to,
  pagesPerStep: 1,
  onPages: () => {
    tell();
    pause(5);
  },
  onTable: () => {
    tell();
    pause(200);
  },
});
process.stdout.write('done\n');
