// Mean-pooled hidden states of a frozen model, every layer from one forward pass per batch,
// through the engine's public API; cached on disk so that probing again costs nothing.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../../../engine/src/atomicFile';
import type { LoadedModel } from '../../../engine/src/index';

export interface PooledStates {
  /** Layers 0..L (0 = the token embeddings). */
  layers: number;
  hidden: number;
  rows: number;
  /** byLayer[k]: [rows, hidden] mean over the text's tokens of the hidden state after k layers. */
  byLayer: Float32Array[];
}

/**
 * Adds the mean over positions `from..to-1` of row b of `states` ([B, S, H]) into `out` at `at`.
 * Positions are given explicitly because rows are left-padded to a common width.
 */
export function meanPool(states: Float32Array, b: number, seq: number, hidden: number, from: number, to: number, out: Float32Array, at: number): void {
  const count = to - from;
  if (count <= 0) throw new Error(`meanPool: empty range ${from}..${to}`);
  const sum = new Float64Array(hidden);
  for (let s = from; s < to; s++) {
    const base = (b * seq + s) * hidden;
    for (let h = 0; h < hidden; h++) sum[h]! += states[base + h]!;
  }
  for (let h = 0; h < hidden; h++) out[at + h] = sum[h]! / count;
}

/**
 * The positions of row b to pool: its real tokens (mask 1) except a leading BOS. The BOS state is
 * the same for every text (nothing precedes it), so averaging it in would only add a constant
 * shrunk by each text's length: noise that tracks length, not meaning. A text that is nothing but
 * BOS keeps it.
 */
export function poolRange(mask: Uint8Array, width: number, startsWithBos: boolean): [number, number] {
  let first = 0;
  while (first < width && mask[first] === 0) first++;
  if (first === width) throw new Error('poolRange: a row without real tokens');
  // Left padding: the real tokens are one contiguous run up to the end.
  const from = startsWithBos && width - first > 1 ? first + 1 : first;
  return [from, width];
}

/** The positions of row b after its first `skip` real tokens (the frame's head); at least the last one. */
export function framedRange(mask: Uint8Array, width: number, skip: number): [number, number] {
  let first = 0;
  while (first < width && mask[first] === 0) first++;
  if (first === width) throw new Error('framedRange: a row without real tokens');
  return [Math.min(first + skip, width - 1), width];
}

export interface ExtractOptions {
  batchSize: number;
  /** Token sequences longer than this are cut (after BOS) to fit the model's context. */
  maxTokens: number;
  /**
   * Each text inside a fixed frame: `head` tokens before it (BOS included) and its own tokens
   * from `content`. The states are pooled over the text's own tokens only, so the frame (the same
   * for every text) adds context, not a constant to the mean. Absent: BOS + the text.
   */
  frame?: { name: string; head: number[]; content: (text: string) => number[] };
  onProgress?: (done: number, total: number) => void;
}

/**
 * Token ids of each text (BOS first as the tokenizer's template adds it, or inside the frame), cut
 * to maxTokens, and how many leading tokens are not the text's own (and are not pooled).
 */
function encodeAll(loaded: LoadedModel, texts: readonly string[], maxTokens: number, frame: ExtractOptions['frame']): { ids: number[][]; skip: number } {
  if (frame) {
    if (frame.head.length + 1 > maxTokens) throw new Error(`the frame "${frame.name}" (${frame.head.length} tokens) leaves no room under --max-tokens ${maxTokens}`);
    return { ids: texts.map((t) => [...frame.head, ...frame.content(t)].slice(0, maxTokens)), skip: frame.head.length };
  }
  const tokenizer = loaded.requireTokenizer();
  return { ids: texts.map((t) => tokenizer.encode(t).slice(0, maxTokens)), skip: 1 };
}

/** Batches of item positions with similar token counts, so left padding wastes little work. */
function lengthBatches(ids: readonly number[][], batchSize: number): number[][] {
  const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** Runs every text through all layers and mean-pools each layer's states over its tokens. */
export async function extractPooled(loaded: LoadedModel, texts: readonly string[], options: ExtractOptions): Promise<PooledStates> {
  const { model } = loaded;
  const L = model.config.numLayers;
  const H = model.config.hiddenSize;
  const bos = loaded.checkpoint.config.bosTokenId ?? loaded.requireTokenizer().tokenId('<|bos|>');
  const { ids, skip } = encodeAll(loaded, texts, Math.min(options.maxTokens, model.config.maxPositions), options.frame);
  const byLayer = Array.from({ length: L + 1 }, () => new Float32Array(texts.length * H));
  let done = 0;
  for (const batch of lengthBatches(ids, options.batchSize)) {
    const rows = batch.map((i) => ids[i]!);
    const state = model.newState(rows.length);
    const width = model.append(state, rows);
    const result = await model.runTo(state, L, { collectLayers: true });
    state.release(); // its hidden states are all this reads
    batch.forEach((item, b) => {
      const [from, to] = options.frame ? framedRange(state.mask[b]!, width, skip) : poolRange(state.mask[b]!, width, rows[b]![0] === bos);
      for (let k = 0; k <= L; k++) {
        const states = result.layers?.get(k);
        if (!states) throw new Error(`the engine returned no hidden states for layer ${k}`);
        meanPool(states, b, width, H, from, to, byLayer[k]!, item * H);
      }
    });
    done += batch.length;
    options.onProgress?.(done, texts.length);
  }
  return { layers: L + 1, hidden: H, rows: texts.length, byLayer };
}

// ---- cache ------------------------------------------------------------------------------------

interface CacheMeta {
  fingerprint: string;
  textsSha256: string;
  layers: number;
  hidden: number;
  rows: number;
  maxTokens: number;
  seconds: number;
}

function textsHash(texts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const t of texts) hash.update(t).update('\0');
  return hash.digest('hex');
}

/**
 * Pooled states of `texts`, read from `<dir>/<name>.f32` when the model fingerprint, the texts
 * and the token limit all match what was cached, else extracted and written there (layer-major
 * float32, little-endian as the machine writes it; a .json beside it says what it holds).
 */
export async function cachedPooled(
  loaded: LoadedModel,
  texts: readonly string[],
  cache: { dir: string; name: string },
  options: ExtractOptions,
): Promise<PooledStates & { seconds: number; fromCache: boolean }> {
  const base = join(cache.dir, cache.name);
  // The frame is part of what was extracted: its head's ids go into the texts' hash.
  const framed = options.frame ? [`frame:${options.frame.head.join(',')}`, ...texts] : texts;
  const want = { fingerprint: loaded.checkpoint.fingerprint, textsSha256: textsHash(framed), maxTokens: options.maxTokens };
  const meta = existsSync(`${base}.json`) ? (JSON.parse(readFileSync(`${base}.json`, 'utf8')) as CacheMeta) : undefined;
  if (meta && meta.fingerprint === want.fingerprint && meta.textsSha256 === want.textsSha256 && meta.maxTokens === want.maxTokens && existsSync(`${base}.f32`)) {
    const bytes = readFileSync(`${base}.f32`);
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const size = meta.rows * meta.hidden;
    if (all.length === meta.layers * size) {
      const byLayer = Array.from({ length: meta.layers }, (_, k) => all.slice(k * size, (k + 1) * size));
      return { layers: meta.layers, hidden: meta.hidden, rows: meta.rows, byLayer, seconds: meta.seconds, fromCache: true };
    }
  }
  const started = performance.now();
  const pooled = await extractPooled(loaded, texts, options);
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  mkdirSync(cache.dir, { recursive: true });
  // Written atomically and flushed (writeAtomically): an interrupted run or a power cut leaves no
  // half file that a later run would take for a complete one. The record goes last: it says the
  // states beside it are whole.
  const flat = new Float32Array(pooled.layers * pooled.rows * pooled.hidden);
  pooled.byLayer.forEach((layer, k) => flat.set(layer, k * layer.length));
  writeAtomically(`${base}.f32`, [new Uint8Array(flat.buffer)]);
  const written: CacheMeta = { ...want, layers: pooled.layers, hidden: pooled.hidden, rows: pooled.rows, seconds };
  writeAtomically(`${base}.json`, [Buffer.from(`${JSON.stringify(written, null, 2)}\n`)]);
  return { ...pooled, seconds, fromCache: false };
}
