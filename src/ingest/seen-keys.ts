/** Duplicate match keys within one file. */
import type { MatchRecord } from './football-data/types.js';

/**
 * The first line of each match key in one file. Competition and season are fixed for a file, so the key is
 * date + home + away, packed into one number: a string key per row held ~300 bytes (with its rope of parts)
 * and was most of the heap when collecting a 100 MB file.
 */
export class SeenKeys {
  private readonly keys = new Map<number | string, number>();
  private readonly teams = new Map<string, number>();

  private team(name: string): number {
    const key = name.toLowerCase();
    let n = this.teams.get(key);
    if (n === undefined) {
      n = this.teams.size;
      this.teams.set(key, n);
    }
    return n;
  }

  /** Records `line` for the row's key and returns the line it was first seen on, if it was. */
  firstLine(r: MatchRecord, line: number): number | undefined {
    const home = this.team(r.homeTeam);
    const away = this.team(r.awayTeam);
    const day = Date.parse(r.date) / 86_400_000 + 2 ** 20; // whole days, shifted to be ≥ 0 for years 1..4840
    // 2^21 days × 2^16 × 2^16 = 2^53 fits a double exactly; past 65,536 team names fall back to a string.
    const key = home < 65_536 && away < 65_536 && day >= 0 && day < 2 ** 21 ? (day * 65_536 + home) * 65_536 + away : `${r.date}|${home}|${away}`;
    const earlier = this.keys.get(key);
    if (earlier === undefined) this.keys.set(key, line);
    return earlier;
  }
}
