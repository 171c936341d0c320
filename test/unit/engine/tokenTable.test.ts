// The token table keeps a 16-bit checkpoint's own bits and widens a row per lookup: every row
// reads as the float32 conversion of the whole tensor does, in each stored precision.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSafetensorsStore, writeSafetensors } from '../../../engine/src/checkpoint/safetensors';
import { tokenTable } from '../../../engine/src/model/tokenTable';

test('a token table reads every row as the float32 tensor has it, in F32, BF16 and F16, keeping 16-bit tables as stored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-table-'));
  try {
    const [rows, width] = [5, 7];
    const data = Float32Array.from({ length: rows * width }, (_, i) => Math.sin(i) * (1 + i / 3));
    writeSafetensors(join(dir, 'model.safetensors'), {
      f32: { dtype: 'F32', shape: [rows, width], data },
      bf16: { dtype: 'BF16', shape: [rows, width], data },
      f16: { dtype: 'F16', shape: [rows, width], data },
    });
    const store = openSafetensorsStore(dir);
    assert.equal(store.getHalves('f32', [rows, width]), undefined, 'float32 is kept as float32');
    assert.equal(store.getHalves('bf16', [rows, width])?.bits.length, rows * width);
    assert.equal(store.getHalves('f16', [rows, width])?.dtype, 'F16');
    for (const name of ['f32', 'bf16', 'f16']) {
      const whole = store.get(name, [rows, width]);
      const table = tokenTable(store, name, rows, width);
      for (let id = 0; id < rows; id++) {
        const out = new Float32Array(width + 4).fill(-9);
        table.copyRow(id, out, 2);
        assert.deepEqual([...out.subarray(2, 2 + width)], [...whole.subarray(id * width, (id + 1) * width)], `${name} row ${id}`);
        assert.deepEqual([out[0], out[1], out[width + 2], out[width + 3]], [-9, -9, -9, -9], 'nothing outside the row is written');
      }
    }
    assert.throws(() => tokenTable(store, 'bf16', rows, width + 1), /bf16 has shape \[5,7\], expected shape \[5,8\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
