// A Linear weight is transposed for MatMul in the precision it is stored in: widened from 16 bits
// while it is transposed, it must equal the float32 conversion transposed afterwards.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { transpose, transposedWeight } from '../../../engine/src/arch/ops';
import { openSafetensorsStore, writeSafetensors } from '../../../engine/src/checkpoint/safetensors';

test('transposedWeight equals the float32 weight transposed, in F32, BF16 and F16, at shapes that are not square', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-transposed-'));
  try {
    const [rows, cols] = [37, 70];
    // Negative values, tiny ones and a large one: every sign and exponent path of the widening.
    const data = Float32Array.from({ length: rows * cols }, (_, i) => (i === 5 ? 60000 : Math.sin(i * 1.7) * 10 ** ((i % 9) - 6)));
    writeSafetensors(join(dir, 'model.safetensors'), {
      f32: { dtype: 'F32', shape: [rows, cols], data },
      bf16: { dtype: 'BF16', shape: [rows, cols], data },
      f16: { dtype: 'F16', shape: [rows, cols], data },
    });
    const store = openSafetensorsStore(dir);
    for (const name of ['f32', 'bf16', 'f16']) {
      const expected = transpose(store.get(name, [rows, cols]), rows, cols);
      const got = transposedWeight(store, name, rows, cols);
      assert.equal(got.length, rows * cols);
      assert.deepEqual(got, expected, name);
      assert.equal(got[5 * rows], store.get(name, [rows, cols])[5], `${name}: [0, 5] lands at [5, 0]`);
    }
    assert.throws(() => transposedWeight(store, 'bf16', cols, rows), /expected shape \[70,37\]|shape/, 'a wrong shape is named');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
