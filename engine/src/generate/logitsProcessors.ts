// Turning one row of logits into a probability distribution to sample from, in transformers'
// order: the repetition controls first (they change the logits, also for greedy decoding), then
// temperature, top-k, top-p (nucleus). Temperature 0 is argmax in the sampler and stops there.

/**
 * transformers' RepetitionPenaltyLogitsProcessor (the CTRL paper's penalty), in place: each
 * distinct token of `context` has its logit divided by `penalty` when positive and multiplied
 * when negative, so a penalty > 1 always makes it less likely.
 */
export function penalizeRepetition(logits: Float32Array, context: readonly number[], penalty: number): void {
  for (const id of new Set(context)) {
    if (id < 0 || id >= logits.length) continue;
    const v = logits[id]!;
    logits[id] = v < 0 ? v * penalty : v / penalty;
  }
}

/**
 * transformers' NoRepeatNGramLogitsProcessor's choice: every token that would complete an n-gram
 * already present in `context` (its last n−1 tokens followed by it, anywhere before). Nothing is
 * banned while the context is shorter than n−1 tokens.
 */
function repeatedNgramTokens(context: readonly number[], n: number): Set<number> {
  const banned = new Set<number>();
  if (n <= 0 || context.length + 1 < n) return banned;
  const start = context.length - (n - 1);
  for (let i = 0; i + n - 1 < context.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = context[i + j] === context[start + j];
    if (same) banned.add(context[i + n - 1]!);
  }
  return banned;
}

/**
 * The processor itself, in place: the tokens repeatedNgramTokens names get −∞. A head that ranks
 * only a few tokens can have all of them banned: then the ban gives way (there is nothing else to
 * say) rather than argmax reading a row of −∞ as token 0.
 */
export function banRepeatedNgrams(logits: Float32Array, context: readonly number[], n: number): void {
  const banned = repeatedNgramTokens(context, n);
  if (!logits.some((v, id) => v > -Infinity && !banned.has(id))) return;
  for (const id of banned) if (id >= 0 && id < logits.length) logits[id] = -Infinity;
}

/** Softmax of logits / temperature, in float64 for a stable sum. */
export function softmax(logits: Float32Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i]! - max) / temperature);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  return probs;
}

/** Token ids sorted by probability, most likely first (ties: lower id first, so it is deterministic). */
export function rankByProbability(probs: Float64Array): Int32Array {
  const ids = Int32Array.from({ length: probs.length }, (_, i) => i);
  return ids.sort((a, b) => probs[b]! - probs[a]! || a - b);
}

/** Zeroes all but the k most likely tokens and renormalises (k = 0 leaves probs unchanged). */
export function topK(probs: Float64Array, k: number, ranked: Int32Array): Float64Array {
  if (k <= 0 || k >= probs.length) return probs;
  const kept = new Float64Array(probs.length);
  let sum = 0;
  for (let r = 0; r < k; r++) {
    const id = ranked[r]!;
    kept[id] = probs[id]!;
    sum += probs[id]!;
  }
  for (let i = 0; i < kept.length; i++) kept[i]! /= sum;
  return kept;
}

/** Keeps the most likely tokens until their mass reaches p (always at least one), renormalised. */
export function topP(probs: Float64Array, p: number, ranked: Int32Array): Float64Array {
  if (p >= 1) return probs;
  const kept = new Float64Array(probs.length);
  let mass = 0;
  for (const id of ranked) {
    if (mass >= p) break;
    kept[id] = probs[id]!;
    mass += probs[id]!;
  }
  for (let i = 0; i < kept.length; i++) kept[i]! /= mass;
  return kept;
}
