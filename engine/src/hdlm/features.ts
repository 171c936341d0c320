// Feature caching for head training (ARCHITECTURE §4): the backbone is frozen, so it runs once
// over the dataset and the hidden states at the supervised positions are kept. A position is
// supervised when the next token is part of a gold label (the paper's per-head token loss on its
// own span) and is a choice there (classificationLayout's choiceSpans): its hidden state after
// the level's layer, read through the level's head, must pick that token among the choices.
// The shared prompt prefix runs once and is forked for every batch.
import type { DecodeState } from '../model/decodeState';
import { CancelledError, type SegmentedModel } from '../model/segmentedModel';
import type { ClassificationLayout, TeacherForced } from './classificationLayout';
import { FeatureCache } from './featureCache';
import type { LayerFeatures } from './layerFeatures';
import type { SpannedSequence } from './sequenceFormat';

interface LabelledText {
  text: string;
  labels: readonly string[];
}

export interface FeatureRequest {
  /** Which (level, layer) pairs to read: a level's label tokens at a layer. */
  reads: readonly { level: number; layer: number }[];
  /** Most sequences in one backbone run. */
  batchSize: number;
  /**
   * Most positions (sequences × the longest of them) in one run: long inputs go in smaller
   * batches, short ones in larger, so every run is about as big (default: no limit but batchSize).
   */
  tokensPerBatch?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Where features of an earlier run over the same inputs may be found, and are kept. */
  cache?: { store: FeatureCache; fingerprint: string };
  /** Told when the features were read back from the cache instead of run. */
  onCacheHit?: () => void;
}

/** A record too long for the context, and the positions it needs (atLeast: the fewest it can need, when it was not tokenized). */
interface TooLong<T> {
  record: T;
  tokens: number;
  atLeast?: true;
}

/**
 * The record, when its text alone is sure to need more positions than the context has, counted
 * without tokenizing it (fewestInputTokens): a text of megabytes would otherwise be encoded whole
 * (seconds and a gigabyte) only to be skipped as too long.
 */
function surelyTooLong<T extends { text: string }>(model: Pick<SegmentedModel, 'config'>, layout: ClassificationLayout, prefix: number, record: T): TooLong<T> | undefined {
  const fewest = prefix + layout.fewestInputTokens(record.text);
  return fewest > model.config.maxPositions ? { record, tokens: fewest, atLeast: true } : undefined;
}

/**
 * Splits records into those whose teacher-forced sequence fits the model's context and those
 * that do not (the rule: too long is skipped and reported, never truncated, since a cut input
 * or label would teach the head something else). For training (and the layer scan): only the
 * gold path is ever written into a training sequence, so an example whose gold path fits is
 * kept even when another path (a parent with a longer candidate list) would not fit. Evaluation
 * classifies, and its beam may explore any path: it measures with fitToContextOnAnyPath instead.
 * Every gold label must be in the layout's taxonomy where its path puts it.
 */
export function fitToContext<T extends LabelledText>(
  model: Pick<SegmentedModel, 'config'>,
  layout: ClassificationLayout,
  records: readonly T[],
): { fits: T[]; forced: TeacherForced[]; tooLong: TooLong<T>[] } {
  const split = splitByContext(model, layout, records, (record, prefix) => {
    const f = layout.teacherForced(record.text, record.labels);
    return { tokens: prefix + f.ids.length, kept: f };
  });
  // forced[i] is fits[i] teacher-forced, for callers that go on to train (choiceSequences).
  return { fits: split.fits.map((f) => f.record), forced: split.fits.map((f) => f.kept), tooLong: split.tooLong };
}

/**
 * Splits records into those that can be classified on whatever path the classifier explores and
 * those that cannot: the input with the taxonomy's longest path after it (the longest labels and,
 * with listCandidates, the longest candidate lists, level by level: longestPathTail) must fit the
 * model's context. The gold labels play no part, so a gold label the taxonomy lacks is no
 * obstacle (evaluation counts it wrong). Unlike training (fitToContext), classification cannot
 * know in advance which paths its beam will visit: a gold path that fits says nothing of them.
 */
export function fitToContextOnAnyPath<T extends { text: string }>(
  model: Pick<SegmentedModel, 'config'>,
  layout: ClassificationLayout,
  records: readonly T[],
): { fits: T[]; tooLong: TooLong<T>[] } {
  const split = splitByContext(model, layout, records, (record, prefix) => ({ tokens: layout.longestPrompt(record.text, prefix), kept: undefined }));
  return { fits: split.fits.map((f) => f.record), tooLong: split.tooLong };
}

/**
 * The records whose `measure` (the positions a record needs, the shared prefix's `prefix`
 * included, and what the measuring made that a caller keeps) is within the model's context, in
 * order, and those beyond it; a record sure to be too long (surelyTooLong) is not measured.
 */
function splitByContext<T extends { text: string }, K>(
  model: Pick<SegmentedModel, 'config'>,
  layout: ClassificationLayout,
  records: readonly T[],
  measure: (record: T, prefix: number) => { tokens: number; kept: K },
): { fits: { record: T; kept: K }[]; tooLong: TooLong<T>[] } {
  const prefix = layout.sharedPrefix().length;
  const fits: { record: T; kept: K }[] = [];
  const tooLong: TooLong<T>[] = [];
  for (const record of records) {
    const surely = surelyTooLong(model, layout, prefix, record);
    if (surely) {
      tooLong.push(surely);
      continue;
    }
    const { tokens, kept } = measure(record, prefix);
    if (tokens <= model.config.maxPositions) fits.push({ record, kept });
    else tooLong.push({ record, tokens });
  }
  return { fits, tooLong };
}

/**
 * What head training runs the backbone over: each teacher-forced record with the layout's
 * choiceSpans as its spans (where a label's next token is a choice), cut after its last choice
 * token since nothing after it feeds a row; and, per record and level, the choices at each span index.
 */
export function choiceSequences(forced: readonly TeacherForced[]): { sequences: SpannedSequence[]; choices: number[][][][] } {
  return {
    sequences: forced.map((f) => ({ ids: f.ids.slice(0, Math.max(0, ...f.choiceSpans.flat()) + 1), spans: f.choiceSpans })),
    choices: forced.map((f) => f.choices),
  };
}

/**
 * One LayerFeatures per requested read, in request order: the rows heads train on. `prefix`
 * (shared by every sequence: run once per batch size and forked), then each sequence with its
 * spans (choiceSequences, for a classification); read `{ level: d, layer }` collects span d-1's
 * supervised positions at that layer. Sequences are sorted by length and batched under the position budget.
 * With a cache, an earlier run's features over exactly these inputs are read back instead.
 */
export async function extractSpanFeatures(
  model: SegmentedModel,
  prefix: readonly number[],
  sequences: readonly SpannedSequence[],
  request: FeatureRequest,
): Promise<LayerFeatures[]> {
  const seen = new Set<string>();
  for (const { level, layer } of request.reads) {
    // A read asked twice would hand its rows twice to any head that takes both.
    const id = `${level}@${layer}`;
    if (seen.has(id)) throw new Error(`extractSpanFeatures: level ${level} at layer ${layer} is read twice`);
    seen.add(id);
  }
  if (!request.cache) return runBackbone(model, prefix, sequences, request);
  const { store, fingerprint } = request.cache;
  const key = FeatureCache.key({ fingerprint, provider: model.provider, prefix, sequences, reads: request.reads });
  const cached = store.load(key, model.config.hiddenSize);
  if (cached) {
    request.onProgress?.(sequences.length, sequences.length);
    request.onCacheHit?.();
    return cached;
  }
  const features = await runBackbone(model, prefix, sequences, request);
  store.store(key, model.config.hiddenSize, features);
  return features;
}

/**
 * The backbone pass itself: every batch up to the deepest layer read, collecting the reads' rows.
 * When that layer ends a segment, it runs only the positions read there (a rows run:
 * SegmentedModel.runTo's `rows`); the layers below it run every position, since later positions
 * attend to all of them. With the default model's WordNet heads that spared 11–17 % of the pass (2026-12-03).
 * Only the tokens up to the last position read run at all: the supervised token after it is
 * a target, not an input, and a sequence with nothing to read does not run.
 */
async function runBackbone(model: SegmentedModel, prefix: readonly number[], sequences: readonly SpannedSequence[], request: FeatureRequest): Promise<LayerFeatures[]> {
  const H = model.config.hiddenSize;
  const deepest = Math.max(...request.reads.map((r) => r.layer));
  const runLayer = model.exitLayers.find((e) => e >= deepest)!; // the last layer always is one
  const deepOnly = runLayer === deepest;
  const collected = request.reads.map(({ level, layer }) => ({ level, layer, hidden: new RowBuffer(H), targets: [] as number[], example: [] as number[] }));
  const prefixes = new Map<number, DecodeState>();
  const prefixFor = async (batch: number): Promise<DecodeState> => {
    let state = prefixes.get(batch);
    if (!state) {
      state = model.newState(batch);
      model.append(state, Array.from({ length: batch }, () => [...prefix]));
      await model.runTo(state, runLayer);
      prefixes.set(batch, state);
    }
    return state;
  };
  // How many of each sequence's tokens run: up to the position before its last supervised token.
  // (Index 0 would be predicted from the prefix's last position, which every sequence shares.)
  const runs = sequences.map((seq) => {
    const supervised = request.reads.flatMap((r) => seq.spans[r.level - 1] ?? []);
    if (supervised.includes(0)) throw new Error('extractSpanFeatures: a span cannot supervise the first token after the shared prefix');
    return Math.max(0, ...supervised);
  });
  // Batches of similar length: a batch runs as wide as its longest sequence (left padding), so
  // in file order about half the positions would be padding. Rows keep their record's index.
  const order = sequences.map((_, i) => i).filter((i) => runs[i]! > 0).sort((a, b) => runs[a]! - runs[b]! || a - b);
  const layersToRead = [...new Set(request.reads.map((r) => r.layer))];
  const budget = request.tokensPerBatch ?? Infinity;
  for (let start = 0; start < order.length; ) {
    if (request.signal?.aborted) throw new CancelledError();
    // Sorted by length, so the batch's longest sequence is its last one.
    let end = start + 1;
    while (end < order.length && end - start < request.batchSize && (end + 1 - start) * runs[order[end]!]! <= budget) end++;
    const indices = order.slice(start, end);
    const batch = indices.map((i) => sequences[i]!);
    const state = (await prefixFor(batch.length)).fork();
    const width = model.append(state, batch.map((seq, b) => seq.ids.slice(0, runs[indices[b]!])));
    // Where batch row b reads a level: the position before each supervised token, after the row's left padding.
    const readAt = (b: number, level: number): number[] => (batch[b]!.spans[level - 1] ?? []).map((index) => width - runs[indices[b]!]! + index - 1);
    // Per row, the positions read at the deepest layer, each once (their order is the result's).
    const deepRows = deepOnly ? batch.map((_, b) => [...new Set(request.reads.filter((r) => r.layer === deepest).flatMap((r) => readAt(b, r.level)))]) : undefined;
    const { layers, count: R } = await model.runTo(state, runLayer, { collectLayers: layersToRead, signal: request.signal, rows: deepRows }); // R: rows per batch row at the deepest layer
    state.release(); // read once (a rows run has released it already)
    batch.forEach((seq, b) => {
      for (const out of collected) {
        const hidden = layers!.get(out.layer)!; // [B, width, H], or [B, R, H] at the deepest layer
        for (const [k, position] of readAt(b, out.level).entries()) {
          const at = deepRows && out.layer === deepest ? (b * R + deepRows[b]!.indexOf(position)) * H : (b * width + position) * H;
          out.hidden.push(hidden.subarray(at, at + H));
          out.targets.push(seq.ids[seq.spans[out.level - 1]![k]!]!);
          out.example.push(indices[b]!);
        }
      }
    });
    request.onProgress?.(sequences.length - order.length + end, sequences.length); // those with nothing to read count as done
    start = end;
  }
  for (const state of prefixes.values()) state.release();
  return collected.map((c) => ({
    level: c.level,
    layer: c.layer,
    hidden: c.hidden.rows(),
    targets: Int32Array.from(c.targets),
    example: Int32Array.from(c.example),
  }));
}

/** Rows of H floats appended into one growing buffer: no object per row, however many rows. */
class RowBuffer {
  private data = new Float32Array(0);
  private count = 0;

  constructor(private readonly H: number) {}

  push(row: Float32Array): void {
    if ((this.count + 1) * this.H > this.data.length) {
      const grown = new Float32Array(Math.max(1024, this.data.length * 2, (this.count + 1) * this.H));
      grown.set(this.data.subarray(0, this.count * this.H));
      this.data = grown;
    }
    this.data.set(row, this.count * this.H);
    this.count++;
  }

  /** The rows as [N, H], trimmed to what was pushed. */
  rows(): Float32Array {
    return this.data.slice(0, this.count * this.H);
  }
}
