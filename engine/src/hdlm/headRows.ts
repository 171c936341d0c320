// Step 2 of training, for every task kind and for the layer scan: how a backbone pass over the
// examples is batched and cached (backboneRuns), and the rows a head learns from, cut from that
// pass at the head's layer over the head's label tokens, with the model's frozen norm applied.
import { join } from 'node:path';
import { CACHE_FOLDERS, defaultCacheDir } from '../cacheDir';
import { formatBytes } from '../diskBudget';
import type { FeatureSet } from '../train/headTrainer';
import type { FeatureRequest } from './features';
import type { LayerFeatures } from './layerFeatures';
import { DEFAULT_FEATURE_CACHE_BYTES, FeatureCache } from './featureCache';
import type { ownHeadCopy } from './headStore';
import type { TrainSettings } from './taskFile';
import type { TrainEvent, TrainTaskOptions } from './trainTypes';

/** What one backbone pass over a split gives head training: the rows read, and each record's choices per level and span. */
export interface BackbonePass {
  features: LayerFeatures[];
  choices: number[][][][];
}

/**
 * A head's rows out of a backbone pass: its levels' rows at its layer, each with its choices,
 * the model's frozen norm applied where the head keeps one (headNorm).
 */
export function planRows(data: BackbonePass, plan: { layer: number; levels: readonly number[] }, subset: TokenSubset, ctx: RowsContext): FeatureSet {
  return rowsAt(data.features, plan, subset, ctx, (level, example) => data.choices[example]![level - 1]!);
}

/** What turning feature blocks into a head's rows needs: the width, the model's own head (its norm), the settings. */
export interface RowsContext {
  hiddenSize: number;
  own: ReturnType<typeof ownHeadCopy>;
  settings: TrainSettings;
}

/**
 * A head's rows: its levels' feature blocks at its layer (with each row's choices when
 * `choicesOf` gives them), the model's frozen norm applied where the head keeps one (headNorm).
 */
export function rowsAt(features: readonly LayerFeatures[], plan: { layer: number; levels: readonly number[] }, subset: TokenSubset, ctx: RowsContext, choicesOf?: (level: number, example: number) => readonly (readonly number[])[]): FeatureSet {
  const blocks = features.filter((f) => f.layer === plan.layer && plan.levels.includes(f.level));
  return frozenNorm(featureSet(blocks, ctx.hiddenSize, subset, choicesOf), headNorm(ctx.own, ctx.settings), ctx.own);
}

interface TokenSubset {
  ids: Int32Array; // [K] vocabulary ids, ascending
  index: Map<number, number>; // vocabulary id → position in ids
}

export function labelTokenSubset(labelIds: readonly (readonly number[])[]): TokenSubset {
  const ids = Int32Array.from(new Set(labelIds.flat())).sort();
  return { ids, index: new Map(Array.from(ids, (id, i) => [id, i])) };
}

/**
 * Concatenates feature blocks into one training set, targets as indices into the subset. With
 * `choicesOf` (level, example) → the token choices at each of that example's rows of that level,
 * in row order, each row also gets its choices as subset indices.
 */
function featureSet(blocks: LayerFeatures[], H: number, subset: TokenSubset, choicesOf?: (level: number, example: number) => readonly (readonly number[])[]): FeatureSet {
  const n = blocks.reduce((a, b) => a + b.targets.length, 0);
  const x = new Float32Array(n * H);
  const targets = new Int32Array(n);
  const indexOf = (id: number): number => {
    const i = subset.index.get(id);
    if (i === undefined) throw new Error(`head training: token ${id} is not among the head's ${subset.ids.length} tokens`);
    return i;
  };
  let at = 0;
  for (const b of blocks) {
    x.set(b.hidden, at * H);
    b.targets.forEach((id, i) => (targets[at + i] = indexOf(id)));
    at += b.targets.length;
  }
  if (!choicesOf) return { x, targets };
  const offsets = new Int32Array(n + 1);
  const classes: number[] = [];
  let row = 0;
  for (const b of blocks) {
    // An example's rows of one level are consecutive and in span order (extractSpanFeatures).
    let k = 0;
    for (let i = 0; i < b.targets.length; i++, row++) {
      k = i > 0 && b.example[i] === b.example[i - 1] ? k + 1 : 0;
      const choices = choicesOf(b.level, b.example[i]!)[k];
      if (!choices) throw new Error(`head training: row ${i} of level ${b.level} has no choices (example ${b.example[i]}, token ${k})`);
      for (const id of choices) classes.push(indexOf(id));
      offsets[row + 1] = classes.length;
    }
  }
  return { x, targets, choices: { offsets, classes: Int32Array.from(classes) } };
}

/**
 * How a head treats the model's final norm: an RMS norm is copied into the head and trained with
 * it; GPT-2's layer norm is applied, frozen, to the features (the head graph applies the same
 * norm at inference); 'none' reads the raw residual stream.
 */
export function headNorm(own: ReturnType<typeof ownHeadCopy>, s: TrainSettings): 'trained' | 'frozen' | 'none' {
  if (s.headNorm === 'none' || !own.norm) return 'none';
  return own.norm.kind === 'rms' ? 'trained' : 'frozen';
}

/** Applies the model's own layer norm to every feature row when the head keeps it frozen. */
function frozenNorm(set: FeatureSet, how: 'trained' | 'frozen' | 'none', own?: ReturnType<typeof ownHeadCopy>): FeatureSet {
  if (how !== 'frozen' || own?.norm?.kind !== 'layer') return set;
  const { weight, bias, eps } = own.norm;
  const H = weight.length;
  const x = set.x;
  for (let row = 0; row < x.length; row += H) {
    let mean = 0;
    for (let h = 0; h < H; h++) mean += x[row + h]!;
    mean /= H;
    let variance = 0;
    for (let h = 0; h < H; h++) variance += (x[row + h]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / H + eps);
    for (let h = 0; h < H; h++) x[row + h] = (x[row + h]! - mean) * inv * weight[h]! + bias[h]!;
  }
  return set;
}

/** Each (level, layer) pair once, in first-seen order. */
export function uniqueReads(reads: readonly { level: number; layer: number }[]): { level: number; layer: number }[] {
  return reads.filter((r, i) => reads.findIndex((o) => o.level === r.level && o.layer === r.layer) === i);
}

/**
 * How every task kind batches one backbone pass over its examples, with `features` progress
 * events timed from this call, through the run's feature cache.
 */
export function backboneRuns(emit: (e: TrainEvent) => void, options: Pick<TrainTaskOptions, 'signal' | 'featureCache'>, fingerprint: string): Omit<FeatureRequest, 'reads'> {
  const t0 = performance.now();
  const signal = options.signal;
  const store = options.featureCache === false ? undefined : (options.featureCache ?? defaultFeatureCache(emit));
  return {
    cache: store ? { store, fingerprint } : undefined,
    // Measured on the 2-core CPU (WordNet, every 7th of 8,000 training examples, sequences
    // sorted by length, rows runs; 2026-12-03, interleaved): 64 sequences a run took 23.7–26.3 s
    // (six runs), 128 took 25.9–28.8 s (five), 256 took 28.9 s; the position budget keeps runs
    // of long inputs (and their memory) from growing further.
    batchSize: 64,
    tokensPerBatch: 16384,
    signal,
    onProgress: (done, total) => {
      const rate = done / Math.max(1e-9, (performance.now() - t0) / 1000);
      emit({ kind: 'features', done, total, examplesPerS: rate, etaS: (total - done) / Math.max(rate, 1e-9) });
    },
  };
}

/** The engine's feature cache folder, its events told as stage messages. */
function defaultFeatureCache(emit: (e: TrainEvent) => void): FeatureCache {
  const dir = join(defaultCacheDir(), CACHE_FOLDERS.features);
  return new FeatureCache(dir, DEFAULT_FEATURE_CACHE_BYTES, (e) => {
    const size = e.bytes !== undefined ? ` (${formatBytes(e.bytes)})` : '';
    const message =
      e.kind === 'hit' ? `hidden states read from the feature cache${size}`
      : e.kind === 'stored' ? `hidden states kept in the feature cache${size}, ${dir}`
      : e.kind === 'corrupt' ? `a damaged feature cache entry was removed and is rebuilt (${e.detail})`
      : e.kind === 'not stored' ? `hidden states not kept in the feature cache: ${e.detail}`
      : e.kind === 'evicted' ? `an older feature cache entry was removed${size} to stay within ${formatBytes(DEFAULT_FEATURE_CACHE_BYTES)}`
      : undefined;
    if (message) emit({ kind: 'stage', message });
  });
}
