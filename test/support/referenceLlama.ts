// A deliberately plain float64 Llama forward pass in JavaScript: every layer for every token, no
// cache. It is the yardstick for the ONNX graphs on tiny models (parity with transformers
// itself comes from the fixtures that tools/ writes on a machine with torch).
import type { Checkpoint } from '../../engine/src/checkpoint/types';

type Vec = Float64Array;

function matvec(w: Float32Array, x: Vec, out: number, inDim: number, bias?: Float32Array): Vec {
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = bias ? bias[o]! : 0;
    const row = o * inDim;
    for (let i = 0; i < inDim; i++) s += w[row + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function rmsNorm(x: Vec, w: Float32Array, eps: number): Vec {
  let ms = 0;
  for (const v of x) ms += v * v;
  const inv = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

/**
 * Rotary frequency i in float64, written out from transformers' definitions independently of the
 * engine's: plain 1/theta^(2i/D), linear (÷ factor), llama3 (by wavelength against the original
 * context: short kept, long ÷ factor, the band between interpolated).
 */
function frequency(c: Checkpoint['config'], i: number): number {
  const plain = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (!s) return plain;
  if (s.type === 'linear') return plain / s.factor;
  const wavelength = (2 * Math.PI) / plain;
  if (wavelength < s.originalMaxPositions / s.highFreqFactor) return plain;
  if (wavelength > s.originalMaxPositions / s.lowFreqFactor) return plain / s.factor;
  const t = (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return plain / s.factor + t * (plain - plain / s.factor);
}

function rope(x: Vec, heads: number, D: number, pos: number, c: Checkpoint['config']): Vec {
  const out = new Float64Array(x.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * frequency(c, i);
      const a = x[h * D + i]!;
      const b = x[h * D + half + i]!;
      out[h * D + i] = a * Math.cos(angle) - b * Math.sin(angle);
      out[h * D + half + i] = b * Math.cos(angle) + a * Math.sin(angle);
    }
  }
  return out;
}

/**
 * Hidden states after every layer for a single unpadded sequence: result[k][t] is the
 * residual stream of token t after k layers (k = 0 is the embedding), plus the final logits.
 */
export function referenceForward(ckpt: Checkpoint, ids: number[]): { hidden: Vec[][]; logits: Vec[] } {
  const c = ckpt.config;
  const w = ckpt.weights;
  const { hiddenSize: H, numHeads: nH, numKvHeads: kvH, headDim: D, intermediateSize: I, vocabSize: V } = c;
  const emb = w.get('model.embed_tokens.weight', [V, H]);
  let xs: Vec[] = ids.map((id) => Float64Array.from(emb.subarray(id * H, (id + 1) * H)));
  const hidden: Vec[][] = [xs];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const bias = (n: string, size: number): Float32Array | undefined => (c.attentionBias ? w.get(`${p}.self_attn.${n}.bias`, [size]) : undefined);
    const normed = xs.map((x) => rmsNorm(x, w.get(`${p}.input_layernorm.weight`, [H]), c.normEps));
    // Qwen3: each head's query and key RMS-normalised over head_dim before the rotation.
    const headNorm = (v: Vec, heads: number, name: string): Vec => {
      if (!c.qkNorm) return v;
      const weight = w.get(`${p}.self_attn.${name}.weight`, [D]);
      const out = new Float64Array(v.length);
      for (let h = 0; h < heads; h++) out.set(rmsNorm(v.subarray(h * D, (h + 1) * D), weight, c.normEps), h * D);
      return out;
    };
    const q = normed.map((x, t) => rope(headNorm(matvec(w.get(`${p}.self_attn.q_proj.weight`, [nH * D, H]), x, nH * D, H, bias('q_proj', nH * D)), nH, 'q_norm'), nH, D, t, c));
    const k = normed.map((x, t) => rope(headNorm(matvec(w.get(`${p}.self_attn.k_proj.weight`, [kvH * D, H]), x, kvH * D, H, bias('k_proj', kvH * D)), kvH, 'k_norm'), kvH, D, t, c));
    const v = normed.map((x) => matvec(w.get(`${p}.self_attn.v_proj.weight`, [kvH * D, H]), x, kvH * D, H, bias('v_proj', kvH * D)));
    const group = nH / kvH;
    const attnOut = q.map((qt, t) => {
      const ctx = new Float64Array(nH * D);
      for (let h = 0; h < nH; h++) {
        const kh = Math.floor(h / group);
        const scores = Array.from({ length: t + 1 }, (_, j) => {
          let s = 0;
          for (let d = 0; d < D; d++) s += qt[h * D + d]! * k[j]![kh * D + d]!;
          return s / Math.sqrt(D);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= t; j++) for (let d = 0; d < D; d++) ctx[h * D + d]! += (e[j]! / z) * v[j]![kh * D + d]!;
      }
      return matvec(w.get(`${p}.self_attn.o_proj.weight`, [H, nH * D]), ctx, H, nH * D);
    });
    xs = xs.map((x, t) => x.map((val, i) => val + attnOut[t]![i]!));
    xs = xs.map((x) => {
      const n = rmsNorm(x, w.get(`${p}.post_attention_layernorm.weight`, [H]), c.normEps);
      const g = matvec(w.get(`${p}.mlp.gate_proj.weight`, [I, H]), n, I, H);
      const u = matvec(w.get(`${p}.mlp.up_proj.weight`, [I, H]), n, I, H);
      const a = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]!);
      const down = matvec(w.get(`${p}.mlp.down_proj.weight`, [H, I]), a, H, I);
      return x.map((val, i) => val + down[i]!);
    });
    hidden.push(xs);
  }
  const head = c.tieWordEmbeddings ? emb : w.get('lm_head.weight', [V, H]);
  const logits = xs.map((x) => matvec(head, rmsNorm(x, w.get('model.norm.weight', [H]), c.normEps), V, H));
  return { hidden, logits };
}
