// GPT-2 as ONNX segment graphs: pre-norm blocks with LayerNorm, fused q/k/v projection, GELU
// (tanh approximation) MLP. Its Conv1D weights are stored [in, out], already MatMul's layout.
// Learned position embeddings are added at embedding time, so segments take no position input.
import type { ModelConfig, WeightStore } from '../checkpoint/types';
import { GraphBuilder, type BuiltGraph } from '../onnx/graph';
import { attendCached, segmentInputs, segmentOutput, splitHeads, type PickedRows } from './attention';
import { geluNew, layerNorm, SegmentOptions } from './ops';

/** y = x · W + b for a Conv1D weight [in, out]. */
function conv1d(g: GraphBuilder, x: string, w: WeightStore, name: string, inDim: number, outDim: number): string {
  // Deferred, as linear() in ops.ts: a cached copy is never converted again.
  const weight = g.deferredInitializer(`${name}.weight`, `float32 ${name}.weight`, [inDim, outDim], () => w.get(`${name}.weight`, [inDim, outDim]));
  const bias = g.initializer(`${name}.bias`, w.get(`${name}.bias`, [outDim]), [outDim]);
  return g.op('Add', [g.op('MatMul', [x, weight])[0]!, bias])[0]!;
}

function norm(g: GraphBuilder, x: string, w: WeightStore, name: string, c: ModelConfig): string {
  return layerNorm(g, x, name, w.get(`${name}.weight`, [c.hiddenSize]), w.get(`${name}.bias`, [c.hiddenSize]), c.normEps);
}

/** One block; in a rows graph's last block (`picked`), queries and all after them only for the picked rows. */
function block(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, h: string, bias5: string, picked?: PickedRows): string {
  const H = c.hiddenSize;
  const p = `h.${layer}`;
  // q, k and v come from one projection, so a rows graph projects queries for every position
  // too and keeps the picked ones; attention, output and MLP still run on those rows only.
  const qkv = conv1d(g, norm(g, h, w, `${p}.ln_1`, c), w, `${p}.attn.c_attn`, H, 3 * H); // [B, S, 3H]
  const [q, k, v] = g.op('Split', [qkv, g.int64([H, H, H])], { axis: -1 }, { outputCount: 3 }) as [string, string, string];
  const heads = (x: string): string => splitHeads(g, x, c.numHeads, c.headDim);
  const shape = { numHeads: c.numHeads, numKvHeads: c.numHeads, headDim: c.headDim };
  const queries = heads(picked ? picked.pick(q) : q);
  const attn = conv1d(g, attendCached(g, layer, shape, queries, heads(k), heads(v), picked?.bias5 ?? bias5), w, `${p}.attn.c_proj`, H, H);
  const h1 = g.op('Add', [picked ? picked.pick(h) : h, attn])[0]!;
  const up = conv1d(g, norm(g, h1, w, `${p}.ln_2`, c), w, `${p}.mlp.c_fc`, H, c.intermediateSize);
  const down = conv1d(g, geluNew(g, up), w, `${p}.mlp.c_proj`, c.intermediateSize, H);
  return g.op('Add', [h1, down])[0]!;
}

/**
 * Builds the graph for blocks [first, end) (a rows graph with `options.rows`, SegmentIO.rows).
 * `fused` has no effect: GPT-2 uses ONNX's own LayerNormalization.
 */
export function buildGpt2Segment(config: ModelConfig, weights: WeightStore, first: number, end: number, options: SegmentOptions): BuiltGraph {
  const g = new GraphBuilder(`gpt2_blocks_${first}_${end}${options.rows ? '_rows' : ''}`);
  const inputs = segmentInputs(g, config.hiddenSize, options.rows);
  let h = inputs.hidden;
  for (let layer = first; layer < end; layer++) {
    h = block(g, config, weights, layer, h, inputs.bias5, layer === end - 1 ? inputs.picked : undefined);
    segmentOutput(g, h, config.hiddenSize, layer, layer === end - 1, options.rows);
  }
  return g.built();
}
