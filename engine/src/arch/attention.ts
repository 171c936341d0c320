// Causal self-attention over a KV cache, shared by every architecture: given the new positions'
// queries, keys and values per head, it appends keys/values to the cache (graph inputs
// past_key/past_value → outputs present_key/present_value) and attends.
import { DType, GraphBuilder } from '../onnx/graph';
import { SegmentIO } from './segmentIO';

export interface HeadShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/** [B, S, heads·D] → [B, heads, S, D]. */
export function splitHeads(g: GraphBuilder, x: string, heads: number, headDim: number): string {
  const split = g.op('Reshape', [x, g.int64([0, 0, heads, headDim])])[0]!;
  return g.op('Transpose', [split], { perm: [0, 2, 1, 3] })[0]!;
}

/**
 * Attends q [B, nH, Q, D] over the cache plus k, v [B, kvH, S, D] of layer `layer`, with
 * `bias5` [B, 1, 1, Q, T] masking what a query may not see. Returns [B, Q, nH·D]. Q is S, or in
 * a rows graph's last layer the R picked rows.
 */
export function attendCached(g: GraphBuilder, layer: number, shape: HeadShape, q: string, k: string, v: string, bias5: string): string {
  const { numHeads: nH, numKvHeads: kvH, headDim: D } = shape;
  const group = nH / kvH;
  const pastK = g.input({ name: SegmentIO.pastKey(layer), type: DType.float32, dims: ['batch', kvH, 'past', D] });
  const pastV = g.input({ name: SegmentIO.pastValue(layer), type: DType.float32, dims: ['batch', kvH, 'past', D] });
  const keys = g.op('Concat', [pastK, k], { axis: 2 }, { outputs: [SegmentIO.presentKey(layer)] })[0]!; // [B, kvH, T, D]
  const values = g.op('Concat', [pastV, v], { axis: 2 }, { outputs: [SegmentIO.presentValue(layer)] })[0]!;
  g.output({ name: keys, type: DType.float32, dims: ['batch', kvH, 'total', D] });
  g.output({ name: values, type: DType.float32, dims: ['batch', kvH, 'total', D] });

  // Grouped-query attention without copying keys: queries are grouped [B, kvH, group, S, D] and
  // keys get a broadcast axis [B, kvH, 1, T, D], so MatMul pairs each group with its kv head.
  const q5 = g.op('Reshape', [q, g.int64([0, kvH, group, -1, D])])[0]!;
  const k5 = g.op('Unsqueeze', [keys, g.int64([2])])[0]!;
  const v5 = g.op('Unsqueeze', [values, g.int64([2])])[0]!;
  const kT = g.op('Transpose', [k5], { perm: [0, 1, 2, 4, 3] })[0]!;
  const scores = g.op('Mul', [g.op('MatMul', [q5, kT])[0]!, g.scalar(1 / Math.sqrt(D))])[0]!; // [B, kvH, group, S, T]
  const probs = g.op('Softmax', [g.op('Add', [scores, bias5])[0]!], { axis: -1 })[0]!;
  const ctx5 = g.op('MatMul', [probs, v5])[0]!; // [B, kvH, group, S, D]
  const ctx = g.op('Transpose', [g.op('Reshape', [ctx5, g.int64([0, nH, -1, D])])[0]!], { perm: [0, 2, 1, 3] })[0]!;
  return g.op('Reshape', [ctx, g.int64([0, 0, nH * D])])[0]!; // [B, S, nH·D]
}

/**
 * The rows of a segment's last layer that a rows graph computes (SegmentIO.rows): `pick` takes
 * them out of any tensor with the new positions on its sequence axis, and `bias5` is the
 * attention bias of those queries, [B, 1, 1, R, T].
 */
export interface PickedRows {
  /** [B, S, C] → [B, R, C]. */
  pick(x: string): string;
  /** The SegmentIO.rows input, for picking from other layouts (pickRows). */
  index: string;
  bias5: string;
}

/**
 * Declares the segment's hidden and bias inputs; returns them with the bias as [B, 1, 1, S, T].
 * With `rows`, also the SegmentIO.rows input and what picks those rows.
 */
export function segmentInputs(g: GraphBuilder, hiddenSize: number, rows = false): { hidden: string; bias5: string; picked?: PickedRows } {
  const hidden = g.input({ name: SegmentIO.hidden, type: DType.float32, dims: ['batch', 'seq', hiddenSize] });
  const bias = g.input({ name: SegmentIO.attnBias, type: DType.float32, dims: ['batch', 1, 'seq', 'total'] });
  const bias5 = g.op('Unsqueeze', [bias, g.int64([1])])[0]!;
  if (!rows) return { hidden, bias5 };
  const index = g.input({ name: SegmentIO.rows, type: DType.int64, dims: ['batch', 'rows'] });
  const picked = { pick: (x: string) => pickRows(g, x, index, 'BSC'), index, bias5: g.op('Unsqueeze', [pickRows(g, bias, index, 'B1SC'), g.int64([1])])[0]! };
  return { hidden, bias5, picked };
}

/**
 * The rows `index` [B, R] (flat indices b·S + i) of x, laid out as `layout`:
 * [B, S, C] → [B, R, C], [B, 1, S, C] → [B, 1, R, C]. Flattening up to the sequence axis makes
 * one Gather do it, which every provider has (for float32: int64 rows stay with the host, see
 * SegmentIO.rowPositionIds).
 */
export function pickRows(g: GraphBuilder, x: string, index: string, layout: 'BSC' | 'B1SC'): string {
  const axis = layout === 'B1SC' ? 3 : 2; // Flatten keeps the sequence axis and everything before it in one
  const rows = g.op('Gather', [g.op('Flatten', [x], { axis })[0]!, index], { axis: 0 })[0]!; // [B, R, C]
  return layout === 'B1SC' ? g.op('Unsqueeze', [rows, g.int64([1])])[0]! : rows;
}

/** Declares the outputs after each layer (all but the last) and after the segment ([B, R, H] in a rows graph). */
export function segmentOutput(g: GraphBuilder, h: string, hiddenSize: number, layer: number, isLast: boolean, rows = false): void {
  const name = isLast ? SegmentIO.hiddenOut : SegmentIO.layerHidden(layer);
  g.op('Identity', [h], {}, { outputs: [name] });
  g.output({ name, type: DType.float32, dims: ['batch', isLast && rows ? 'rows' : 'seq', hiddenSize] });
}
