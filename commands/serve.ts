/** `oracx serve`: the HTTP prediction service. Parses flags and starts src/server; nothing else. */
import { defineCommand } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import { parseRate, type Rate } from '../src/server/plugins/rates.js';
import { duration, integer, list } from './parse.js';
import { REGISTRY_OPTION, type RegistryChoice } from './registry-context.js';

export interface ServeOptions {
  model?: string;
  run?: number;
  challenger?: string;
  split?: number;
  host: string;
  port: number;
  workers: number;
  redis?: string;
  tlsCert?: string;
  tlsKey?: string;
  cors?: string[];
  refresh: number;
  modelPoll: number;
  cacheTtl: number;
  accessLog: boolean;
  registry: RegistryChoice;
  rateLimit: Rate | null;
  ipRateLimit: Rate | null;
}

function share(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0 && n < 1)) throw new Error(`expected a share between 0 and 1 (exclusive), e.g. 0.1, got "${value}"`);
  return n;
}

function port(value: string): number {
  const n = integer(0)(value);
  if (n > 65535) throw new Error(`expected a port in 0–65535, got "${value}"`);
  return n;
}

export const serveCommand = defineCommand<ServeOptions>({
  path: ['serve'],
  description: 'serve forecasts over HTTP: /v1 predictions, KServe v2 inference, health, /metrics, OpenAPI at /docs',
  options: [
    { flags: '--model <ref>', description: 'registered model NAME@ALIAS (followed: hot reload when the alias moves), NAME/VERSION, or a model.onnx file' },
    { flags: '--run <id>', description: 'a completed training run instead of a registered model', parse: integer(1) },
    { flags: '--challenger <ref>', description: 'A/B: a second model for a sticky share of callers (see --split)' },
    { flags: '--split <share>', description: 'share of callers sent to the challenger', parse: share },
    { flags: '--host <address>', description: 'address to listen on', defaultValue: '127.0.0.1' },
    { flags: '--port <n>', description: 'port (0: any free port)', defaultValue: '8080', parse: port },
    { flags: '--workers <n>', description: 'worker processes sharing the port (node:cluster)', defaultValue: '1', parse: integer(1) },
    { flags: '--redis <url>', description: 'Redis for rate limits and the prediction cache shared by every process (in memory otherwise)' },
    { flags: '--tls-cert <file>', description: 'PEM certificate: serve HTTPS (TLS 1.2 minimum, 1.3 preferred)' },
    { flags: '--tls-key <file>', description: 'PEM private key of --tls-cert' },
    { flags: '--cors <origins>', description: 'browser origins allowed to call the API, comma-separated (none by default)', parse: list },
    { flags: '--refresh <duration>', description: 'how often the store is polled for new results (0: never)', defaultValue: '30s', parse: duration },
    { flags: '--model-poll <duration>', description: 'how often a followed alias is re-resolved (0: never)', defaultValue: '30s', parse: duration },
    { flags: '--cache-ttl <duration>', description: 'prediction cache lifetime (live matches: at most 30s; 0: no cache)', defaultValue: '5m', parse: duration },
    { flags: '--rate-limit <rate>', description: 'requests per API key or token (e.g. 600/min, 20/s, 100/10s; 0: no limit); shared through --redis', defaultValue: '600/min', parse: parseRate },
    { flags: '--ip-rate-limit <rate>', description: 'requests per client address, checked before authentication (0: no limit)', defaultValue: '1200/min', parse: parseRate },
    { flags: '--no-access-log', description: 'no log line per request' },
    REGISTRY_OPTION,
  ],
  examples: [
    'oracx auth keys create --role predictor --name ci     # prints the key once',
    'oracx serve --model oracx-e0@champion --port 8080',
    'oracx serve --model oracx-e0@champion --challenger oracx-e0@challenger --split 0.1 --redis redis://127.0.0.1:6379 --workers 2',
    'oracx serve --model ./pulled/model.onnx --tls-cert cert.pem --tls-key key.pem --port 8443',
  ],
  async run(ctx, _args, options) {
    if ((options.model === undefined) === (options.run === undefined)) {
      throw new UsageError(options.model === undefined ? 'pass --model or --run' : 'pass --model or --run, not both', { hint: 'e.g. --model oracx-e0@champion' });
    }
    if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    if (options.split !== undefined && options.challenger === undefined) throw new UsageError('--split needs --challenger');
    const { serve } = await import('../src/server/command.js');
    await serve(ctx, options);
  },
});
