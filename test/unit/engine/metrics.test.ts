// Metrics against hand-computed values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAgainstGold, describeDifference, describeMeanDifference, leftOutClause, macroF1, mcNemarExact, normalCdf, pairedComparison, pairedDifference, pairedMeanDifference, pathMetrics, signedFigure } from '../../../engine/src/hdlm/metrics';

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

test('the exact McNemar test is a two-sided binomial tail at one half', () => {
  // 0 against 5 discordant pairs: 2 · (1/2)^5.
  assert.ok(Math.abs(mcNemarExact(0, 5) - 2 / 32) < 1e-15);
  // 1 against 4: 2 · (1 + 5) / 32.
  assert.ok(Math.abs(mcNemarExact(4, 1) - 12 / 32) < 1e-15);
  // An even split, and none at all, are no evidence either way.
  assert.equal(mcNemarExact(3, 3), 1);
  assert.equal(mcNemarExact(0, 0), 1);
  // Large counts stay finite and tiny where the split is lopsided, near 1 where it is not.
  assert.ok(mcNemarExact(0, 3000) === 0 || mcNemarExact(0, 3000) < 1e-300);
  const p = mcNemarExact(281, 311); // normal approximation: z = 30 / sqrt(592) = 1.233, p ≈ 0.218
  assert.ok(p > 0.2 && p < 0.26, String(p));
});

test('a paired difference counts only the examples one variant gets right and the other wrong', () => {
  const a = [true, true, true, false, false, true, false, true];
  const b = [true, false, false, false, true, true, false, false];
  const d = pairedDifference(a, b);
  assert.equal(d.aOnly, 3);
  assert.equal(d.bOnly, 1);
  assert.ok(Math.abs(d.difference - 2 / 8) < 1e-15);
  // Per-example differences: three +1, one −1, four 0: variance of their mean by hand.
  const mean = 2 / 8;
  const variance = (3 * (1 - mean) ** 2 + (-1 - mean) ** 2 + 4 * mean ** 2) / 8;
  const se = Math.sqrt(variance / 8);
  assert.ok(Math.abs(d.ci95[0] - (mean - 1.96 * se)) < 1e-12 && Math.abs(d.ci95[1] - (mean + 1.96 * se)) < 1e-12, JSON.stringify(d.ci95));
  assert.ok(Math.abs(d.pValue - 10 / 16) < 1e-15);
  assert.throws(() => pairedDifference([true], [true, false]), /1 outcomes against 2/);
});

test('the paired comparison of two variants goes level by level, then the whole path', () => {
  const gold = [
    ['x', 'x1'],
    ['x', 'x2'],
    ['y', 'y1'],
  ];
  const a = [
    ['x', 'x1'],
    ['x', 'x1'],
    ['y', 'y1'],
  ];
  const b = [
    ['x', 'x1'],
    ['y', 'x2'],
    ['x', 'y1'],
  ];
  const c = pairedComparison(gold, a, b);
  assert.deepEqual(
    c.levels.map((l) => [l.aOnly, l.bOnly]),
    [
      [2, 0],
      [0, 1],
    ],
  );
  assert.deepEqual([c.joint.aOnly, c.joint.bOnly], [1, 0]);
  assert.match(describeDifference(c.joint), /^\+33\.3 points \(95 % CI .* to .*, McNemar p 1\.00; 1 against 0 examples\)$/);
  assert.match(describeDifference(pairedDifference([false, true, false], [true, true, true])), /^−66\.7 points/);
});

test('the normal distribution function matches known quantiles', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-9);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 2e-7);
  assert.ok(Math.abs(normalCdf(-1) - 0.158655254) < 2e-7);
  assert.equal(normalCdf(Number.POSITIVE_INFINITY), 1);
});

test('a paired difference of pooled per-token means, with its interval by the delta method', () => {
  // Three examples: sums of nats over 2, 1 and 3 tokens for each variant.
  const a = [{ sum: 2, tokens: 2 }, { sum: 3, tokens: 1 }, { sum: 3, tokens: 3 }];
  const b = [{ sum: 4, tokens: 2 }, { sum: 3, tokens: 1 }, { sum: 6, tokens: 3 }];
  const d = pairedMeanDifference(a, b);
  // Pooled: 8/6 against 13/6.
  assert.ok(Math.abs(d.difference - (8 / 6 - 13 / 6)) < 1e-12);
  // Residuals of the per-example differences (−2, 0, −3) against difference × tokens, by hand.
  const D = -5 / 6;
  const r = (-2 - D * 2) ** 2 + (0 - D * 1) ** 2 + (-3 - D * 3) ** 2;
  const se = Math.sqrt((3 / 2) * r) / 6;
  assert.ok(Math.abs(d.ci95[1] - d.ci95[0] - 2 * 1.96 * se) < 1e-12);
  assert.ok(Math.abs(d.pValue - 2 * (1 - normalCdf(Math.abs(D) / se))) < 1e-12);
  assert.equal(d.examples, 3);
  assert.match(describeMeanDifference(d, 'nats/token'), /^−0\.833 nats\/token \(95 % CI −\d\.\d{3} to [−+]\d\.\d{3}, p [<\d. ]+; 3 examples\)$/);
  // The same examples on both sides, or it is no pairing.
  assert.throws(() => pairedMeanDifference(a, b.slice(1)), /3 examples against 2/);
  assert.throws(() => pairedMeanDifference([{ sum: 1, tokens: 1 }], [{ sum: 1, tokens: 2 }]), /example 0 has 1 tokens against 2/);
  assert.equal(signedFigure(-0.0001, 3), '0.000');
});

test('predicted paths against the inputs\' own labels: per level and joint, over the inputs with labels as deep, saying how many others were left out', () => {
  const rows = [
    { labels: ['a', 'b'], gold: ['a', 'b'] },
    { labels: ['a', 'c'], gold: ['a', 'b'] },
    { labels: ['d', 'b'], gold: ['a', 'b'] },
    { labels: ['d', 'e'], gold: ['d', 'e'] },
  ];
  assert.equal(describeAgainstGold(rows), '75.0 / 75.0 % per level, 50.0 % joint');
  // One line of another depth (or without labels) no longer hides the accuracy of all the others.
  assert.equal(describeAgainstGold([...rows, { labels: ['a', 'b'] }]), '75.0 / 75.0 % per level, 50.0 % joint, over 4 of 5 inputs (1 without labels)');
  assert.equal(describeAgainstGold([...rows, { labels: ['a', 'b'], gold: ['a'] }]), '75.0 / 75.0 % per level, 50.0 % joint, over 4 of 5 inputs (1 with labels of another depth)');
  assert.equal(
    describeAgainstGold([{ labels: ['a', 'b'], gold: ['a', 'b', 'c'] }, ...rows, { labels: ['a', 'b'] }, { labels: ['a', 'b'] }]),
    '75.0 / 75.0 % per level, 50.0 % joint, over 4 of 7 inputs (2 without labels, 1 with labels of another depth)',
  );
  // A label the taxonomy lacks is just never predicted: it counts as wrong.
  assert.equal(describeAgainstGold([...rows, { labels: ['a', 'b'], gold: ['bogus', 'b'] }]), '60.0 / 80.0 % per level, 40.0 % joint');
  assert.equal(describeAgainstGold([{ labels: ['a', 'b'] }, { labels: ['a', 'b'], gold: ['a'] }]), undefined, 'nothing to score against');
  assert.equal(describeAgainstGold([]), undefined);
});

test('what an evaluation left out, as the CLI and the editor\'s job line say it', () => {
  assert.equal(leftOutClause({ tooLong: 0 }), '');
  assert.equal(leftOutClause({ tooLong: 0, skippedLines: 0, unknownLabels: 0 }), '');
  assert.equal(leftOutClause({ tooLong: 3, skippedLines: 1, unknownLabels: 2 }), ' (3 too long, left out; 1 line skipped; 2 with gold labels never seen in training, counted wrong)');
  assert.equal(leftOutClause({ tooLong: 0, skippedLines: 2 }), ' (2 lines skipped)');
});
