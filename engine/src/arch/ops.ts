// Building blocks shared by the architectures' graphs, written as plain ONNX operators or, where
// `fused` is set, as onnxruntime's fused operators (which the CPU and WebGPU providers both run).
import { bf16ToF32Bits, f16Lookup } from '../checkpoint/safetensors';
import type { HalfTensor, WeightStore } from '../checkpoint/types';
import { GraphBuilder } from '../onnx/graph';

export interface OpOptions {
  /** Use onnxruntime's fused operators (SimplifiedLayerNormalization) instead of plain ones. */
  fused: boolean;
}

/** How a segment graph is built. */
export interface SegmentOptions extends OpOptions {
  /**
   * A rows graph: its last layer runs queries, MLP and output only for the positions named by
   * the SegmentIO.rows input (keys and values still for all), and its hidden_out holds those.
   */
  rows?: boolean;
}

/** Copies a row-major [rows, cols] matrix into [cols, rows]. HF Linear weights are [out, in]; MatMul wants [in, out]. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[row + c]!;
  }
  return out;
}

/**
 * A checkpoint's [rows, cols] weight as [cols, rows] float32. A 16-bit weight (most checkpoints
 * are bf16) is widened as it is transposed, into one new array rather than two: on this project's
 * CPU, filling fresh memory is what converting a weight costs, not the arithmetic.
 */
export function transposedWeight(weights: WeightStore, name: string, rows: number, cols: number): Float32Array {
  const halves = weights.getHalves?.(name, [rows, cols]);
  return halves ? widenTransposed(halves, rows, cols) : transpose(weights.get(name, [rows, cols]), rows, cols);
}

function widenTransposed({ dtype, bits }: HalfTensor, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  if (dtype === 'BF16') {
    const outBits = new Uint32Array(out.buffer);
    for (let r = 0; r < rows; r++) {
      const row = r * cols;
      for (let c = 0; c < cols; c++) outBits[c * rows + r] = bf16ToF32Bits(bits[row + c]!);
    }
    return out;
  }
  const table = f16Lookup();
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = table[bits[row + c]!]!;
  }
  return out;
}

/**
 * y = x · Wᵀ (+ b) for the checkpoint's HF Linear `name` (its weight [out, in]). The transposed
 * weight is deferred: a graph cache that already holds it (another cut of the same layers) never
 * converts it again.
 */
export function linear(g: GraphBuilder, x: string, name: string, weights: WeightStore, outDim: number, inDim: number, bias?: Float32Array): string {
  const weight = `${name}.weight`;
  const w = g.deferredInitializer(weight, `transposed float32 ${weight}`, [inDim, outDim], () => transposedWeight(weights, weight, outDim, inDim));
  const y = g.op('MatMul', [x, w])[0]!;
  return bias ? g.op('Add', [y, g.initializer(`${name}.bias`, bias, [outDim])])[0]! : y;
}

/** RMS norm over the last axis: x / sqrt(mean(x²) + eps) · w, computed in float32 as HF does. */
export function rmsNorm(g: GraphBuilder, x: string, name: string, weight: Float32Array, eps: number, options: OpOptions): string {
  const w = g.initializer(`${name}.weight`, weight, [weight.length]);
  if (options.fused) {
    return g.op('SimplifiedLayerNormalization', [x, w], { axis: -1, epsilon: { float: eps }, stash_type: 1 })[0]!;
  }
  const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])[0]!], { axes: [-1], keepdims: 1 })[0]!;
  const rms = g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(eps)])[0]!])[0]!;
  return g.op('Mul', [g.op('Div', [x, rms])[0]!, w])[0]!;
}

/** Standard layer norm (GPT-2) with weight and bias over the last axis. */
export function layerNorm(g: GraphBuilder, x: string, name: string, weight: Float32Array, bias: Float32Array, eps: number): string {
  const w = g.initializer(`${name}.weight`, weight, [weight.length]);
  const b = g.initializer(`${name}.bias`, bias, [bias.length]);
  return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } })[0]!;
}

/** x · sigmoid(x). */
export function silu(g: GraphBuilder, x: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x])[0]!])[0]!;
}

/** GPT-2's tanh approximation of GELU: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluNew(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x])[0]!, x])[0]!;
  const inner = g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])[0]!])[0]!;
  const t = g.op('Tanh', [g.op('Mul', [inner, g.scalar(Math.sqrt(2 / Math.PI))])[0]!])[0]!;
  const half = g.op('Mul', [x, g.scalar(0.5)])[0]!;
  return g.op('Mul', [half, g.op('Add', [t, g.scalar(1)])[0]!])[0]!;
}
