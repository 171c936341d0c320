// The Llama family (llama, qwen2, qwen3, mistral) as ONNX segment graphs: a run of decoder layers with
// their own KV cache inputs/outputs. Embedding lookup, rotary tables and the attention bias are
// computed by the caller in JavaScript (cheap, and shared by every segment).
import type { ModelConfig, WeightStore } from '../checkpoint/types';
import { DType, GraphBuilder, type BuiltGraph } from '../onnx/graph';
import { attendCached, pickRows, segmentInputs, segmentOutput, splitHeads, type PickedRows } from './attention';
import { rotaryCache } from '../model/positions';
import { linear, OpOptions, rmsNorm, SegmentOptions, silu } from './ops';
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

/** Builds the graph for layers [first, end) (a rows graph with `options.rows`, SegmentIO.rows). */
export function buildLlamaSegment(config: ModelConfig, weights: WeightStore, first: number, end: number, options: SegmentOptions): BuiltGraph {
  const d = dims(config);
  const g = new GraphBuilder(`llama_layers_${first}_${end}${options.rows ? '_rows' : ''}`);
  const inputs = segmentInputs(g, d.H, options.rows);
  const rotary = options.fused ? fusedRotary(g, config) : plainRotary(g, d.D);
  let h = inputs.hidden;
  for (let layer = first; layer < end; layer++) {
    const picked = layer === end - 1 && inputs.picked ? { ...inputs.picked, rope: rotary.picked(inputs.picked.index) } : undefined;
    h = decoderLayer(g, config, weights, layer, h, { bias5: inputs.bias5, rope: rotary.rope, picked }, options);
    segmentOutput(g, h, d.H, layer, layer === end - 1, options.rows);
  }
  return g.built();
}

/** Applies rotary position embedding to [B, heads, S, D]. */
type Rotary = (x: string, heads: number) => string;

/** Rotary embedding at every new position, and at the rows SegmentIO.rows picks (built on demand). */
interface RotaryInputs {
  rope: Rotary;
  picked(index: string): Rotary;
}

interface Shared {
  bias5: string;
  rope: Rotary;
  /** In a rows graph's last layer: the rows whose queries, MLP and output are computed. */
  picked?: (PickedRows & { rope: Rotary }) | undefined;
}

/** HF's rotate_half rotary embedding from cos/sin inputs: x·cos + rotate_half(x)·sin. */
function plainRotary(g: GraphBuilder, headDim: number): RotaryInputs {
  const cos = g.input({ name: SegmentIO.cos, type: DType.float32, dims: ['batch', 1, 'seq', headDim] });
  const sin = g.input({ name: SegmentIO.sin, type: DType.float32, dims: ['batch', 1, 'seq', headDim] });
  const half = headDim / 2;
  const rope = (c: string, s: string): Rotary => (x) => {
    const [x1, x2] = g.op('Split', [x, g.int64([half, half])], { axis: -1 }, { outputCount: 2 }) as [string, string];
    const rotated = g.op('Concat', [g.op('Neg', [x2])[0]!, x1], { axis: -1 })[0]!;
    return g.op('Add', [g.op('Mul', [x, c])[0]!, g.op('Mul', [rotated, s])[0]!])[0]!;
  };
  return { rope: rope(cos, sin), picked: (index) => rope(pickRows(g, cos, index, 'B1SC'), pickRows(g, sin, index, 'B1SC')) };
}

/**
 * onnxruntime's RotaryEmbedding (com.microsoft) with cos/sin caches [maxPositions, D/2] built
 * from the same float32 frequencies as rotaryTables(), indexed by position ids.
 */
function fusedRotary(g: GraphBuilder, c: ModelConfig): RotaryInputs {
  const positions = g.input({ name: SegmentIO.positionIds, type: DType.int64, dims: ['batch', 'seq'] });
  const { cos, sin } = rotaryCache(c.maxPositions, c);
  const half = c.headDim / 2;
  const cosCache = g.initializer('rope.cos_cache', cos, [c.maxPositions, half]);
  const sinCache = g.initializer('rope.sin_cache', sin, [c.maxPositions, half]);
  const rope = (ids: string): Rotary => (x) => g.op('RotaryEmbedding', [x, ids, cosCache, sinCache], { interleaved: 0 }, { domain: 'com.microsoft', opsetVersion: 1 })[0]!;
  // The rows' own position ids come as an input (SegmentIO.rowPositionIds), not picked here.
  return { rope: rope(positions), picked: () => rope(g.input({ name: SegmentIO.rowPositionIds, type: DType.int64, dims: ['batch', 'rows'] })) };
}

function decoderLayer(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, h: string, shared: Shared, options: OpOptions): string {
  const d = dims(c);
  const p = `model.layers.${layer}`;
  const x = rmsNorm(g, h, `${p}.input_layernorm`, w.get(`${p}.input_layernorm.weight`, [d.H]), c.normEps, options);
  const attn = attention(g, c, w, layer, x, shared, options);
  // In a rows graph's last layer everything from here on is for the picked rows only.
  const h1 = g.op('Add', [shared.picked ? shared.picked.pick(h) : h, attn])[0]!;
  const x2 = rmsNorm(g, h1, `${p}.post_attention_layernorm`, w.get(`${p}.post_attention_layernorm.weight`, [d.H]), c.normEps, options);
  const gate = linear(g, x2, `${p}.mlp.gate_proj`, w, d.I, d.H);
  const up = linear(g, x2, `${p}.mlp.up_proj`, w, d.I, d.H);
  const act = g.op('Mul', [silu(g, gate), up])[0]!;
  const down = linear(g, act, `${p}.mlp.down_proj`, w, d.H, d.I);
  return g.op('Add', [h1, down])[0]!;
}

/** Projects x [B,S,H] to heads [B, heads, S, D]. */
function project(g: GraphBuilder, c: ModelConfig, w: WeightStore, x: string, name: string, heads: number): string {
  const out = heads * c.headDim;
  const bias = c.attentionBias ? w.get(`${name}.bias`, [out]) : undefined;
  return splitHeads(g, linear(g, x, name, w, out, c.hiddenSize, bias), heads, c.headDim);
}

function attention(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, x: string, shared: Shared, options: OpOptions): string {
  const d = dims(c);
  const p = `model.layers.${layer}.self_attn`;
  // Keys and values at every new position (the cache needs them); queries only where asked.
  const picked = shared.picked;
  const q = (picked?.rope ?? shared.rope)(headNorm(g, c, w, project(g, c, w, picked ? picked.pick(x) : x, `${p}.q_proj`, d.nH), `${p}.q_norm`, options), d.nH); // [B, nH, S or R, D]
  const k = shared.rope(headNorm(g, c, w, project(g, c, w, x, `${p}.k_proj`, d.kvH), `${p}.k_norm`, options), d.kvH); // [B, kvH, S, D]
  const v = project(g, c, w, x, `${p}.v_proj`, d.kvH); // [B, kvH, S, D]
  const merged = attendCached(g, layer, { numHeads: d.nH, numKvHeads: d.kvH, headDim: d.D }, q, k, v, picked?.bias5 ?? shared.bias5);
  return linear(g, merged, `${p}.o_proj`, w, d.H, d.nH * d.D);
}

/** Qwen3's per-head RMS norm of queries or keys [B, heads, S, D] over D (identity without qkNorm). */
function headNorm(g: GraphBuilder, c: ModelConfig, w: WeightStore, x: string, name: string, options: OpOptions): string {
  return c.qkNorm ? rmsNorm(g, x, name, w.get(`${name}.weight`, [c.headDim]), c.normEps, options) : x;
}
