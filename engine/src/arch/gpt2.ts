// GPT-2 as ONNX segment graphs: pre-norm blocks with LayerNorm, fused q/k/v projection, GELU
// (tanh approximation) MLP. Its Conv1D weights are stored [in, out], already MatMul's layout.
// Learned position embeddings are added at embedding time, so segments take no position input.
import type { ModelConfig, WeightStore } from '../checkpoint/types';
import { GraphBuilder } from '../onnx/graph';
import { attendCached, segmentInputs, segmentOutput, splitHeads } from './attention';
import { geluNew, layerNorm, OpOptions } from './ops';

/** y = x · W + b for a Conv1D weight [in, out]. */
function conv1d(g: GraphBuilder, x: string, w: WeightStore, name: string, inDim: number, outDim: number): string {
  const weight = g.initializer(`${name}.weight`, w.get(`${name}.weight`, [inDim, outDim]), [inDim, outDim]);
  const bias = g.initializer(`${name}.bias`, w.get(`${name}.bias`, [outDim]), [outDim]);
  return g.op('Add', [g.op('MatMul', [x, weight])[0]!, bias])[0]!;
}

function norm(g: GraphBuilder, x: string, w: WeightStore, name: string, c: ModelConfig): string {
  return layerNorm(g, x, name, w.get(`${name}.weight`, [c.hiddenSize]), w.get(`${name}.bias`, [c.hiddenSize]), c.normEps);
}

function block(g: GraphBuilder, c: ModelConfig, w: WeightStore, layer: number, h: string, bias5: string): string {
  const H = c.hiddenSize;
  const p = `h.${layer}`;
  const qkv = conv1d(g, norm(g, h, w, `${p}.ln_1`, c), w, `${p}.attn.c_attn`, H, 3 * H); // [B, S, 3H]
  const [q, k, v] = g.op('Split', [qkv, g.int64([H, H, H])], { axis: -1 }, { outputCount: 3 }) as [string, string, string];
  const heads = (x: string): string => splitHeads(g, x, c.numHeads, c.headDim);
  const shape = { numHeads: c.numHeads, numKvHeads: c.numHeads, headDim: c.headDim };
  const attn = conv1d(g, attendCached(g, layer, shape, heads(q), heads(k), heads(v), bias5), w, `${p}.attn.c_proj`, H, H);
  const h1 = g.op('Add', [h, attn])[0]!;
  const up = conv1d(g, norm(g, h1, w, `${p}.ln_2`, c), w, `${p}.mlp.c_fc`, H, c.intermediateSize);
  const down = conv1d(g, geluNew(g, up), w, `${p}.mlp.c_proj`, c.intermediateSize, H);
  return g.op('Add', [h1, down])[0]!;
}

/** Builds the graph for blocks [first, end). `fused` has no effect: GPT-2 uses ONNX's own LayerNormalization. */
export function buildGpt2Segment(config: ModelConfig, weights: WeightStore, first: number, end: number, _options: OpOptions): Uint8Array {
  const g = new GraphBuilder(`gpt2_blocks_${first}_${end}`);
  const inputs = segmentInputs(g, config.hiddenSize);
  let h = inputs.hidden;
  for (let layer = first; layer < end; layer++) {
    h = block(g, config, weights, layer, h, inputs.bias5);
    segmentOutput(g, h, config.hiddenSize, layer, layer === end - 1);
  }
  return g.build();
}
