// Names and shapes of a segment graph's inputs and outputs, shared by every architecture and by
// the model that feeds them. B = batch, S = new positions, P = cached positions, T = P + S.
export const SegmentIO = {
  /** [B, S, H] residual stream entering the segment's first layer. */
  hidden: 'hidden',
  /** [B, 1, S, T] additive attention bias: 0 where a query may look, a large negative elsewhere. */
  attnBias: 'attn_bias',
  /** [B, 1, S, D] rotary cos/sin per new position (rotary architectures, plain operators). */
  cos: 'cos',
  sin: 'sin',
  /** [B, S] int64 position ids (rotary architectures with the fused RotaryEmbedding operator). */
  positionIds: 'position_ids',
  /**
   * [B, R] int64, rows graphs only: flat indices b·S + i of the new positions whose state after
   * the segment's last layer is computed; that layer makes keys and values for all positions
   * but runs queries, MLP and output only for these (reading a few positions of a sequence once).
   */
  rows: 'rows',
  /**
   * [B, R] int64, fused rotary rows graphs only: the position ids of the rows in `rows`, picked by
   * the host. Picked in the graph, that int64 Gather is work onnxruntime keeps on the CPU under
   * WebGPU, which splits the graph across devices.
   */
  rowPositionIds: 'row_position_ids',
  /** [B, S, H] residual stream after the segment's last layer ([B, R, H] in a rows graph). */
  hiddenOut: 'hidden_out',
  /** [B, kvH, P, D] cached keys / values of layer i (global index). */
  pastKey: (layer: number): string => `past_key.${layer}`,
  pastValue: (layer: number): string => `past_value.${layer}`,
  /** [B, kvH, T, D] keys / values after appending the new positions. */
  presentKey: (layer: number): string => `present_key.${layer}`,
  presentValue: (layer: number): string => `present_value.${layer}`,
  /** [B, S, H] residual stream after layer i, for every layer of the segment but its last. */
  layerHidden: (layer: number): string => `layer_hidden.${layer}`,
} as const;

/** Large enough to silence a key, small enough that adding scores stays finite. */
export const MASKED = -1e30;
