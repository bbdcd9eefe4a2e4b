/** Input tensors from a Dataset, following an exported model's input conventions, so callers never build tensors by hand. */
import { Tensor } from 'onnxruntime-node';
import type { Dataset } from '../ml/models/types.js';
import type { OnnxMetadata } from './metadata.js';

/** ORT feeds keyed by graph input name. */
export type OnnxFeeds = Record<string, Tensor>;

/**
 * Reusable buffers for a batch loop: the encoder writes into them (growing them when too small) instead of allocating
 * per batch. Feeds built on scratch buffers are only valid until the next call with the same scratch.
 */
export interface FeedScratch {
  features?: Float32Array;
  home?: BigInt64Array;
  away?: BigInt64Array;
  competition?: BigInt64Array;
}

/** Encodes rows [from, to) of a dataset; built once per model so vocabularies and column maps are not rebuilt per batch. */
export type FeedEncoder = (dataset: Dataset, from?: number, to?: number, scratch?: FeedScratch) => OnnxFeeds;

/** A buffer of exactly `size` elements: a view on scratch[key] when it is large enough, else a new one kept there. */
function buffer<K extends keyof FeedScratch>(
  scratch: FeedScratch | undefined,
  key: K,
  size: number,
  make: (n: number) => NonNullable<FeedScratch[K]>,
): NonNullable<FeedScratch[K]> {
  if (scratch === undefined) return make(size);
  const have = scratch[key];
  if (have !== undefined && have.length >= size) return (have.length === size ? have : have.subarray(0, size)) as NonNullable<FeedScratch[K]>;
  const fresh = make(size);
  scratch[key] = fresh;
  return fresh;
}

/** Column k of the model's features is column map[k] of the dataset; `identity` when the orders match exactly. */
interface ColumnMap {
  names: readonly string[];
  map: Int32Array;
  identity: boolean;
}

function columnMap(meta: OnnxMetadata, names: readonly string[]): ColumnMap {
  const map = Int32Array.from(meta.featureNames, (n) => names.indexOf(n));
  const missing = meta.featureNames.filter((_, k) => map[k]! < 0);
  if (missing.length > 0) {
    throw new RangeError(
      `onnx feeds: feature(s) ${missing.map((m) => `'${m}'`).join(', ')} of the ${meta.kind} model not in the dataset; available: ${names.join(', ') || '(none)'}`,
    );
  }
  const identity = names.length === map.length && map.every((j, k) => j === k);
  return { names, map, identity };
}

/** A feed encoder for the model described by meta (see readOnnxMetadata). */
export function feedEncoder(meta: OnnxMetadata): FeedEncoder {
  const wanted = new Set(meta.inputs.map((i) => i.name));
  const width = meta.featureNames.length;
  let columns: ColumnMap | null = null;
  const teams = new Map((meta.teams ?? []).map((id, i) => [id, BigInt(i)]));
  const unseenTeam = BigInt(teams.size);
  const competitions = new Map((meta.competitions ?? []).map((name, i) => [name, BigInt(i)]));
  const unseenCompetition = BigInt(competitions.size);

  return (dataset, from = 0, to = dataset.matches.length, scratch) => {
    if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && 0 <= from && from <= to && to <= dataset.matches.length)) {
      throw new RangeError(`onnx feeds: rows [${from}, ${to}) outside the dataset's ${dataset.matches.length} matches`);
    }
    const n = to - from;
    const feeds: OnnxFeeds = {};
    if (wanted.has('features')) {
      if (dataset.X.length !== dataset.matches.length) {
        throw new RangeError(`onnx feeds: the dataset has ${dataset.X.length} feature rows for ${dataset.matches.length} matches`);
      }
      if (columns === null || columns.names !== dataset.featureNames) columns = columnMap(meta, dataset.featureNames);
      const { map, identity } = columns;
      const stride = dataset.featureNames.length;
      const flat = buffer(scratch, 'features', n * width, (size) => new Float32Array(size));
      for (let i = 0; i < n; i++) {
        const row = dataset.X[from + i]!;
        if (row.length !== stride) throw new RangeError(`onnx feeds: feature row ${from + i} has ${row.length} values but featureNames lists ${stride}`);
        // A plain loop: as fast as set() per row (which pays a runtime call each time) and handles picked columns too.
        const at = i * width;
        if (identity) for (let k = 0; k < width; k++) flat[at + k] = row[k]!;
        else for (let k = 0; k < width; k++) flat[at + k] = row[map[k]!]!;
      }
      feeds.features = new Tensor('float32', flat, [n, width]);
    }
    if (wanted.has('home') || wanted.has('away') || wanted.has('competition')) {
      const home = buffer(scratch, 'home', n, (size) => new BigInt64Array(size));
      const away = buffer(scratch, 'away', n, (size) => new BigInt64Array(size));
      const competition = buffer(scratch, 'competition', n, (size) => new BigInt64Array(size));
      for (let i = 0; i < n; i++) {
        const m = dataset.matches[from + i]!;
        home[i] = teams.get(m.homeTeam) ?? unseenTeam;
        away[i] = teams.get(m.awayTeam) ?? unseenTeam;
        competition[i] = competitions.get(m.competition) ?? unseenCompetition;
      }
      if (wanted.has('home')) feeds.home = new Tensor('int64', home, [n]);
      if (wanted.has('away')) feeds.away = new Tensor('int64', away, [n]);
      if (wanted.has('competition')) feeds.competition = new Tensor('int64', competition, [n]);
    }
    return feeds;
  };
}

/** The feeds for every row of dataset, in the input conventions of the model described by meta. */
export function onnxFeeds(meta: OnnxMetadata, dataset: Dataset): OnnxFeeds {
  return feedEncoder(meta)(dataset);
}
