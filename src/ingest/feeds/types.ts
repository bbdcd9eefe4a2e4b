/** What every live-feed provider adapter gives the feed pipeline: requests to send and matches in one shape. */
import type { z } from 'zod';

/** The store's three match states (matches.status). */
export type StoreStatus = 'scheduled' | 'live' | 'finished';

/** One provider match, mapped to store terms except for the team names (resolved through team_aliases later). */
export interface FeedMatch {
  providerMatchId: string;
  /** The oracx competition code (E0), through the competition mapping. */
  competition: string;
  /** The provider's code for it (PL, 39), for messages. */
  providerCompetition: string;
  /** ISO instant of kick-off. */
  kickoff: string;
  /** The provider's status word, kept verbatim (POSTPONED, HT, …). */
  providerStatus: string;
  /** null when the provider's status is one this adapter does not know: the match is quarantined. */
  status: StoreStatus | null;
  homeTeam: string;
  awayTeam: string;
  /** Full-time (or, while live, current) goals; null before kick-off. */
  home: number | null;
  away: number | null;
  halfTimeHome: number | null;
  halfTimeAway: number | null;
  /** The item as the provider sent it, for quarantine. */
  raw: unknown;
}

/** One GET a poll sends. */
export interface FeedRequest {
  url: string;
  headers: Record<string, string>;
  providerCompetition: string;
  competition: string;
}

/** A provider adapter: a pure description of its HTTP API and response shape. */
export interface FeedProvider {
  /** As given to --provider. */
  readonly name: string;
  /** The environment variable holding the key. */
  readonly keyEnv: string;
  /** Base URL when neither flag nor env overrides it. */
  readonly defaultBaseUrl: string;
  /** The environment variable overriding the base URL (tests point it at a local server). */
  readonly baseUrlEnv: string;
  /** Provider competition code → oracx competition code, used when --map does not say. */
  readonly defaultCompetitions: Readonly<Record<string, string>>;
  /** Requests allowed per minute by default (the free tier's). */
  readonly defaultPerMinute: number;
  /** The request for one competition. */
  request(baseUrl: string, key: string, providerCompetition: string, competition: string, season: string | undefined): FeedRequest;
  /** The response envelope's schema: items are checked one by one, so one bad item does not lose the others. */
  readonly envelope: z.ZodType<{ items: unknown[] }>;
  /** One item in store terms, or why it cannot be read. */
  item(raw: unknown, request: FeedRequest): FeedMatch | BadItem;
}

/** An item that failed validation: quarantined with its reason. */
export interface BadItem {
  bad: true;
  providerMatchId: string | null;
  reason: string;
  raw: unknown;
}

/** Formats a zod error as one line naming the paths. */
export function zodReason(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
