// A random-weight checkpoint with Qwen2.5-0.5B's exact shapes (bf16, ~1 GB) for the benchmark.
// Never committed: `npm run bench` makes it under .cache/ when it is missing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../../../engine/src/checkpoint/config';
import { expectedTensors } from '../../../engine/src/checkpoint/expectedTensors';
import { TensorToWrite, writeSafetensors } from '../../../engine/src/checkpoint/safetensors';
import { QWEN25_05B } from './shapes';

/** xorshift32 uniform in [-scale, scale): fast enough for half a billion values. */
function fill(data: Float32Array, seed: number, scale: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = ((x >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
}

export function makeShapedCheckpoint(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const config = parseModelConfig(QWEN25_05B as unknown as Record<string, unknown>, 'Qwen2.5-0.5B shapes');
  const tensors: Record<string, TensorToWrite> = {};
  expectedTensors(config).forEach((t, i) => {
    const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    // Norm weights at 1, the rest small: values stay finite through 24 layers.
    if (t.name.endsWith('norm.weight')) data.fill(1);
    else fill(data, i + 1, 0.02);
    tensors[t.name] = { dtype: 'BF16', shape: t.shape, data };
  });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(QWEN25_05B, null, 2)}\n`);
}
