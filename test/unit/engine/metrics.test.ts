// Metrics against hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { macroF1, pathMetrics } from '../../../engine/src/hdlm/metrics';

test('macro-F1 averages per-label F1 over gold and predicted labels', () => {
  // a: tp 1, fn 1 → P 1, R 1/2, F1 2/3.  b: tp 1, fp 2 → P 1/3, R 1, F1 1/2.  c: fn 1 → F1 0.
  const { f1, classes } = macroF1(['a', 'a', 'b', 'c'], ['a', 'b', 'b', 'b']);
  assert.equal(classes, 3);
  assert.ok(Math.abs(f1 - (2 / 3 + 0.5 + 0) / 3) < 1e-12, String(f1));
});

test('path metrics count a path right only when every level is', () => {
  const m = pathMetrics(
    [
      ['x', 'x1'],
      ['x', 'x2'],
      ['y', 'y1'],
    ],
    [
      ['x', 'x1'],
      ['x', 'x1'],
      ['x', 'y1'],
    ],
  );
  assert.equal(m.examples, 3);
  assert.ok(Math.abs(m.levels[0]!.accuracy - 2 / 3) < 1e-12);
  assert.ok(Math.abs(m.levels[1]!.accuracy - 2 / 3) < 1e-12);
  assert.ok(Math.abs(m.jointAccuracy - 1 / 3) < 1e-12);
});
