// A plain float64 GPT-2 forward pass (every block for every token, no cache), the yardstick for
// the GPT-2 graphs on tiny models.
import type { Checkpoint } from '../../engine/src/checkpoint/types';

type Vec = Float64Array;

/** x · W + b for a Conv1D weight [in, out]. */
function conv1d(x: Vec, w: Float32Array, b: Float32Array, outDim: number): Vec {
  const y = Float64Array.from(b);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    for (let o = 0; o < outDim; o++) y[o]! += xi * w[i * outDim + o]!;
  }
  return y;
}

function layerNorm(x: Vec, w: Float32Array, b: Float32Array, eps: number): Vec {
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!);
}

const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

export function referenceGpt2(ckpt: Checkpoint, ids: number[]): { hidden: Vec[][]; logits: Vec[] } {
  const c = ckpt.config;
  const w = ckpt.weights;
  const { hiddenSize: H, numHeads: nH, headDim: D, intermediateSize: I, vocabSize: V } = c;
  const t = (name: string, shape: number[]): Float32Array => w.get(name, shape);
  const wte = t('wte.weight', [V, H]);
  const wpe = t('wpe.weight', [c.maxPositions, H]);
  let xs: Vec[] = ids.map((id, pos) => Float64Array.from({ length: H }, (_, i) => wte[id * H + i]! + wpe[pos * H + i]!));
  const hidden: Vec[][] = [xs];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `h.${l}`;
    const qkv = xs.map((x) => conv1d(layerNorm(x, t(`${p}.ln_1.weight`, [H]), t(`${p}.ln_1.bias`, [H]), c.normEps), t(`${p}.attn.c_attn.weight`, [H, 3 * H]), t(`${p}.attn.c_attn.bias`, [3 * H]), 3 * H));
    const attn = qkv.map((row, s) => {
      const ctx = new Float64Array(H);
      for (let h = 0; h < nH; h++) {
        const scores = Array.from({ length: s + 1 }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += row[h * D + d]! * qkv[j]![H + h * D + d]!;
          return dot / Math.sqrt(D);
        });
        const max = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - max));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= s; j++) for (let d = 0; d < D; d++) ctx[h * D + d]! += (e[j]! / z) * qkv[j]![2 * H + h * D + d]!;
      }
      return conv1d(ctx, t(`${p}.attn.c_proj.weight`, [H, H]), t(`${p}.attn.c_proj.bias`, [H]), H);
    });
    xs = xs.map((x, s) => x.map((v, i) => v + attn[s]![i]!));
    xs = xs.map((x) => {
      const up = conv1d(layerNorm(x, t(`${p}.ln_2.weight`, [H]), t(`${p}.ln_2.bias`, [H]), c.normEps), t(`${p}.mlp.c_fc.weight`, [H, I]), t(`${p}.mlp.c_fc.bias`, [I]), I);
      const down = conv1d(up.map(gelu), t(`${p}.mlp.c_proj.weight`, [I, H]), t(`${p}.mlp.c_proj.bias`, [H]), H);
      return x.map((v, i) => v + down[i]!);
    });
    hidden.push(xs);
  }
  const logits = xs.map((x) => {
    const n = layerNorm(x, t('ln_f.weight', [H]), t('ln_f.bias', [H]), c.normEps);
    return Float64Array.from({ length: V }, (_, v) => n.reduce((a, val, i) => a + val * wte[v * H + i]!, 0));
  });
  return { hidden, logits };
}
