// A language head as its own small graph: hidden [N, H] → optional norm → logits [N, V], or
// [N, K] for a head with a vocabulary subset. The model's own head is the final norm plus the
// unembedding; HdLM heads at intermediate layers have the same form with their own weights.
import type { onnx } from 'onnx-proto';
import { DType, GraphBuilder } from '../onnx/graph';
import { layerNorm, OpOptions, rmsNorm } from './ops';

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

/**
 * How the unembedding is stored and multiplied. 'int8': symmetric 8-bit codes in blocks of
 * INT8_BLOCK along the hidden axis, one fp32 scale per block, multiplied by onnxruntime's
 * MatMulNBits with 8-bit activations (accuracy_level 4). Why: at an early exit the head of a
 * large vocabulary is most of the bytes a step reads (Qwen2.5-0.5B: 136 M of its 494 M
 * parameters), and a step at batch 1 costs its bytes; int8 reads a quarter of them. Logits move
 * by about 1 % of their spread (headPrecision.test.ts); fp32 stays the default, so parity holds.
 */
export const HEAD_PRECISIONS = ['fp32', 'int8'] as const;
export type HeadPrecision = (typeof HEAD_PRECISIONS)[number];

export function isHeadPrecision(value: unknown): value is HeadPrecision {
  return HEAD_PRECISIONS.includes(value as HeadPrecision);
}

export const INT8_BLOCK = 32;

export function buildHeadGraph(head: HeadWeights, options: OpOptions & { precision?: HeadPrecision }): onnx.IModelProto {
  const { hiddenSize: H } = head;
  const { weight, bias, rows } = outputRows(head);
  const g = new GraphBuilder('head');
  let x = g.input({ name: HeadIO.hidden, type: DType.float32, dims: ['n', H] });
  if (head.norm?.kind === 'rms') x = rmsNorm(g, x, 'norm', head.norm.weight, head.norm.eps, options);
  else if (head.norm?.kind === 'layer') x = layerNorm(g, x, 'norm', head.norm.weight, head.norm.bias, head.norm.eps);
  // Gemm with transB reads the weight as HF stores it, [rows, H]: a MatMul needed a transposed
  // copy, for Qwen2.5-0.5B's vocabulary 545 MB more to fill and 2 s more per first load, for the
  // same speed (both 14-15 ms a step at 2 threads, measured 2026-12-07).
  let logits = options.precision === 'int8' ? int8MatMul(g, x, weight, rows, H) : g.op('Gemm', [x, g.initializer('unembed', weight, [rows, H])], { transB: 1 })[0]!;
  if (bias) logits = g.op('Add', [logits, g.initializer('unembed_bias', bias, [rows])])[0]!;
  g.op('Identity', [logits], {}, { outputs: [HeadIO.logits] });
  g.output({ name: HeadIO.logits, type: DType.float32, dims: ['n', rows] });
  return g.model();
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

/** x [n, H] · weight [rows, H]ᵀ through MatMulNBits on 8-bit block-quantized weights. */
function int8MatMul(g: GraphBuilder, x: string, weight: Float32Array, rows: number, H: number): string {
  const q = quantizeInt8Blocks(weight, rows, H);
  const codes = g.uint8Initializer('unembed_q8', q.codes, [rows, q.blocks, INT8_BLOCK]);
  const scales = g.initializer('unembed_scales', q.scales, [rows * q.blocks]);
  return g.op('MatMulNBits', [x, codes, scales], { K: H, N: rows, bits: 8, block_size: INT8_BLOCK, accuracy_level: 4 }, { domain: 'com.microsoft', opsetVersion: 1 })[0]!;
}

/**
 * Symmetric 8-bit codes of a [rows, K] matrix in blocks of INT8_BLOCK along K (the last block
 * padded with zeros): value ≈ (code − 128) · scale, scale = the block's largest |value| / 127,
 * so codes span 1..255 around MatMulNBits' default zero point of 128 for 8 bits.
 */
export function quantizeInt8Blocks(weight: Float32Array, rows: number, K: number): { codes: Uint8Array; scales: Float32Array; blocks: number } {
  if (weight.length !== rows * K) throw new Error(`quantize: ${weight.length} values are not [${rows}, ${K}]`);
  const blocks = Math.ceil(K / INT8_BLOCK);
  const codes = new Uint8Array(rows * blocks * INT8_BLOCK).fill(128);
  const scales = new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * K + b * INT8_BLOCK;
      const end = r * K + Math.min(K, (b + 1) * INT8_BLOCK);
      let max = 0;
      for (let i = start; i < end; i++) max = Math.max(max, Math.abs(weight[i]!));
      // An all-zero block keeps scale 1 and code 128 (= 0), never a division by zero. Rounded
      // to float32 first so the codes are chosen against the scale that is stored.
      const scale = max > 0 ? Math.fround(max / 127) : 1;
      scales[r * blocks + b] = scale;
      const at = (r * blocks + b) * INT8_BLOCK;
      for (let i = start; i < end; i++) codes[at + i - start] = 128 + Math.round(weight[i]! / scale);
    }
  }
  return { codes, scales, blocks };
}
