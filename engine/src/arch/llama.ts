// The Llama family (llama, qwen2, mistral) as ONNX segment graphs: a run of decoder layers with
// their own KV cache inputs/outputs. Embedding lookup, rotary tables and the attention bias are
// computed by the caller in JavaScript (cheap, and shared by every segment).
import type { ModelConfig, WeightStore } from '../checkpoint/types';
import { DType, GraphBuilder } from '../onnx/graph';
import { linear, OpOptions, rmsNorm, silu } from './ops';
import { SegmentIO } from './segmentIO';

interface Dims {
  H: number; // hidden size
  nH: number; // query heads
  kvH: number; // key/value heads
  D: number; // head dim
  I: number; // MLP intermediate size
}

function dims(c: ModelConfig): Dims {
  return { H: c.hiddenSize, nH: c.numHeads, kvH: c.numKvHeads, D: c.headDim, I: c.intermediateSize };
}

/** Builds the graph for layers [first, end). */
export function buildLlamaSegment(config: ModelConfig, weights: WeightStore, first: number, end: number, options: OpOptions): Uint8Array {
  const d = dims(config);
  const g = new GraphBuilder(`llama_layers_${first}_${end}`);
  let h = g.input({ name: SegmentIO.hidden, type: DType.float32, dims: ['batch', 'seq', d.H] });
  const bias = g.input({ name: SegmentIO.attnBias, type: DType.float32, dims: ['batch', 1, 'seq', 'total'] });
  const cos = g.input({ name: SegmentIO.cos, type: DType.float32, dims: ['batch', 1, 'seq', d.D] });
  const sin = g.input({ name: SegmentIO.sin, type: DType.float32, dims: ['batch', 1, 'seq', d.D] });
  // [B, 1, 1, S, T]: broadcasts over the (kv head, group) axes of the grouped scores below.
  const bias5 = g.op('Unsqueeze', [bias, g.int64([1])])[0]!;
  for (let layer = first; layer < end; layer++) {
    h = decoderLayer(g, config, weights, layer, h, { bias5, cos, sin }, options);
    if (layer < end - 1) {
      g.op('Identity', [h], {}, { outputs: [SegmentIO.layerHidden(layer)] });
      g.output({ name: SegmentIO.layerHidden(layer), type: DType.float32, dims: ['batch', 'seq', d.H] });
    }
  }
  g.op('Identity', [h], {}, { outputs: [SegmentIO.hiddenOut] });
  g.output({ name: SegmentIO.hiddenOut, type: DType.float32, dims: ['batch', 'seq', d.H] });
  return g.build();
}

interface Shared {
  bias5: string;
  cos: string;
  sin: string;
}

function decoderLayer(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, h: string, shared: Shared, options: OpOptions): string {
  const d = dims(c);
  const p = `model.layers.${layer}`;
  const x = rmsNorm(g, h, `${p}.input_layernorm`, w.get(`${p}.input_layernorm.weight`, [d.H]), c.normEps, options);
  const attn = attention(g, c, w, layer, x, shared);
  const h1 = g.op('Add', [h, attn])[0]!;
  const x2 = rmsNorm(g, h1, `${p}.post_attention_layernorm`, w.get(`${p}.post_attention_layernorm.weight`, [d.H]), c.normEps, options);
  const gate = linear(g, x2, `${p}.mlp.gate_proj`, w.get(`${p}.mlp.gate_proj.weight`, [d.I, d.H]), d.I, d.H);
  const up = linear(g, x2, `${p}.mlp.up_proj`, w.get(`${p}.mlp.up_proj.weight`, [d.I, d.H]), d.I, d.H);
  const act = g.op('Mul', [silu(g, gate), up])[0]!;
  const down = linear(g, act, `${p}.mlp.down_proj`, w.get(`${p}.mlp.down_proj.weight`, [d.H, d.I]), d.H, d.I);
  return g.op('Add', [h1, down])[0]!;
}

/** Projects x [B,S,H] to heads [B, heads, S, D]. */
function project(g: GraphBuilder, c: ModelConfig, w: WeightStore, x: string, name: string, heads: number): string {
  const d = dims(c);
  const out = heads * d.D;
  const weight = w.get(`${name}.weight`, [out, d.H]);
  const bias = c.attentionBias ? w.get(`${name}.bias`, [out]) : undefined;
  const y = linear(g, x, name, weight, out, d.H, bias);
  const split = g.op('Reshape', [y, g.int64([0, 0, heads, d.D])])[0]!;
  return g.op('Transpose', [split], { perm: [0, 2, 1, 3] })[0]!;
}

/** HF's rotate_half rotary embedding: x·cos + rotate_half(x)·sin, halves not interleaved. */
function rotary(g: GraphBuilder, x: string, headDim: number, cos: string, sin: string): string {
  const half = headDim / 2;
  const [x1, x2] = g.op('Split', [x, g.int64([half, half])], { axis: -1 }, { outputCount: 2 }) as [string, string];
  const rotated = g.op('Concat', [g.op('Neg', [x2])[0]!, x1], { axis: -1 })[0]!;
  return g.op('Add', [g.op('Mul', [x, cos])[0]!, g.op('Mul', [rotated, sin])[0]!])[0]!;
}

function attention(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, x: string, shared: Shared): string {
  const d = dims(c);
  const p = `model.layers.${layer}.self_attn`;
  const group = d.nH / d.kvH;
  const q = rotary(g, project(g, c, w, x, `${p}.q_proj`, d.nH), d.D, shared.cos, shared.sin); // [B, nH, S, D]
  const k = rotary(g, project(g, c, w, x, `${p}.k_proj`, d.kvH), d.D, shared.cos, shared.sin); // [B, kvH, S, D]
  const v = project(g, c, w, x, `${p}.v_proj`, d.kvH); // [B, kvH, S, D]

  const pastK = g.input({ name: SegmentIO.pastKey(layer), type: DType.float32, dims: ['batch', d.kvH, 'past', d.D] });
  const pastV = g.input({ name: SegmentIO.pastValue(layer), type: DType.float32, dims: ['batch', d.kvH, 'past', d.D] });
  const keys = g.op('Concat', [pastK, k], { axis: 2 }, { outputs: [SegmentIO.presentKey(layer)] })[0]!; // [B, kvH, T, D]
  const values = g.op('Concat', [pastV, v], { axis: 2 }, { outputs: [SegmentIO.presentValue(layer)] })[0]!;
  g.output({ name: keys, type: DType.float32, dims: ['batch', d.kvH, 'total', d.D] });
  g.output({ name: values, type: DType.float32, dims: ['batch', d.kvH, 'total', d.D] });

  // Grouped-query attention without copying keys: queries are grouped [B, kvH, group, S, D] and
  // keys get a broadcast axis [B, kvH, 1, T, D], so MatMul pairs each group with its kv head.
  const q5 = g.op('Reshape', [q, g.int64([0, d.kvH, group, -1, d.D])])[0]!;
  const k5 = g.op('Unsqueeze', [keys, g.int64([2])])[0]!;
  const v5 = g.op('Unsqueeze', [values, g.int64([2])])[0]!;
  const kT = g.op('Transpose', [k5], { perm: [0, 1, 2, 4, 3] })[0]!;
  const scores = g.op('Mul', [g.op('MatMul', [q5, kT])[0]!, g.scalar(1 / Math.sqrt(d.D))])[0]!; // [B, kvH, group, S, T]
  const probs = g.op('Softmax', [g.op('Add', [scores, shared.bias5])[0]!], { axis: -1 })[0]!;
  const ctx5 = g.op('MatMul', [probs, v5])[0]!; // [B, kvH, group, S, D]
  const ctx = g.op('Transpose', [g.op('Reshape', [ctx5, g.int64([0, d.nH, -1, d.D])])[0]!], { perm: [0, 2, 1, 3] })[0]!;
  const merged = g.op('Reshape', [ctx, g.int64([0, 0, d.nH * d.D])])[0]!; // [B, S, nH·D]
  return linear(g, merged, `${p}.o_proj`, w.get(`${p}.o_proj.weight`, [d.H, d.nH * d.D]), d.H, d.nH * d.D);
}
