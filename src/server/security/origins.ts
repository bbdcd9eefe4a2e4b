/** CORS allow-list entries, checked where they are given (flag parsing, app options). */

/** The origins, normalised; throws when one is not exactly scheme://host[:port] (no path, no wildcard). */
export function checkOrigins(origins: readonly string[]): string[] {
  return origins.map((origin) => {
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // reported below
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin.replace(/\/$/, '')) {
      throw new Error(`"${origin}" is not an origin: write scheme://host[:port] without a path or wildcard, e.g. https://app.example.com`);
    }
    return url.origin;
  });
}
