// Turning one row of logits into a probability distribution to sample from: temperature, then
// top-k, then top-p (nucleus), as transformers applies them. Temperature 0 is handled by the
// sampler as argmax and never reaches here.

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
