// Byte-level BPE training. Text is first cut into pieces (preTokenizer.ts) and only the table
// of distinct pieces with their counts is kept; merges then run on that table. Each step takes
// the most frequent adjacent pair, merges it in every piece that holds it, and updates the pair
// counts of those pieces only, so a step costs what the pair touches, not the whole corpus.
import { BYTE_TO_CHAR } from './byteLevel';
import { preTokenize } from './preTokenizer';

/** Counts pre-tokenized pieces over any number of texts; training reads only this table. */
export class PieceCounter {
  readonly counts = new Map<string, number>();

  add(text: string): void {
    for (const piece of preTokenize(text)) this.counts.set(piece, (this.counts.get(piece) ?? 0) + 1);
  }
}

export interface BpeOptions {
  /** Size of the whole vocabulary: special tokens, the 256 bytes and the merged tokens. */
  vocabSize: number;
  /** Special tokens take the first ids, in this order. */
  specialTokens: readonly string[];
  /** Training stops early when the best pair occurs fewer times than this. */
  minPairCount?: number;
  onProgress?: (merges: number, pairCount: number) => void;
}

export interface BpeResult {
  /** Token strings by id: special tokens, then the 256 bytes in byte order, then merged tokens. */
  tokens: string[];
  /** Merges in rank order (the order they were learnt), as pairs of token strings. */
  merges: [string, string][];
}

/** Pair keys pack two ids in one number; ids stay below this. */
const KEY_SHIFT = 65536;

/**
 * A max-heap of (count, pair key). Entries go stale when a count drops; the trainer checks
 * each popped entry against the live count and pushes it back with the right one if needed.
 * Ties go to the smaller key, so training is deterministic.
 */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.keys.length && this.above(l, best)) best = l;
        if (r < this.keys.length && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** The piece table as flat arrays: piece w's symbols are pool[start[w] .. start[w] + length[w]). */
interface Pieces {
  pool: Int32Array;
  start: Int32Array;
  length: Int32Array;
  freq: Float64Array;
}

function toPieces(counts: ReadonlyMap<string, number>, firstByteId: number): Pieces {
  const encoder = new TextEncoder();
  const encoded: Uint8Array[] = [];
  const freqs: number[] = [];
  let total = 0;
  for (const [piece, count] of counts) {
    const bytes = encoder.encode(piece);
    if (bytes.length < 2) continue; // A single byte has no pair to merge.
    encoded.push(bytes);
    freqs.push(count);
    total += bytes.length;
  }
  const pieces: Pieces = {
    pool: new Int32Array(total),
    start: new Int32Array(encoded.length),
    length: new Int32Array(encoded.length),
    freq: Float64Array.from(freqs),
  };
  let at = 0;
  encoded.forEach((bytes, w) => {
    pieces.start[w] = at;
    pieces.length[w] = bytes.length;
    for (const b of bytes) pieces.pool[at++] = firstByteId + b;
  });
  return pieces;
}

/** Live pair statistics: how often each pair occurs, and which pieces (may) hold it. */
class PairStats {
  readonly count = new Map<number, number>();
  /** Pieces that held the pair when it was recorded; entries may be stale, never missing. */
  readonly holders = new Map<number, number[]>();

  add(key: number, freq: number, piece: number, record: boolean): void {
    this.count.set(key, (this.count.get(key) ?? 0) + freq);
    if (!record) return;
    const list = this.holders.get(key);
    if (list === undefined) this.holders.set(key, [piece]);
    else if (list[list.length - 1] !== piece) list.push(piece);
  }

  subtract(key: number, freq: number): void {
    this.count.set(key, this.count.get(key)! - freq);
  }

  /** Forgets pairs that no piece holds any more; a pair of two old tokens never comes back. */
  prune(keys: Iterable<number>): void {
    for (const key of keys) {
      if ((this.count.get(key) ?? 0) <= 0) {
        this.count.delete(key);
        this.holders.delete(key);
      }
    }
  }
}

/** Trains a byte-level BPE on a piece-count table. */
export function trainBpe(counts: ReadonlyMap<string, number>, options: BpeOptions): BpeResult {
  const { vocabSize, specialTokens } = options;
  const minPairCount = options.minPairCount ?? 2;
  const firstByteId = specialTokens.length;
  if (vocabSize > KEY_SHIFT) throw new Error(`vocabulary size ${vocabSize} is above the supported ${KEY_SHIFT}`);
  if (vocabSize < firstByteId + 256) throw new Error(`vocabulary size ${vocabSize} leaves no room for the 256 bytes`);
  const tokens = [...specialTokens, ...BYTE_TO_CHAR];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  if (ids.size !== tokens.length) throw new Error('a special token collides with a byte-level symbol');

  const pieces = toPieces(counts, firstByteId);
  const { pool, start, length, freq } = pieces;
  const stats = new PairStats();
  for (let w = 0; w < start.length; w++) {
    for (let i = start[w]!; i < start[w]! + length[w]! - 1; i++) stats.add(pool[i]! * KEY_SHIFT + pool[i + 1]!, freq[w]!, w, true);
  }
  const heap = new PairHeap();
  for (const [key, count] of stats.count) heap.push(count, key);

  const merges: [string, string][] = [];
  const visited = new Int32Array(start.length).fill(-1);
  while (tokens.length < vocabSize && heap.size > 0) {
    const { count, key } = heap.pop();
    const live = stats.count.get(key) ?? 0;
    if (live !== count) {
      if (live > 0) heap.push(live, key);
      continue;
    }
    if (count < minPairCount) break;
    const a = Math.floor(key / KEY_SHIFT);
    const b = key % KEY_SHIFT;
    const mergedText = tokens[a]! + tokens[b]!;
    let merged = ids.get(mergedText);
    if (merged === undefined) {
      merged = tokens.length;
      tokens.push(mergedText);
      ids.set(mergedText, merged);
    }
    merges.push([tokens[a]!, tokens[b]!]);

    const touched = new Set<number>();
    const lowered = new Set<number>();
    const step = merges.length;
    for (const w of stats.holders.get(key) ?? []) {
      if (visited[w] === step) continue;
      visited[w] = step;
      mergePiece(pieces, w, a, b, merged, stats, touched, lowered);
    }
    stats.prune(lowered);
    for (const k of touched) {
      const c = stats.count.get(k);
      if (c !== undefined && c > 0) heap.push(c, k);
    }
    if (options.onProgress && merges.length % 500 === 0) options.onProgress(merges.length, count);
  }
  return { tokens, merges };
}

/**
 * Merges every (a, b) in piece w, left to right, into `merged`. The piece's pairs are taken out
 * of the statistics before and put back after, which keeps overlapping cases such as "a a a"
 * right without special handling; only pairs with the new token are recorded as new holders.
 */
function mergePiece(
  pieces: Pieces,
  w: number,
  a: number,
  b: number,
  merged: number,
  stats: PairStats,
  touched: Set<number>,
  lowered: Set<number>,
): void {
  const { pool } = pieces;
  const from = pieces.start[w]!;
  const n = pieces.length[w]!;
  const f = pieces.freq[w]!;
  let holds = false;
  for (let i = from; i < from + n - 1 && !holds; i++) holds = pool[i] === a && pool[i + 1] === b;
  if (!holds) return; // A stale holder: an earlier merge already consumed the pair here.
  for (let i = from; i < from + n - 1; i++) {
    const k = pool[i]! * KEY_SHIFT + pool[i + 1]!;
    stats.subtract(k, f);
    lowered.add(k);
  }
  let j = from;
  for (let i = from; i < from + n; ) {
    if (i + 1 < from + n && pool[i] === a && pool[i + 1] === b) {
      pool[j++] = merged;
      i += 2;
    } else {
      pool[j++] = pool[i++]!;
    }
  }
  pieces.length[w] = j - from;
  for (let i = from; i < j - 1; i++) {
    const k = pool[i]! * KEY_SHIFT + pool[i + 1]!;
    const isNew = pool[i] === merged || pool[i + 1] === merged;
    stats.add(k, f, w, isNew);
    if (isNew) touched.add(k);
  }
}
