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
/** Venue splits keep only points and goals: the first three fields. */
const VENUE_FIELDS = 3;

/**
 * Values used for imputation before any match has been seen: typical top-flight per-team figures (points ≈ 1.37,
 * goals ≈ 1.35, shots ≈ 12.5, on target ≈ 4.5). They only matter for the first date of a data set, and for shots
 * in data sets that never record them.
 */
const PRIOR: readonly number[] = [1.37, 1.35, 1.35, 12.5, 12.5, 4.5, 4.5];

/** The last `capacity` records of one team, newest overwriting oldest. */
class Ring {
  readonly data: Float64Array;
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

  /** Offset in `data` of the i-th most recent record (i = 0 is the newest). */
  slot(i: number): number {
    return ((this.head - 1 - i + this.capacity * 2) % this.capacity) * FIELDS;
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
  private readonly atAway = new Map<number, Ring>();
  private readonly homeSideMean = new RunningMean();
  private readonly awaySideMean = new RunningMean();
  private readonly homeRec = new Float64Array(FIELDS);
  private readonly awayRec = new Float64Array(FIELDS);
  /** Fields written per side (a prefix of the record: points, goals, then shots when enabled). */
  private readonly sideFields: number;
  /** Values per window block: both sides' all-venue form, then the two venue splits. */
  private readonly blockWidth: number;
  /** Window lengths ascending, with their position in params.windows (the output order). */
  private readonly ascending: ReadonlyArray<{ n: number; block: number }>;
  /** Scratch space for writeRing, reused to avoid an allocation per window. */
  private readonly sums = new Float64Array(FIELDS);
  private readonly counts = new Float64Array(FIELDS);

  constructor(private readonly p: FormParams) {
    this.names = formNames(p);
    this.maxWindow = Math.max(...p.windows);
    this.sideFields = p.shots ? FIELDS : VENUE_FIELDS;
    this.blockWidth = 2 * (this.sideFields + 1) + (p.venueSplit ? 2 * (VENUE_FIELDS + 1) : 0);
    this.ascending = p.windows.map((n, block) => ({ n, block })).sort((a, b) => a.n - b.n);
  }

  /** Writes, per window, each side's all-venue form then the venue splits, in formNames order. */
  write(m: MatchFact, _day: number, out: Float64Array, offset: number): void {
    const side = this.sideFields + 1;
    this.writeRing(this.all.get(m.homeTeam), this.sideFields, this.homeSideMean, this.awaySideMean, out, offset);
    this.writeRing(this.all.get(m.awayTeam), this.sideFields, this.homeSideMean, this.awaySideMean, out, offset + side);
    if (this.p.venueSplit) {
      this.writeRing(this.atHome.get(m.homeTeam), VENUE_FIELDS, this.homeSideMean, undefined, out, offset + 2 * side);
      this.writeRing(this.atAway.get(m.awayTeam), VENUE_FIELDS, this.awaySideMean, undefined, out, offset + 2 * side + VENUE_FIELDS + 1);
    }
  }

  /** Appends the match to both teams' windows and to the running means. */
  update(m: PlayedMatch): void {
    fill(this.homeRec, m.homeGoals, m.awayGoals, m.homeShots, m.awayShots, m.homeShotsOnTarget, m.awayShotsOnTarget);
    fill(this.awayRec, m.awayGoals, m.homeGoals, m.awayShots, m.homeShots, m.awayShotsOnTarget, m.homeShotsOnTarget);
    this.ring(this.all, m.homeTeam).push(this.homeRec);
    this.ring(this.all, m.awayTeam).push(this.awayRec);
    this.ring(this.atHome, m.homeTeam).push(this.homeRec);
    this.ring(this.atAway, m.awayTeam).push(this.awayRec);
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

  /**
   * For every window, writes the mean of the first nf fields over the ring's newest n records and then the number of
   * records used, at offset within that window's block. One pass serves all windows: shorter windows are prefixes.
   */
  private writeRing(ring: Ring | undefined, nf: number, mean: RunningMean, other: RunningMean | undefined, out: Float64Array, offset: number): void {
    const available = ring ? ring.count : 0;
    const sum = this.sums.fill(0);
    const k = this.counts.fill(0);
    let i = 0;
    for (const { n, block } of this.ascending) {
      const upto = Math.min(n, available);
      for (; i < upto; i++) {
        const base = ring!.slot(i);
        for (let f = 0; f < nf; f++) {
          const v = ring!.data[base + f]!;
          if (!Number.isNaN(v)) {
            sum[f]! += v;
            k[f]! += 1;
          }
        }
      }
      let o = offset + block * this.blockWidth;
      for (let f = 0; f < nf; f++) out[o++] = k[f]! > 0 ? sum[f]! / k[f]! : mean.mean(f, other);
      out[o] = upto;
    }
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
