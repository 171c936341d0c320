// The token embedding table as the model keeps it for the lookups it does in JavaScript. A
// checkpoint stored in 16-bit floats (most Hugging Face ones: bf16) keeps its own bits and
// widens a row when a token is looked up: for Qwen2.5-0.5B's 151,936 × 896 table that is 272 MB
// instead of 544 MB, and a load no longer converts the whole table.
import { bf16ToF32, f16ToF32 } from '../checkpoint/safetensors';
import type { WeightStore } from '../checkpoint/types';

export interface TokenTable {
  /** Writes row `id` (a token's embedding, `width` values) into out[at..at+width). */
  copyRow(id: number, out: Float32Array, at: number): void;
}

/** The table `name` [rows, width] of `weights`, in the precision the checkpoint stores it. */
export function tokenTable(weights: WeightStore, name: string, rows: number, width: number): TokenTable {
  const halves = weights.getHalves?.(name, [rows, width]);
  if (!halves) {
    const table = weights.get(name, [rows, width]);
    return { copyRow: (id, out, at) => out.set(table.subarray(id * width, (id + 1) * width), at) };
  }
  const widen = halves.dtype === 'F16' ? f16ToF32 : bf16ToF32;
  const { bits } = halves;
  return { copyRow: (id, out, at) => widen(bits.subarray(id * width, (id + 1) * width), out.subarray(at, at + width)) };
}
