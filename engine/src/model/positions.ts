// Per-position inputs computed in JavaScript for every segment: rotary cos/sin tables and the
// additive attention bias (causal + padding). Cheap next to the layers, and computing them once
// here keeps each segment graph free of index arithmetic.
import { MASKED } from '../arch/segmentIO';
import type { ModelConfig } from '../checkpoint/types';

/** What the rotary frequencies depend on. */
type RotarySpec = Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>;

/**
 * inv_freq [D/2] as transformers computes it in float32: 1 / theta^(2i/D), then rescaled for a
 * `linear` scaling (÷ factor) or a `llama3` one (wavelengths longer than the original context
 * over low_freq_factor ÷ factor, shorter than it over high_freq_factor kept, and the band between
 * blended linearly in original context / wavelength).
 */
export function rotaryFrequencies(spec: RotarySpec): Float32Array {
  const { headDim, ropeTheta: theta, ropeScaling: scaling } = spec;
  const base = Float32Array.from({ length: headDim / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / headDim));
  if (!scaling) return base;
  if (scaling.type === 'linear') return base.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions: context } = scaling;
  const longest = context / lowFreqFactor;
  const shortest = context / highFreqFactor;
  return base.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < shortest) return f;
    if (wavelength > longest) return f / factor;
    const smooth = (context / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * Rotary caches [maxPositions, D/2] for the fused operator, with the same float32 rounding as
 * rotaryTables(), written straight into the halves the operator reads (no [maxPositions, D]
 * table in between: at 131072 positions that was 128 MiB more for a moment).
 */
export function rotaryCache(maxPositions: number, spec: RotarySpec): { cos: Float32Array; sin: Float32Array } {
  const half = spec.headDim / 2;
  const invFreq = rotaryFrequencies(spec);
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]!);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotary tables for the given positions: cos/sin [B, 1, S, D] with the frequencies repeated
 * over both halves, as HF's rotate_half convention expects. inv_freq and the angle products are
 * rounded to float32 like HF computes them, so long positions match it closely.
 */
export function rotaryTables(positions: Int32Array /* [B, S] */, batch: number, spec: RotarySpec): { cos: Float32Array; sin: Float32Array } {
  const headDim = spec.headDim;
  const half = headDim / 2;
  const invFreq = rotaryFrequencies(spec);
  const seq = positions.length / batch;
  const cos = new Float32Array(batch * seq * headDim);
  const sin = new Float32Array(batch * seq * headDim);
  for (let r = 0; r < positions.length; r++) {
    const pos = positions[r]!;
    const base = r * headDim;
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * invFreq[i]!);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[base + i] = c;
      cos[base + half + i] = c;
      sin[base + i] = s;
      sin[base + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * Attention bias [B, 1, S, T] for S new queries at absolute indices P..P+S-1 over T = P+S keys:
 * a query sees keys at or before it that are real tokens (mask 1). A query always sees itself,
 * so padding rows stay finite instead of dividing by an empty softmax.
 */
export function attentionBias(mask: readonly Uint8Array[] /* B rows of T */, past: number, seq: number): Float32Array {
  const total = past + seq;
  const bias = new Float32Array(mask.length * seq * total);
  mask.forEach((row, b) => {
    for (let i = 0; i < seq; i++) {
      const query = past + i;
      const base = (b * seq + i) * total;
      for (let j = 0; j < total; j++) {
        const visible = j === query || (j < query && row[j] === 1);
        bias[base + j] = visible ? 0 : MASKED;
      }
    }
  });
  return bias;
}

/**
 * Attention bias [1, 1, S, T] when positions from `tree.start` form a tree: a tree query sees
 * every real position before the tree, its ancestors and itself; other queries are causal.
 */
export function treeAttentionBias(mask: Uint8Array, past: number, seq: number, tree: { start: number; parents: readonly number[] }): Float32Array {
  const bias = attentionBias([mask], past, seq);
  const total = past + seq;
  for (let i = 0; i < seq; i++) {
    const query = past + i;
    if (query < tree.start) continue;
    const row = bias.subarray(i * total, (i + 1) * total);
    for (let j = tree.start; j < total; j++) row[j] = MASKED;
    for (let node = query; node >= tree.start; node = tree.parents[node - tree.start]!) row[node] = 0;
  }
  return bias;
}
