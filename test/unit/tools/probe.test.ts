// Unit tests of the probe and baseline tools (tools/probe): logistic regression, L-BFGS, text
// features, metrics and pooling. Everything runs on small inline data, in well under a second.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { subsample } from '../../../tools/probe/lib/datasets';
import { framedRange, meanPool, poolRange } from '../../../tools/probe/lib/hiddenStates';
import { minimizeLbfgs } from '../../../tools/probe/lib/lbfgs';
import { lossAndGradient, predict, trainLogistic } from '../../../tools/probe/lib/logisticRegression';
import { applyStandardizer, denseMatrix, fitStandardizer, selectRows, sparseFromRows, sparseToDense, type SparseMatrix } from '../../../tools/probe/lib/matrix';
import { accuracy, confusion, macroF1, macroF1FromConfusion, majorityAccuracy } from '../../../tools/probe/lib/metrics';
import { bagOfWords, buildVocabulary, inverseDocumentFrequency, ngrams, tfidf, tokenize } from '../../../tools/probe/lib/textFeatures';
import { comparePredictions, isBaseline, pairPredictions, readLines } from '../../../tools/probe/lib/paired';
import { tuneAndTest } from '../../../tools/probe/lib/tune';

/** Deterministic uniform numbers in [0, 1) (LCG): tests must not depend on Math.random. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A small random sparse matrix (about a third of the entries nonzero). */
function randomSparse(rows: number, cols: number, seed: number): SparseMatrix {
  const next = rng(seed);
  const list = Array.from({ length: rows }, () => {
    const row: [number, number][] = [];
    for (let c = 0; c < cols; c++) if (next() < 0.35) row.push([c, next() * 2 - 1]);
    return row;
  });
  return sparseFromRows(list, cols);
}

function randomLabels(rows: number, classes: number, seed: number): Int32Array {
  const next = rng(seed);
  return Int32Array.from({ length: rows }, () => Math.floor(next() * classes));
}

describe('logistic regression', () => {
  test('recovers a known linear separation of three classes', () => {
    // Class = argmax of three fixed linear scores of a 2-D point; a wide margin is kept so the
    // classes are separable and a weakly penalised model must get every point right.
    const scores = (x: number, y: number): number[] => [x + y, -x + 0.5 * y, -y - 0.5];
    const next = rng(7);
    const points: number[] = [];
    const labels: number[] = [];
    while (labels.length < 300) {
      const [x, y] = [next() * 4 - 2, next() * 4 - 2];
      const s = scores(x, y);
      const sorted = [...s].sort((a, b) => b - a);
      if (sorted[0]! - sorted[1]! < 0.3) continue;
      points.push(x, y);
      labels.push(s.indexOf(sorted[0]!));
    }
    const data = denseMatrix(labels.length, 2, Float32Array.from(points));
    const y = Int32Array.from(labels);
    const fit = trainLogistic(data, y, 3, { l2: 1e-4, maxIterations: 500 });
    assert.equal(accuracy(y, predict(fit.model, data)), 1);
    // Fresh points far from the boundaries land in the right class too.
    const fresh = denseMatrix(3, 2, Float32Array.from([2, 2, -2, 1, 0, -2]));
    assert.deepEqual([...predict(fit.model, fresh)], [0, 1, 2]);
  });

  test('the gradient matches central finite differences (sparse and dense)', () => {
    const sparse = randomSparse(12, 5, 3);
    const y = randomLabels(12, 4, 4);
    const next = rng(5);
    const params = Float64Array.from({ length: 5 * 4 + 4 }, () => next() - 0.5);
    for (const x of [sparse, sparseToDense(sparse)]) {
      const grad = new Float64Array(params.length);
      lossAndGradient(x, y, 4, 0.3, params, grad);
      const h = 1e-6;
      for (let k = 0; k < params.length; k++) {
        const plus = Float64Array.from(params);
        const minus = Float64Array.from(params);
        plus[k]! += h;
        minus[k]! -= h;
        const scratch = new Float64Array(params.length);
        const numeric = (lossAndGradient(x, y, 4, 0.3, plus, scratch) - lossAndGradient(x, y, 4, 0.3, minus, scratch)) / (2 * h);
        assert.ok(Math.abs(numeric - grad[k]!) < 1e-7, `${x.kind} parameter ${k}: analytic ${grad[k]} vs numeric ${numeric}`);
      }
    }
  });

  test('sparse and dense features give the same loss, gradient and trained model', () => {
    const sparse = randomSparse(40, 8, 11);
    const dense = sparseToDense(sparse);
    const y = randomLabels(40, 3, 12);
    const params = Float64Array.from({ length: 8 * 3 + 3 }, (_, i) => Math.sin(i));
    const [gs, gd] = [new Float64Array(params.length), new Float64Array(params.length)];
    assert.ok(Math.abs(lossAndGradient(sparse, y, 3, 0.01, params, gs) - lossAndGradient(dense, y, 3, 0.01, params, gd)) < 1e-12);
    gs.forEach((g, i) => assert.ok(Math.abs(g - gd[i]!) < 1e-12));
    const a = trainLogistic(sparse, y, 3, { l2: 0.01 });
    const b = trainLogistic(dense, y, 3, { l2: 0.01 });
    a.model.weights.forEach((w, i) => assert.ok(Math.abs(w - b.model.weights[i]!) < 1e-9));
    assert.deepEqual([...predict(a.model, sparse)], [...predict(b.model, dense)]);
  });

  test('stops at the optimum: the gradient of the trained model is near zero', () => {
    const x = randomSparse(30, 6, 21);
    const y = randomLabels(30, 3, 22);
    const fit = trainLogistic(x, y, 3, { l2: 0.05, gradientTolerance: 1e-8, relativeTolerance: 0 });
    const grad = new Float64Array(6 * 3 + 3);
    const packed = new Float64Array(grad.length);
    packed.set(fit.model.weights);
    packed.set(fit.model.bias, fit.model.weights.length);
    lossAndGradient(x, y, 3, 0.05, packed, grad);
    assert.ok(Math.max(...grad.map(Math.abs)) < 1e-7);
  });

  test('refuses labels outside the classes and warm starts of another shape', () => {
    const x = randomSparse(4, 3, 1);
    assert.throws(() => trainLogistic(x, Int32Array.from([0, 1, 5, 0]), 3, { l2: 1 }), /label 5 at row 2/);
    const other = trainLogistic(x, Int32Array.from([0, 1, 1, 0]), 2, { l2: 1 }).model;
    assert.throws(() => trainLogistic(x, Int32Array.from([0, 1, 2, 0]), 3, { l2: 1, init: other }), /warm start/);
  });
});

describe('L2 tuning', () => {
  // Noisy labels: the label is feature 0's sign, flipped for a fifth of the items, plus pure-noise
  // features. A weak penalty fits the noise, so dev accuracy peaks at a moderate strength.
  function noisy(rows: number, seed: number): { x: ReturnType<typeof denseMatrix>; y: Int32Array } {
    const next = rng(seed);
    const data = new Float32Array(rows * 20);
    const y = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < 20; j++) data[i * 20 + j] = next() * 2 - 1;
      y[i] = (data[i * 20]! > 0) !== next() < 0.2 ? 1 : 0;
    }
    return { x: denseMatrix(rows, 20, data), y };
  }

  test('visits the grid from strong to weak and keeps the best dev accuracy', () => {
    const r = tuneAndTest(noisy(100, 1), noisy(400, 2), noisy(400, 3), 2, { grid: [1e-3, 10, 0.1], maxIterations: 200 });
    assert.deepEqual(r.grid.map((p) => p.l2), [10, 0.1, 1e-3]);
    const best = Math.max(...r.grid.map((p) => p.devAccuracy));
    assert.equal(r.grid.find((p) => p.l2 === r.l2)!.devAccuracy, best);
    assert.ok(r.testAccuracy > 0.6, `test accuracy ${r.testAccuracy}`);
  });

  test('patience stops the path after points that score below the best', () => {
    const grid = [1, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4];
    const all = tuneAndTest(noisy(100, 1), noisy(400, 2), noisy(400, 3), 2, { grid, maxIterations: 200 });
    const short = tuneAndTest(noisy(100, 1), noisy(400, 2), noisy(400, 3), 2, { grid, maxIterations: 200, patience: 1 });
    assert.ok(short.grid.length < all.grid.length, `${short.grid.length} points with patience 1, ${all.grid.length} without`);
    assert.ok(short.grid.at(-1)!.devAccuracy < Math.max(...short.grid.map((p) => p.devAccuracy)));
  });
});

describe('L-BFGS', () => {
  test('finds the minimum of the Rosenbrock function', () => {
    const rosenbrock = (p: Float64Array, g: Float64Array): number => {
      const [a, b] = [p[0]!, p[1]!];
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    };
    const r = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIterations: 500, gradientTolerance: 1e-9, relativeTolerance: 0 });
    assert.ok(Math.abs(r.x[0]! - 1) < 1e-6 && Math.abs(r.x[1]! - 1) < 1e-6, `ended at ${r.x[0]}, ${r.x[1]} (${r.reason})`);
  });
});

describe('text features', () => {
  test('tokenises into lowercase words, keeping the gloss mask', () => {
    assert.deepEqual(tokenize('A Member of the genus Canis; "the ___ barked" (2 dogs)'), ['a', 'member', 'of', 'the', 'genus', 'canis', 'the', '___', 'barked', '2', 'dogs']);
    assert.deepEqual(ngrams(['a', 'b', 'c'], 2), ['a', 'b', 'c', 'a b', 'b c']);
  });

  const corpus = ['Apple apple banana', 'banana cherry', 'cherry'].map(tokenize);

  test('the vocabulary keeps terms in enough training documents, sorted', () => {
    const all = buildVocabulary(corpus, { minDocuments: 1 });
    assert.deepEqual(all.terms, ['apple', 'banana', 'cherry']);
    assert.deepEqual([...all.documentFrequency], [1, 2, 2]);
    assert.deepEqual(buildVocabulary(corpus, { minDocuments: 2 }).terms, ['banana', 'cherry']);
  });

  test('bag-of-words counts, unknown words dropped', () => {
    const vocab = buildVocabulary(corpus, { minDocuments: 1 });
    const bow = sparseToDense(bagOfWords([...corpus, tokenize('durian apple')], vocab));
    assert.deepEqual([...bow.data], [2, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
  });

  test('TF-IDF matches the hand-computed values', () => {
    // N = 3; df = 1, 2, 2. idf(apple) = ln(4/2) + 1 = 1.693147, idf(banana) = idf(cherry) = ln(4/3) + 1 = 1.287682.
    // Row 1: apple (1 + ln 2) · 1.693147 = 2.866747, banana 1.287682; norm 3.142669 → 0.912202, 0.409742.
    // Row 2: two equal weights → 1/√2 each. Row 3: one term → 1.
    const vocab = buildVocabulary(corpus, { minDocuments: 1 });
    const idf = inverseDocumentFrequency(vocab);
    assert.ok(Math.abs(idf[0]! - 1.693147) < 1e-6 && Math.abs(idf[1]! - 1.287682) < 1e-6);
    const m = sparseToDense(tfidf(corpus, vocab));
    const expected = [0.912202, 0.409742, 0, 0, 0.707107, 0.707107, 0, 0, 1];
    expected.forEach((v, i) => assert.ok(Math.abs(m.data[i]! - v) < 1e-6, `entry ${i}: ${m.data[i]} vs ${v}`));
    assert.equal(tfidf([tokenize('durian')], vocab).indptr[1], 0, 'a text of unknown words is an empty row');
  });
});

describe('metrics', () => {
  test('macro-F1 on a hand-made confusion', () => {
    // truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2:
    // class 0: TP 2, 3 actual, 2 predicted → F1 4/5; class 1: TP 1, 2 and 2 → 1/2; class 2: TP 1, 1 and 2 → 2/3.
    // Class 3 never occurs: left out of the mean.
    const truth = Int32Array.from([0, 0, 0, 1, 1, 2]);
    const predicted = Int32Array.from([0, 0, 1, 1, 2, 2]);
    const counts = confusion(truth, predicted, 4);
    assert.deepEqual([...counts.subarray(0, 4)], [2, 1, 0, 0]);
    assert.ok(Math.abs(macroF1FromConfusion(counts, 4) - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12);
    assert.ok(Math.abs(macroF1(truth, predicted, 4) - 0.655556) < 1e-6);
    assert.equal(accuracy(truth, predicted), 4 / 6);
  });

  test('a class only ever predicted wrongly counts with F1 0', () => {
    assert.equal(macroF1(Int32Array.from([0, 0]), Int32Array.from([0, 1]), 2), (2 / 3 + 0) / 2);
  });

  test('majority-class accuracy uses the training split’s most frequent class', () => {
    assert.equal(majorityAccuracy(Int32Array.from([1, 1, 0]), Int32Array.from([0, 1, 1, 1]), 2), 0.75);
  });
});

describe('features and pooling helpers', () => {
  test('row selection keeps sparse and dense rows in the asked order', () => {
    const sparse = randomSparse(5, 4, 9);
    const picked = sparseToDense(selectRows(sparse, [3, 0]) as SparseMatrix);
    const dense = selectRows(sparseToDense(sparse), [3, 0]);
    assert.deepEqual([...picked.data], [...(dense.kind === 'dense' ? dense.data : [])]);
  });

  test('standardising centres and scales each training column; constant columns stay finite', () => {
    const m = denseMatrix(3, 2, Float32Array.from([1, 5, 2, 5, 3, 5]));
    const z = applyStandardizer(m, fitStandardizer(m));
    assert.deepEqual([...z.data].map((v) => Number(v.toFixed(4))), [-1.2247, 0, 0, 0, 1.2247, 0]);
  });

  test('mean pooling covers the real tokens of a left-padded row, BOS excluded', () => {
    // Two rows of width 4, hidden 2: row 0 is [pad, BOS, t1, t2], row 1 is [BOS, t1, t2, t3].
    const states = Float32Array.from([9, 9, 100, 100, 1, 2, 3, 4, /* row 1 */ 100, 100, 2, 2, 4, 4, 6, 6]);
    assert.deepEqual(poolRange(Uint8Array.from([0, 1, 1, 1]), 4, true), [2, 4]);
    assert.deepEqual(poolRange(Uint8Array.from([0, 1, 1, 1]), 4, false), [1, 4]);
    assert.deepEqual(poolRange(Uint8Array.from([0, 0, 0, 1]), 4, true), [3, 4], 'a lone BOS is kept');
    const out = new Float32Array(4);
    meanPool(states, 0, 4, 2, 2, 4, out, 0);
    meanPool(states, 1, 4, 2, 1, 4, out, 2);
    assert.deepEqual([...out], [2, 3, 4, 4]);
  });

  test('a framed text is pooled over its own tokens, after the padding and the frame', () => {
    // Width 6: two pads, a three-token frame, one text token; and a row with no padding.
    assert.deepEqual(framedRange(Uint8Array.from([0, 0, 1, 1, 1, 1]), 6, 3), [5, 6]);
    assert.deepEqual(framedRange(Uint8Array.from([1, 1, 1, 1, 1, 1]), 6, 3), [3, 6]);
    assert.deepEqual(framedRange(Uint8Array.from([0, 0, 0, 1, 1, 1]), 6, 3), [5, 6], 'a text cut to nothing keeps the last position');
    assert.throws(() => framedRange(new Uint8Array(3), 3, 1), /without real tokens/);
  });

  test('subsamples are deterministic, sorted and without repeats', () => {
    const a = subsample(100, 10, 3);
    assert.deepEqual(a, subsample(100, 10, 3));
    assert.equal(new Set(a).size, 10);
    assert.deepEqual(a, [...a].sort((x, y) => x - y));
    assert.notDeepEqual(a, subsample(100, 10, 4));
    assert.equal(subsample(5, 10, 1).length, 5);
  });
});

describe('paired comparison with the text baselines', () => {
  const gold = (id: string, labels: string[]): { id: string; gold: string[] } => ({ id, gold: labels });
  const baselines = [
    { dataset: 'wordnet', ...gold('a', ['x', 'x1']), tfidf: ['x', 'x2'], bow: ['y'] },
    { dataset: 'wordnet', ...gold('b', ['y', 'y1']), tfidf: ['y', 'y1'], bow: ['y'] },
    { dataset: 'wordnet', ...gold('c', ['x', 'x2']), tfidf: ['y', 'y1'], bow: ['x'] },
  ];
  const path = (labels: string[]): { labels: string[]; probabilities: number[] } => ({ labels, probabilities: labels.map(() => 1) });
  // In another order than the baselines' file: pairing goes by id.
  const heads = [
    { ...gold('c', ['x', 'x2']), hdlm: path(['x', 'x2']), flat: path(['y', 'y1']) },
    { ...gold('a', ['x', 'x1']), hdlm: path(['x', 'x1']), flat: path(['x', 'x1']) },
    { ...gold('b', ['y', 'y1']), hdlm: path(['x', 'x1']), flat: path(['y', 'y1']) },
  ];
  const files = { baselines: 'b.jsonl', heads: 'h.jsonl' };

  test('counts, per level, the examples only one side gets right', () => {
    const comparisons = comparePredictions(pairPredictions(baselines, heads, files));
    const find = (variant: string, baseline: string, level: number) => comparisons.find((c) => c.variant === variant && c.baseline === baseline && c.level === level)!;
    // Level 1, HdLM right on a, c; TF-IDF right on a, b: c is HdLM's alone, b TF-IDF's alone.
    const l1 = find('hdlm', 'tfidf', 1);
    assert.deepEqual([l1.difference.aOnly, l1.difference.bOnly], [1, 1]);
    assert.deepEqual(l1.accuracy, { variant: 2 / 3, baseline: 2 / 3 });
    // Level 2, HdLM right on a, c; TF-IDF on b only.
    const l2 = find('hdlm', 'tfidf', 2);
    assert.deepEqual([l2.difference.aOnly, l2.difference.bOnly], [2, 1]);
    // Bag-of-words has level 1 only; flat is right on a, b, bag-of-words on b, c.
    assert.equal(comparisons.filter((c) => c.baseline === 'bow').length, 2);
    const bow = find('flat', 'bow', 1);
    assert.deepEqual([bow.difference.aOnly, bow.difference.bOnly], [1, 1]);
  });

  test('refuses files of different test sets, or whose gold labels disagree', () => {
    assert.throws(() => pairPredictions(baselines.slice(1), heads, files), /b\.jsonl has 2 test items, h\.jsonl 3/);
    const renamed = [{ ...baselines[0]!, id: 'z' }, ...baselines.slice(1)];
    assert.throws(() => pairPredictions(renamed, heads, files), /example a is not in b\.jsonl/);
    const regold = [{ ...baselines[0]!, gold: ['x', 'x9'] }, ...baselines.slice(1)];
    assert.throws(() => pairPredictions(regold, heads, files), /example a: gold x \/ x9 in b\.jsonl, x \/ x1 in h\.jsonl/);
  });

  test('a line that is not JSON, or not a prediction, is named by file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdlm-paired-'));
    const file = join(dir, 'p.jsonl');
    writeFileSync(file, `${JSON.stringify(baselines[0])}\n{oops\n`);
    assert.throws(() => readLines(file, isBaseline), /p\.jsonl:2: not JSON/);
    writeFileSync(file, `${JSON.stringify(baselines[0])}\n\n${JSON.stringify(heads[0])}\n`);
    assert.throws(() => readLines(file, isBaseline), /p\.jsonl:3: not a prediction line/);
    rmSync(dir, { recursive: true, force: true });
  });
});
