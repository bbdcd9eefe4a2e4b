/** The live-feed providers by --provider name. */
import { UsageError } from '../../errors.js';
import { apiFootball } from './api-football.js';
import { footballDataOrg } from './football-data-org.js';
import type { FeedProvider } from './types.js';

/** Every adapter, by the name --provider takes. */
export const PROVIDERS: Readonly<Record<string, FeedProvider>> = {
  [footballDataOrg.name]: footballDataOrg,
  [apiFootball.name]: apiFootball,
};

/** The adapter named `name`; a usage error listing the others otherwise. */
export function providerNamed(name: string): FeedProvider {
  const p = PROVIDERS[name];
  if (!p) throw new UsageError(`unknown provider "${name}"`, { hint: `one of ${Object.keys(PROVIDERS).join(', ')}` });
  return p;
}
