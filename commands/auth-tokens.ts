/** `oracx auth tokens issue|rotate-key`: JWTs oracx signs itself, with a key sealed in the store under ORACX_MASTER_KEY. */
import { defineCommand } from '../src/command.js';
import { audit } from './auth.js';
import { confirmOrYes } from './confirm.js';
import { list } from './parse.js';

const ROLE_CHOICES = ['viewer', 'predictor', 'admin'] as const;

function ttl(value: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (!m) throw new Error(`expected a lifetime like 15m, 1h or 7d, got "${value}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export const authTokensIssue = defineCommand<{ sub?: string; role?: (typeof ROLE_CHOICES)[number]; ttl: number; audience?: string[] }>({
  path: ['auth', 'tokens', 'issue'],
  description: 'sign a JWT for the prediction service and print it once (needs ORACX_MASTER_KEY)',
  options: [
    { flags: '--sub <name>', description: 'who the token is for (its subject; auth users export|delete find tokens by it)' },
    { flags: '--role <role>', description: 'what the token may do', choices: ROLE_CHOICES },
    { flags: '--ttl <lifetime>', description: 'lifetime, 1m to 30d (tokens cannot be revoked one by one)', defaultValue: '1h', parse: ttl },
    { flags: '--audience <aud>', description: 'aud claim, comma-separated (serve checks it against --jwt-audience)', defaultValue: 'oracx', parse: list },
  ],
  examples: [
    'export ORACX_MASTER_KEY=$(openssl rand -base64 32)     # once; keep it in a secret manager',
    'TOKEN=$(oracx auth tokens issue --sub ana@example.com --role viewer --ttl 8h)',
    'oracx auth tokens issue --sub ci --role predictor --ttl 15m --audience oracx-api --json',
  ],
  async run(ctx, _args, options) {
    const { UsageError } = await import('../src/errors.js');
    if (!options.sub) throw new UsageError('--sub is required', { hint: 'e.g. --sub ana@example.com' });
    if (!options.role) throw new UsageError('--role is required', { hint: `one of ${ROLE_CHOICES.join(', ')}` });
    const { requireKeyring } = await import('../src/auth/secrets.js');
    const { checkIssueOptions, ensureSigningKey, issueToken, ORACX_ISSUER } = await import('../src/auth/tokens.js');
    const keyring = requireKeyring(ctx.io.env, 'to seal the key tokens are signed with');
    const issue = { sub: options.sub, role: options.role, ttlSeconds: options.ttl, audience: options.audience ?? ['oracx'] };
    checkIssueOptions(issue);
    const store = await ctx.store();
    const signing = await ensureSigningKey(store, keyring);
    if (signing.created) {
      await audit(ctx, 'token.signing-key.create', 'secret:jwt-signing-key', { kid: signing.kid, masterKeyId: keyring.current.id });
      ctx.logger.info(`created the token signing key ${signing.kid}, sealed under master key ${keyring.current.id}`);
    }
    if (signing.rewrapped) ctx.logger.info(`sealed the token signing key again under the current master key ${keyring.current.id}`);
    const { token, claims, kid } = await issueToken(signing, issue);
    const expiresAt = new Date(claims.exp * 1000).toISOString();
    await audit(ctx, 'token.issue', `jwt:${ORACX_ISSUER}|${claims.sub}`, { role: claims.oracx_role, audience: claims.aud, expiresAt, jti: claims.jti, kid });
    if (ctx.output.json) return ctx.output.printJson({ token, ...claims, kid, expiresAt });
    ctx.io.stdout.write(`${token}\n`);
    ctx.logger.warn(
      `token for ${claims.sub} (${claims.oracx_role}, audience ${claims.aud.join(',')}) issued, valid until ${expiresAt}: it is printed above once; send it as Authorization: Bearer <token>`,
    );
  },
});

export const authTokensRotateKey = defineCommand<{ yes?: boolean }>({
  path: ['auth', 'tokens', 'rotate-key'],
  description: 'replace the token signing key: every token issued so far stops working (servers notice within seconds)',
  options: [{ flags: '--yes', description: 'do not ask for confirmation' }],
  examples: ['oracx auth tokens rotate-key --yes'],
  async run(ctx, _args, options) {
    const { requireKeyring } = await import('../src/auth/secrets.js');
    const { rotateSigningKey } = await import('../src/auth/tokens.js');
    const keyring = requireKeyring(ctx.io.env, 'to seal the new signing key');
    await confirmOrYes(ctx, 'Replace the token signing key? Every token issued so far will be refused', options.yes);
    const store = await ctx.store();
    const rotated = await rotateSigningKey(store, keyring);
    await audit(ctx, 'token.signing-key.rotate', 'secret:jwt-signing-key', {
      kid: rotated.kid,
      previous: rotated.previous,
      masterKeyId: keyring.current.id,
    });
    if (ctx.output.json) return ctx.output.printJson(rotated);
    ctx.logger.info(
      `token signing key is now ${rotated.kid}${rotated.previous ? ` (was ${rotated.previous}); tokens signed with the old one are refused` : ''}`,
    );
  },
});
