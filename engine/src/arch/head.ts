// A language head as its own small graph: hidden [N, H] → optional norm → logits [N, V].
// The model's own head is the final norm plus the unembedding; HdLM heads at intermediate
// layers have the same form with their own weights.
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
   * Token ids the head was trained to choose among (label tokens). When set, scoring normalises
   * over these rows only, exactly as training did; logits are still computed for all rows.
   */
  vocabSubset?: Int32Array | undefined;
}

export const HeadIO = { hidden: 'hidden', logits: 'logits' } as const;

export function buildHeadGraph(head: HeadWeights, options: OpOptions): Uint8Array {
  const { vocabSize: V, hiddenSize: H } = head;
  const g = new GraphBuilder('head');
  let x = g.input({ name: HeadIO.hidden, type: DType.float32, dims: ['n', H] });
  if (head.norm?.kind === 'rms') x = rmsNorm(g, x, 'norm', head.norm.weight, head.norm.eps, options);
  else if (head.norm?.kind === 'layer') x = layerNorm(g, x, 'norm', head.norm.weight, head.norm.bias, head.norm.eps);
  let logits = g.op('MatMul', [x, g.initializer('unembed', transpose(head.weight, V, H), [H, V])])[0]!;
  if (head.bias) logits = g.op('Add', [logits, g.initializer('unembed_bias', head.bias, [V])])[0]!;
  g.op('Identity', [logits], {}, { outputs: [HeadIO.logits] });
  g.output({ name: HeadIO.logits, type: DType.float32, dims: ['n', V] });
  return g.build();
}
