/**
 * serve-soak: `oracx serve` (cache off, access log off, store on SQLite) held at 70 % of its peak rate for 5 minutes
 * by autocannon's overallRate (a process of its own), with the server's RSS sampled every 5 s. Goals: RSS grows by
 * less than 10 % from the end of the warm-up to the end, and no request fails (no non-2xx, no socket error or
 * timeout); every 2xx answer is also found in the predictions table after a SIGTERM stop.
 *
 * The peak is measured first (a short warm-up, then 10 s at full load with the serve bench's settings) unless given:
 * `npm run bench -- serve-soak --peak 8000`. `--seconds N` shortens the soak for development; the recorded result is
 * the full 300 s. Env: ORACX_BENCH_SOAK_SECONDS, ORACX_BENCH_SOAK_PEAK, ORACX_BENCH_SOAK_WARMUP (default 30 s).
 */
import { loadavg } from 'node:os';
import path from 'node:path';
import { BenchError, ROOT, fixed, int, table, tempDir, verdict } from './lib.mjs';
import {
  LOAD_SETTINGS,
  buildServableStore,
  copyStore,
  countPredictions,
  freePort,
  load1,
  pairingList,
  post,
  rssBytes,
  runLoad,
  startServer,
} from './serve-lib.mjs';

/** Limits far above any load the bench sends: the limiters run on every request (their cost is measured) but never refuse. */
const UNLIMITED = ['--rate-limit', '100000000/min', '--ip-rate-limit', '100000000/min'];

export const description = 'oracx serve at 70 % of peak req/s for 5 minutes: RSS growth < 10 % after warm-up, no failed request';

const SHARE = 0.7;
const RSS_GOAL = 0.1;
const SAMPLE_MS = 5_000;
const PEAK_SECONDS = 10;

function flag(name, env, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  const text = i > 0 ? process.argv[i + 1] : process.env[env];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0)) throw new BenchError(`--${name} (or ${env}) must be a positive number, got "${text}"`);
  return n;
}

const mb = (bytes) => `${fixed(bytes / 2 ** 20)} MB`;

export async function run() {
  const seconds = flag('seconds', 'ORACX_BENCH_SOAK_SECONDS', 300);
  const warmupSeconds = flag('warmup', 'ORACX_BENCH_SOAK_WARMUP', 30);
  const givenPeak = flag('peak', 'ORACX_BENCH_SOAK_PEAK', null);
  const tmp = await tempDir('oracx-bench-soak-');
  let server = null;
  try {
    const env = { ...process.env };
    delete env.MLFLOW_TRACKING_URI;
    const base = await buildServableStore(tmp.dir, env);
    const list = await pairingList(base.store, base.onnx);
    const store = path.join(tmp.dir, 'soak.db');
    await copyStore(base.store, store);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${base.predictorKey}` };
    const bodies = list.pairings.map((p) => p.body);
    let probe = null;
    server = await startServer({
      name: 'oracx serve',
      cmd: process.execPath,
      args: [
        path.join(ROOT, 'bin', 'oracx.js'),
        '--store',
        store,
        '--log-format',
        'json',
        'serve',
        '--model',
        'oracx-e0@champion',
        '--port',
        String(port),
        ...UNLIMITED,
        '--cache-ttl',
        '0',
        '--no-access-log',
      ],
      env,
      cwd: tmp.dir,
      log: path.join(tmp.dir, 'serve.log'),
      ready: async () => {
        probe = await post(`${url}/v1/predict`, bodies[0], headers);
        return true;
      },
    });
    if (probe.status !== 200) throw new BenchError(`oracx answered the probe with ${probe.status}: ${JSON.stringify(probe.body).slice(0, 300)}`);
    const target = { url: `${url}/v1/predict`, headers, bodies };
    const runs = [];

    console.log(`serve-soak: ${description}`);
    console.log(`  server   : oracx serve --cache-ttl 0 --no-access-log, store on SQLite, logreg on core@1; ${list.pairings.length} pairings sent in turn`);
    let peak = givenPeak;
    if (peak === null) {
      runs.push(await runLoad(tmp.dir, { ...target, duration: LOAD_SETTINGS.warmupSeconds }));
      const r = await runLoad(tmp.dir, { ...target, duration: PEAK_SECONDS });
      runs.push(r);
      peak = r.rps;
      console.log(
        `  peak     : ${int(peak)} req/s (autocannon, ${LOAD_SETTINGS.connections} connections, ${LOAD_SETTINGS.warmupSeconds} s warm-up, then ${PEAK_SECONDS} s; p99 ${r.latency.p99} ms; ${load1()})`,
      );
    } else {
      console.log(`  peak     : ${int(peak)} req/s (given)`);
    }
    const rate = Math.max(1, Math.round(peak * SHARE));
    console.log(
      `  soak     : ${int(rate)} req/s (${SHARE * 100} % of peak, autocannon overallRate over ${LOAD_SETTINGS.connections} connections), ${warmupSeconds} s warm-up then ${seconds} s; RSS sampled every ${SAMPLE_MS / 1000} s\n`,
    );

    const warm = await runLoad(tmp.dir, { ...target, duration: warmupSeconds, overallRate: rate });
    runs.push(warm);
    const rssStart = rssBytes(server.pid);
    const samples = [{ t: 0, rss: rssStart, load: loadavg()[0] }];
    const started = Date.now();
    const sampler = setInterval(() => samples.push({ t: (Date.now() - started) / 1000, rss: rssBytes(server.pid), load: loadavg()[0] }), SAMPLE_MS);
    let soak;
    try {
      soak = await runLoad(tmp.dir, { ...target, duration: seconds, overallRate: rate });
    } finally {
      clearInterval(sampler);
    }
    runs.push(soak);
    const rssEnd = rssBytes(server.pid);
    samples.push({ t: (Date.now() - started) / 1000, rss: rssEnd, load: loadavg()[0] });
    const exit = await server.stop();
    server = null;
    const rows = await countPredictions(store);
    const ok2xx = 1 + runs.reduce((a, r) => a + r.ok, 0);
    const inFlight = runs.reduce((a, r) => a + r.connections * LOAD_SETTINGS.pipelining, 0);
    const failures = runs.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0);

    const every = Math.max(1, Math.round(30_000 / SAMPLE_MS));
    table(
      ['t s', 'RSS', 'vs end of warm-up', '1-min load'],
      samples
        .filter((_, i) => i % every === 0 || i === samples.length - 1)
        .map((s) => [fixed(s.t), mb(s.rss), `${s.rss >= rssStart ? '+' : ''}${fixed((100 * (s.rss - rssStart)) / rssStart)} %`, fixed(s.load)]),
    );
    const rssValues = samples.map((s) => s.rss);
    const growth = (rssEnd - rssStart) / rssStart;
    console.log(
      `\n  RSS: ${mb(rssStart)} at the end of the warm-up, ${mb(rssEnd)} at the end, min ${mb(Math.min(...rssValues))}, max ${mb(Math.max(...rssValues))} over ${samples.length} samples`,
    );
    console.log(
      `  soak: ${int(soak.ok)} answers in ${fixed(soak.seconds)} s = ${int(soak.rps)} req/s (target ${int(rate)}), p50 ${soak.latency.p50} ms, p90 ${soak.latency.p90} ms, p99 ${soak.latency.p99} ms, max ${soak.latency.max} ms`,
    );
    console.log(
      `  failures over every run (peak, warm-up, soak): ${runs.reduce((a, r) => a + r.non2xx, 0)} non-2xx, ${runs.reduce((a, r) => a + r.errors, 0)} socket errors (${runs.reduce((a, r) => a + r.timeouts, 0)} timeouts)`,
    );
    console.log(
      `  stored predictions after the SIGTERM stop (exit ${exit.code ?? exit.signal}): ${int(rows)} for ${int(ok2xx)} 2xx answers (at most ${inFlight} more: requests in flight when a run stopped)`,
    );
    const storedOk = exit.code === 0 && rows >= ok2xx && rows <= ok2xx + inFlight;
    const full = seconds >= 300;
    const a = verdict({
      name: `serve-soak RSS${full ? '' : ` (${seconds} s, shorter than the recorded 300 s)`}`,
      measured: `RSS ${mb(rssStart)} → ${mb(rssEnd)} over ${fixed(soak.seconds)} s at ${int(soak.rps)} req/s`,
      ratio: `${growth >= 0 ? '+' : ''}${fixed(100 * growth)} %`,
      goal: `< +${RSS_GOAL * 100} %`,
      pass: growth < RSS_GOAL,
    });
    const b = verdict({
      name: 'serve-soak errors',
      measured: `${failures} failed request(s); stored rows ${storedOk ? 'match' : 'do NOT match'} the 2xx answers`,
      ratio: `${int(soak.rps)} / ${int(rate)} req/s of the target rate`,
      goal: 'no non-2xx, no socket error, every 2xx stored',
      pass: failures === 0 && storedOk,
    });
    return a && b;
  } finally {
    if (server) await server.stop(5_000);
    await tmp.cleanup();
  }
}
