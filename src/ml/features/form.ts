/** Rolling form over each team's last N played matches: points, goals and shots per game, overall and by venue. */
import type { MatchFact } from '../types.js';
import { pointsOf, type FeatureGroup, type PlayedMatch } from './group.js';
import { formNames } from './names.js';
import type { FormParams } from './params.js';

/** Per-match quantities kept for a team, in this order; NaN where the source had no value. */
const POINTS = 0;
const GF = 1;
const GA = 2;
const SHOTS_FOR = 3;
const SHOTS_AGAINST = 4;
const SOT_FOR = 5;
const SOT_AGAINST = 6;
const FIELDS = 7;
const VENUE_FIELDS: readonly number[] = [POINTS, GF, GA];

/**
 * Values used for imputation before any match has been seen: typical top-flight per-team figures (points ≈ 1.37,
 * goals ≈ 1.35, shots ≈ 12.5, on target ≈ 4.5). They only matter for the first date of a data set, and for shots
 * in data sets that never record them.
 */
const PRIOR: readonly number[] = [1.37, 1.35, 1.35, 12.5, 12.5, 4.5, 4.5];

/** The last `capacity` records of one team, newest overwriting oldest. */
class Ring {
  private readonly data: Float64Array;
  private head = 0;
  count = 0;

  constructor(private readonly capacity: number) {
    this.data = new Float64Array(capacity * FIELDS);
  }

  push(rec: Float64Array): void {
    this.data.set(rec, this.head * FIELDS);
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Field f of the i-th most recent record (i = 0 is the newest). */
  get(i: number, f: number): number {
    const slot = (this.head - 1 - i + this.capacity * 2) % this.capacity;
    return this.data[slot * FIELDS + f]!;
  }
}

/** Running sums of every field over all team-matches seen, for imputing empty windows. */
class RunningMean {
  private readonly sum = new Float64Array(FIELDS);
  private readonly n = new Float64Array(FIELDS);

  add(rec: Float64Array): void {
    for (let f = 0; f < FIELDS; f++) {
      const v = rec[f]!;
      if (!Number.isNaN(v)) {
        this.sum[f]! += v;
        this.n[f]! += 1;
      }
    }
  }

  /** Mean of field f over this and `other` (when given), or the prior when nothing has been seen. */
  mean(f: number, other?: RunningMean): number {
    const n = this.n[f]! + (other ? other.n[f]! : 0);
    if (n === 0) return PRIOR[f]!;
    return (this.sum[f]! + (other ? other.sum[f]! : 0)) / n;
  }
}

/**
 * Averages skip missing values (shots are absent from older seasons). A window with no value for a quantity is
 * imputed with the running mean of that quantity over every team-match seen so far (venue-specific for the venue
 * splits) rather than 0: the vector stays on the data's scale, and the `_n` column tells a model the window was
 * empty or short. Shot columns carry no count of their own; an all-missing shot window reads as league-average.
 */
export class FormGroup implements FeatureGroup {
  readonly names: string[];
  private readonly maxWindow: number;
  private readonly all = new Map<number, Ring>();
  private readonly atHome = new Map<number, Ring>();
  private readonly away = new Map<number, Ring>();
  private readonly homeSideMean = new RunningMean();
  private readonly awaySideMean = new RunningMean();
  private readonly homeRec = new Float64Array(FIELDS);
  private readonly awayRec = new Float64Array(FIELDS);
  private readonly sideFields: number[];

  constructor(private readonly p: FormParams) {
    this.names = formNames(p);
    this.maxWindow = Math.max(...p.windows);
    this.sideFields = p.shots ? [POINTS, GF, GA, SHOTS_FOR, SHOTS_AGAINST, SOT_FOR, SOT_AGAINST] : [POINTS, GF, GA];
  }

  /** Writes, per window, each side's all-venue form then the venue splits, in formNames order. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    let o = offset;
    for (const n of this.p.windows) {
      o = this.writeWindow(this.all.get(m.homeTeam), n, this.sideFields, this.homeSideMean, this.awaySideMean, out, o);
      o = this.writeWindow(this.all.get(m.awayTeam), n, this.sideFields, this.homeSideMean, this.awaySideMean, out, o);
      if (this.p.venueSplit) {
        o = this.writeWindow(this.atHome.get(m.homeTeam), n, VENUE_FIELDS, this.homeSideMean, undefined, out, o);
        o = this.writeWindow(this.away.get(m.awayTeam), n, VENUE_FIELDS, this.awaySideMean, undefined, out, o);
      }
    }
  }

  /** Appends the match to both teams' windows and to the running means. */
  update(m: PlayedMatch): void {
    fill(this.homeRec, m.homeGoals, m.awayGoals, m.homeShots, m.awayShots, m.homeShotsOnTarget, m.awayShotsOnTarget);
    fill(this.awayRec, m.awayGoals, m.homeGoals, m.awayShots, m.homeShots, m.awayShotsOnTarget, m.homeShotsOnTarget);
    this.ring(this.all, m.homeTeam).push(this.homeRec);
    this.ring(this.all, m.awayTeam).push(this.awayRec);
    this.ring(this.atHome, m.homeTeam).push(this.homeRec);
    this.ring(this.away, m.awayTeam).push(this.awayRec);
    this.homeSideMean.add(this.homeRec);
    this.awaySideMean.add(this.awayRec);
  }

  private ring(map: Map<number, Ring>, team: number): Ring {
    let r = map.get(team);
    if (!r) {
      r = new Ring(this.maxWindow);
      map.set(team, r);
    }
    return r;
  }

  /** Writes the mean of each field over the newest n records, then the number of records used; returns the next offset. */
  private writeWindow(ring: Ring | undefined, n: number, fields: readonly number[], mean: RunningMean, other: RunningMean | undefined, out: Float64Array, offset: number): number {
    const count = ring ? Math.min(n, ring.count) : 0;
    let o = offset;
    for (const f of fields) {
      let sum = 0;
      let k = 0;
      for (let i = 0; i < count; i++) {
        const v = ring!.get(i, f);
        if (!Number.isNaN(v)) {
          sum += v;
          k++;
        }
      }
      out[o++] = k > 0 ? sum / k : mean.mean(f, other);
    }
    out[o++] = count;
    return o;
  }
}

function fill(rec: Float64Array, gf: number, ga: number, sf: number | null, sa: number | null, tf: number | null, ta: number | null): void {
  rec[POINTS] = pointsOf(gf, ga);
  rec[GF] = gf;
  rec[GA] = ga;
  rec[SHOTS_FOR] = sf ?? Number.NaN;
  rec[SHOTS_AGAINST] = sa ?? Number.NaN;
  rec[SOT_FOR] = tf ?? Number.NaN;
  rec[SOT_AGAINST] = ta ?? Number.NaN;
}
