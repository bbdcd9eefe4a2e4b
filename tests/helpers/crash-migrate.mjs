// An injected crash between SQL statements: opens a store with the built oracx (dist/), migrates it, and kills
// itself with SIGKILL just before its N-th statement (no rollback, no cleanup, as a `kill -9` would).
// Usage: node crash-migrate.mjs STORE N   (N = 0: no crash; prints how many statements the migration ran)
import { createRequire } from 'node:module';

const [store, n] = process.argv.slice(2);
const limit = Number(n);
let count = 0;
/** Statement numbers that record a migration as applied. */
const records = [];
const tick = (text) => {
  count++;
  if (count === limit) process.kill(process.pid, 'SIGKILL');
  if (/^insert into "?kysely_migration"? /i.test(String(text ?? ''))) records.push(count);
};

// dist/ imports these same CommonJS modules, so patching their prototypes here reaches oracx's own calls.
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const probe = new Database(':memory:');
const statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();
for (const method of ['run', 'all', 'get', 'iterate']) {
  const original = statement[method];
  statement[method] = function (...args) {
    tick(this.source);
    return original.apply(this, args);
  };
}
const pg = require('pg');
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (...args) {
  tick(typeof args[0] === 'string' ? args[0] : args[0]?.text);
  return query.apply(this, args);
};

const { openStore } = await import('../../dist/src/store/connect.js');
const opened = await openStore(store);
const before = count;
const { applied } = await opened.migrate();
await opened.close();
process.stdout.write(`${JSON.stringify({ statements: count, openStatements: before, records, applied })}\n`);
