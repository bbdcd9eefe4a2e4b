/** Match keys, and pairings of unplayed rows, already seen in one file. */
import type { MatchRecord } from './football-data/types.js';

/** Packed keys of one competition and season. */
interface Group {
  keys: Map<number | string, number>;
  unplayed: Map<number, number>;
}

/**
 * The first line of each match key in one file. The key is date + home + away within a competition and season (one
 * of each in a season file; a fixtures file has several), packed into one number: a string key per row held ~300
 * bytes (with its rope of parts) and was most of the heap when collecting a 100 MB file.
 */
export class SeenKeys {
  private readonly groups = new Map<string, Group>();
  private readonly teams = new Map<string, number>();
  private last: { competition: string; season: string; group: Group } | undefined;

  private team(name: string): number {
    const key = name.toLowerCase();
    let n = this.teams.get(key);
    if (n === undefined) {
      n = this.teams.size;
      this.teams.set(key, n);
    }
    return n;
  }

  private group(r: MatchRecord): Group {
    // Rows of one competition and season come in runs: the last group answers without building a key.
    if (this.last && this.last.competition === r.competition && this.last.season === r.season) return this.last.group;
    const id = `${r.competition}|${r.season}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      group = { keys: new Map(), unplayed: new Map() };
      this.groups.set(id, group);
    }
    this.last = { competition: r.competition, season: r.season, group };
    return group;
  }

  /** Records `line` for the row's key and returns the line it was first seen on, if it was. */
  firstLine(r: MatchRecord, line: number): number | undefined {
    const { keys } = this.group(r);
    const home = this.team(r.homeTeam);
    const away = this.team(r.awayTeam);
    const day = Date.parse(r.date) / 86_400_000 + 2 ** 20; // whole days, shifted to be ≥ 0 for years 1..4840
    // 2^21 days × 2^16 × 2^16 = 2^53 fits a double exactly; past 65,536 team names fall back to a string.
    const key = home < 65_536 && away < 65_536 && day >= 0 && day < 2 ** 21 ? (day * 65_536 + home) * 65_536 + away : `${r.date}|${home}|${away}`;
    const earlier = keys.get(key);
    if (earlier === undefined) keys.set(key, line);
    return earlier;
  }

  /**
   * For a row without a score: records `line` for its pairing (competition, season, home, away) and returns the line
   * of an earlier unplayed row of the same pairing, if there was one. Only unplayed rows are kept, so this costs
   * nothing on files of results.
   */
  firstUnplayedLine(r: MatchRecord, line: number): number | undefined {
    const { unplayed } = this.group(r);
    // Team numbers stay far below 2^26 in any real file, so home × 2^26 + away is exact.
    const pairing = this.team(r.homeTeam) * 2 ** 26 + this.team(r.awayTeam);
    const earlier = unplayed.get(pairing);
    if (earlier === undefined) unplayed.set(pairing, line);
    return earlier;
  }
}
