/** `oracx serve`: the HTTP prediction service. Parses flags and starts src/server; nothing else. */
import { defineCommand } from '../src/command.js';
import { UsageError } from '../src/errors.js';
import { checkOrigins } from '../src/server/security/origins.js';
import { parseRate } from '../src/server/plugins/rates.js';
import { duration, integer, list } from './parse.js';
import type { ServeSettings } from '../src/server/command.js';
import { REGISTRY_OPTION } from './registry-context.js';

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

export const serveCommand = defineCommand<ServeSettings>({
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
    {
      flags: '--redis <url>',
      description:
        'Redis (env ORACX_REDIS_URL) for rate limits and the prediction cache shared by every process (in memory otherwise), and the live matches of collect feed --redis for /v1/live (the store otherwise)',
    },
    { flags: '--live-prefix <prefix>', description: 'key prefix of the live matches collect feed --redis writes (its --redis-prefix)', defaultValue: 'oracx:' },
    { flags: '--tls-cert <file>', description: 'PEM certificate: serve HTTPS (TLS 1.2 minimum, 1.3 preferred)' },
    { flags: '--tls-key <file>', description: 'PEM private key of --tls-cert' },
    {
      flags: '--cors <origins>',
      description: 'browser origins allowed to call the API, comma-separated, e.g. https://app.example.com (none by default)',
      parse: (v: string) => checkOrigins(list(v)),
    },
    { flags: '--jwks-url <url>', description: 'accept JWTs of an OIDC provider: its JWKS URL (jwks_uri), RS256/ES256; needs --jwt-issuer' },
    { flags: '--jwt-issuer <iss>', description: 'the iss external tokens must carry (the OIDC issuer URL)' },
    { flags: '--jwt-audience <aud>', description: 'aud values accepted, comma-separated (default oracx)', parse: list },
    {
      flags: '--jwt-role-claim <claim>',
      description: 'claim holding the role (default oracx_role; a dotted path such as realm_access.roles works; roles and scope are the fallbacks)',
    },
    {
      flags: '--jwt-secret-file <file>',
      description: 'file holding the HS256 secret shared with a token issuer (or set ORACX_JWT_SECRET); never pass a secret as a flag',
    },
    { flags: '--refresh <duration>', description: 'how often the store is polled for new results (0: never)', defaultValue: '30s', parse: duration },
    {
      flags: '--prediction-refresh <duration>',
      description: 'how often finished matches (match_finished events) refresh the stored predictions of coming matches with the champion (0: never)',
      defaultValue: '30s',
      parse: duration,
    },
    { flags: '--model-poll <duration>', description: 'how often a followed alias is re-resolved (0: never)', defaultValue: '30s', parse: duration },
    { flags: '--cache-ttl <duration>', description: 'prediction cache lifetime (live matches: at most 30s; 0: no cache)', defaultValue: '5m', parse: duration },
    {
      flags: '--rate-limit <rate>',
      description: 'requests per API key or token (e.g. 600/min, 20/s, 100/10s; 0: no limit); shared through --redis',
      defaultValue: '600/min',
      parse: parseRate,
    },
    {
      flags: '--ip-rate-limit <rate>',
      description: 'requests per client address, checked before authentication (0: no limit)',
      defaultValue: '1200/min',
      parse: parseRate,
    },
    { flags: '--no-access-log', description: 'no log line per request' },
    REGISTRY_OPTION,
  ],
  examples: [
    'oracx auth keys create --role predictor --name ci     # prints the key once',
    'oracx serve --model oracx-e0@champion --port 8080',
    'oracx serve --model oracx-e0@champion --challenger oracx-e0@challenger --split 0.1 --redis redis://127.0.0.1:6379 --workers 2',
    'oracx serve --model ./pulled/model.onnx --tls-cert cert.pem --tls-key key.pem --port 8443',
    'ORACX_MASTER_KEY=… oracx serve --model oracx-e0@champion     # also accepts tokens from oracx auth tokens issue',
    'oracx serve --model oracx-e0@champion --jwks-url https://login.example.com/.well-known/jwks.json --jwt-issuer https://login.example.com/ --jwt-audience oracx-api --cors https://app.example.com',
  ],
  async run(ctx, _args, options) {
    if ((options.model === undefined) === (options.run === undefined)) {
      throw new UsageError(options.model === undefined ? 'pass --model or --run' : 'pass --model or --run, not both', {
        hint: 'e.g. --model oracx-e0@champion',
      });
    }
    if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    if (options.split !== undefined && options.challenger === undefined) throw new UsageError('--split needs --challenger');
    const { serve } = await import('../src/server/command.js');
    await serve(ctx, options);
  },
});
