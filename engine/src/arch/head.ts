// A language head as its own small graph: hidden [N, H] → optional norm → logits [N, V], or
// [N, K] for a head with a vocabulary subset. The model's own head is the final norm plus the
// unembedding; HdLM heads at intermediate layers have the same form with their own weights.
import { DType, GraphBuilder } from '../onnx/graph';
import { layerNorm, OpOptions, rmsNorm, transpose } from './ops';

export type NormSpec =
  | { kind: 'rms'; weight: Float32Array /* [H] */; eps: number }
  | { kind: 'layer'; weight: Float32Array /* [H] */; bias: Float32Array /* [H] */; eps: number };

export interface HeadWeights {
  norm: NormSpec | undefined;
  /** [V, H], as HF stores lm_head / tied embeddings. */
  weight: Float32Array;
  /** [V] or undefined. */
  bias?: Float32Array | undefined;
  vocabSize: number;
  hiddenSize: number;
  /**
   * Token ids the head was trained to choose among (label tokens). When set, the graph computes
   * these K rows only (output [N, K], in this order) and scoring normalises over them, exactly as
   * training did: an exit through a task head then reads K·H weights instead of V·H, which for a
   * large vocabulary is most of what an early exit costs.
   */
  vocabSubset?: Int32Array | undefined;
}

export const HeadIO = { hidden: 'hidden', logits: 'logits' } as const;

export function buildHeadGraph(head: HeadWeights, options: OpOptions): Uint8Array {
  const { hiddenSize: H } = head;
  const { weight, bias, rows } = outputRows(head);
  const g = new GraphBuilder('head');
  let x = g.input({ name: HeadIO.hidden, type: DType.float32, dims: ['n', H] });
  if (head.norm?.kind === 'rms') x = rmsNorm(g, x, 'norm', head.norm.weight, head.norm.eps, options);
  else if (head.norm?.kind === 'layer') x = layerNorm(g, x, 'norm', head.norm.weight, head.norm.bias, head.norm.eps);
  let logits = g.op('MatMul', [x, g.initializer('unembed', transpose(weight, rows, H), [H, rows])])[0]!;
  if (bias) logits = g.op('Add', [logits, g.initializer('unembed_bias', bias, [rows])])[0]!;
  g.op('Identity', [logits], {}, { outputs: [HeadIO.logits] });
  g.output({ name: HeadIO.logits, type: DType.float32, dims: ['n', rows] });
  return g.build();
}

/** The rows the graph computes: all V, or the vocabulary subset's K in its order. */
function outputRows(head: HeadWeights): { weight: Float32Array; bias: Float32Array | undefined; rows: number } {
  const { vocabSize: V, hiddenSize: H, vocabSubset: ids } = head;
  if (!ids) return { weight: head.weight, bias: head.bias, rows: V };
  if (ids.length === 0) throw new Error('head: the vocabulary subset is empty');
  const weight = new Float32Array(ids.length * H);
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`head: vocabulary subset id ${id} is outside 0..${V - 1}`);
    weight.set(head.weight.subarray(id * H, (id + 1) * H), i * H);
  });
  return { weight, bias: head.bias && Float32Array.from(ids, (id) => head.bias![id]!), rows: ids.length };
}
