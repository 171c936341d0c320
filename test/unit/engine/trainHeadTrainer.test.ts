// The head trainer on onnxruntime-node: it learns a separable problem, a seed fixes the run,
// resuming from a snapshot continues bit for bit, evaluation agrees with its own predictions,
// and bad input is refused with a message that names it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError } from '../../../engine/src/model/segmentedModel';
import { FeatureSet, HeadTrainer, HeadTrainerOptions, mergeLowRank, TrainProgress } from '../../../engine/src/train/headTrainer';
import { TrainRandom } from '../../../engine/src/train/random';
import { TEST_PROVIDER } from '../../support/testDevice';

const H = 32;
const V = 40;
const LABELS = [3, 17, 21, 30, 8, 39]; // vocabulary rows of the label tokens

/**
 * Gaussian clusters around one random centre per class, scaled up so an RMS norm sees rows of
 * clearly different directions. Targets are class indices 0..classes−1.
 */
function clusters(classes: number, n: number, seed: number): FeatureSet & { targets: Int32Array } {
  const rng = new TrainRandom(seed);
  const centres = Float32Array.from({ length: classes * H }, () => rng.uniform(1));
  const x = new Float32Array(n * H);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(rng.next() * classes);
    targets[i] = label;
    for (let h = 0; h < H; h++) x[i * H + h] = 3 * (centres[label * H + h]! + rng.uniform(0.6));
  }
  return { x, targets };
}

/** A starting head that knows nothing: small random rows, as a copied model head would be for new labels. */
function randomHead(seed: number): Float32Array {
  const rng = new TrainRandom(seed);
  return Float32Array.from({ length: V * H }, () => rng.uniform(0.05));
}

function options(overrides: Partial<HeadTrainerOptions> = {}): HeadTrainerOptions {
  return {
    hiddenSize: H,
    vocabSize: V,
    normEps: 1e-5,
    bias: true,
    vocabSubset: LABELS,
    init: { weight: randomHead(1) },
    optimizer: { lr: 0.01 },
    batchSize: 32,
    seed: 7,
    threads: 1,
    provider: TEST_PROVIDER,
    ...overrides,
  };
}

async function withTrainer<T>(o: HeadTrainerOptions, body: (t: HeadTrainer) => Promise<T>): Promise<T> {
  const trainer = await HeadTrainer.create(o);
  try {
    return await body(trainer);
  } finally {
    await trainer.release();
  }
}

const train = clusters(LABELS.length, 600, 11);
// Same centres (same seed stream start), fresh noise: the dev set continues the generator.
const dev = (() => {
  const both = clusters(LABELS.length, 900, 11);
  return { x: both.x.slice(600 * H), targets: both.targets.slice(600) };
})();

for (const [label, extra] of [
  ['a full head over a label subset', {}],
  ['a low-rank delta (r = 4) over a label subset', { lowRank: 4, optimizer: { lr: 0.03 } }],
  ['a full head over the whole vocabulary (targets are token ids)', { vocabSubset: undefined, normEps: undefined }],
] as const) {
  test(`${label} learns a separable problem to > 95% dev accuracy in 3 epochs`, async () => {
    const o = options(extra);
    const data = o.vocabSubset ? train : { ...train, targets: train.targets.map((t) => LABELS[t]!) };
    const devData = o.vocabSubset ? dev : { ...dev, targets: dev.targets.map((t) => LABELS[t]!) };
    await withTrainer(o, async (trainer) => {
      const before = await trainer.evaluate(devData);
      assert.ok(before.accuracy < 0.6, `untrained accuracy ${before.accuracy} should be low`);
      const epochs = [];
      for (let e = 0; e < 3; e++) epochs.push(await trainer.epoch(data));
      const after = await trainer.evaluate(devData);
      assert.ok(after.accuracy > 0.95, `dev accuracy ${after.accuracy}`);
      assert.ok(after.loss < before.loss / 2, `dev loss ${before.loss} → ${after.loss}`);
      assert.ok(epochs[2]!.loss < epochs[0]!.loss, 'training loss falls');
      assert.equal(trainer.stepCount, 3 * Math.ceil(600 / 32));
    });
  });
}

test('the same seed gives the same parameters; another seed another order', async () => {
  const run = (seed: number) =>
    withTrainer(options({ seed }), async (t) => {
      await t.epoch(train);
      return t.params();
    });
  const [a, b, c] = [await run(5), await run(5), await run(6)];
  assert.deepEqual(a.weight, b.weight);
  assert.deepEqual(a.norm_weight, b.norm_weight);
  assert.notDeepEqual(a.weight, c.weight);
});

test('a snapshot resumes the run bit for bit', async () => {
  const straight = await withTrainer(options({ lowRank: 4 }), async (t) => {
    await t.epoch(train);
    await t.epoch(train);
    return t.params();
  });
  const saved = await withTrainer(options({ lowRank: 4 }), async (t) => {
    await t.epoch(train);
    return t.snapshot();
  });
  const resumed = await withTrainer(options({ lowRank: 4, resume: saved, seed: 999 }), async (t) => {
    assert.equal(t.stepCount, saved.step);
    await t.epoch(train);
    return t.params();
  });
  assert.deepEqual(resumed, straight);
});

test('a subset trained compacted, or in the graph by either scatter method, gives the same head', async () => {
  const run = (subsetMethod: HeadTrainerOptions['subsetMethod']) =>
    withTrainer(options({ subsetMethod, lowRank: 3 }), async (t) => {
      await t.epoch(train);
      return { params: t.params(), merged: t.mergedWeight(), state: t.snapshot() };
    });
  const compact = await run('compact');
  for (const method of ['scatterNd', 'oneHotMatMul'] as const) {
    const other = await run(method);
    for (const [name, value] of Object.entries(compact.state.tensors)) {
      const worst = value.reduce((w, x, i) => Math.max(w, Math.abs(x - other.state.tensors[name]![i]!)), 0);
      assert.ok(worst < 1e-6, `${method} ${name}: largest difference ${worst}`);
    }
  }
  // Full-size outputs: all V rows, and rows outside the subset are still the starting ones.
  assert.equal(compact.params.lora_a!.length, V * 3);
  assert.equal(compact.merged.length, V * H);
  assert.ok(compact.params.lora_a!.subarray(0, 3).every((x) => x === 0));
  assert.ok(compact.params.lora_a!.subarray(LABELS[0]! * 3, LABELS[0]! * 3 + 3).some((x) => x !== 0));
});

test('a snapshot taken compacted resumes in the graph layout (the saved state always has V rows)', async () => {
  const straight = await withTrainer(options({ subsetMethod: 'scatterNd' }), async (t) => {
    await t.epoch(train);
    await t.epoch(train);
    return t.snapshot().tensors;
  });
  const saved = await withTrainer(options(), async (t) => {
    await t.epoch(train);
    return t.snapshot();
  });
  const resumed = await withTrainer(options({ subsetMethod: 'scatterNd', resume: saved }), async (t) => {
    await t.epoch(train);
    return t.snapshot().tensors;
  });
  for (const [name, value] of Object.entries(straight)) {
    const worst = value.reduce((w, x, i) => Math.max(w, Math.abs(x - resumed[name]![i]!)), 0);
    assert.ok(worst < 1e-6, `${name}: largest difference ${worst}`);
  }
});

test('a subset that permutes the whole vocabulary maps rows back to their places', async () => {
  const reversed = Array.from({ length: V }, (_, i) => V - 1 - i);
  const data = { ...train, targets: train.targets.map((t) => V - 1 - LABELS[t]!) };
  const run = (subsetMethod: HeadTrainerOptions['subsetMethod']) =>
    withTrainer(options({ vocabSubset: reversed, subsetMethod }), async (t) => {
      await t.epoch(data);
      return t.params();
    });
  const [compact, graph] = [await run('compact'), await run('scatterNd')];
  const worst = compact.weight!.reduce((w, x, i) => Math.max(w, Math.abs(x - graph.weight![i]!)), 0);
  assert.ok(worst < 1e-6, `largest difference ${worst}`);
});

test('evaluate reports the accuracy of its own predictions, and padding rows do not count', async () => {
  await withTrainer(options(), async (t) => {
    await t.epoch(train);
    const weights = Float32Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 0 : 1));
    // Three rows per chunk boundary check: evaluate in chunks of 64, which 300 does not divide.
    const result = await t.evaluate({ ...dev, weights }, 64);
    let hits = 0;
    let counted = 0;
    result.predictions.forEach((p, i) => {
      if (weights[i]! > 0) {
        counted++;
        if (p === dev.targets[i]) hits++;
      }
    });
    assert.equal(counted, 200);
    assert.ok(Math.abs(result.accuracy - hits / counted) < 1e-12, `${result.accuracy} vs ${hits / counted}`);
    const whole = await t.evaluate(dev, 1024);
    assert.deepEqual(whole.predictions, result.predictions);
  });
});

test('step accepts BigInt64Array and Int32Array targets alike', async () => {
  const batch = { x: train.x.slice(0, 8 * H), targets: train.targets.slice(0, 8) };
  const run = (targets: Int32Array | BigInt64Array) => withTrainer(options(), async (t) => (await t.step({ ...batch, targets })).loss);
  assert.equal(await run(BigInt64Array.from(batch.targets, BigInt)), await run(batch.targets));
});

test('progress reports examples per second and the running loss; an aborted signal cancels', async () => {
  const seen: TrainProgress[] = [];
  await withTrainer(options({ onProgress: (p) => seen.push(p), progressEveryMs: 0 }), async (t) => {
    await t.epoch(train);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(t.epoch(train, controller.signal), CancelledError);
  });
  // One report per step plus the end-of-epoch one.
  assert.equal(seen.length, Math.ceil(600 / 32) + 1);
  const last = seen[seen.length - 1]!;
  assert.equal(last.examples, 600);
  assert.ok(last.examplesPerS > 0 && Number.isFinite(last.loss) && last.loss > 0);
});

test('mergedWeight is W0 + A·B', async () => {
  await withTrainer(options({ lowRank: 2, optimizer: { lr: 0.05 } }), async (t) => {
    await t.epoch(train);
    const { lora_a: a, lora_b: b } = t.params();
    const merged = t.mergedWeight();
    assert.ok(a!.some((x) => x !== 0), 'A has been trained');
    // Rows outside the label subset were never touched, so they are still W0's.
    const w0 = options().init.weight;
    assert.deepEqual(merged.subarray(0, H), w0.subarray(0, H));
    let expected = 0;
    for (let j = 0; j < 2; j++) expected += a![LABELS[0]! * 2 + j]! * b![j * H + 5]!;
    assert.ok(Math.abs(merged[LABELS[0]! * H + 5]! - (w0[LABELS[0]! * H + 5]! + expected)) < 1e-6);
    assert.deepEqual(mergeLowRank(w0, new Float32Array(V * 2), b!, 2, H), w0);
  });
});

test('bad input is refused with a message that names it', async () => {
  await assert.rejects(HeadTrainer.create(options({ vocabSubset: [1, 2, 1] })), /subset row 1 appears twice/);
  await assert.rejects(HeadTrainer.create(options({ vocabSubset: [1, V] })), /subset row 40 is outside/);
  await assert.rejects(HeadTrainer.create(options({ init: { weight: new Float32Array(5) } })), /init.weight \[V, H\] has 5 values/);
  await withTrainer(options(), async (t) => {
    await assert.rejects(t.epoch({ ...train, targets: Int32Array.from(train.targets, (x, i) => (i === 4 ? LABELS.length : x)) }), /target 6 of row 4/);
    await assert.rejects(t.step({ x: new Float32Array(3), targets: new Int32Array(1) }), /x has 3 values/);
  });
});

/** Each row's choices: its target and the next class round, in CSR form (RowChoices). */
function pairChoices(targets: Int32Array, classes: number): { offsets: Int32Array; classes: Int32Array } {
  const offsets = Int32Array.from({ length: targets.length + 1 }, (_, i) => 2 * i);
  const picked = new Int32Array(2 * targets.length);
  targets.forEach((t, i) => {
    picked[2 * i] = (t + 1) % classes;
    picked[2 * i + 1] = t;
  });
  return { offsets, classes: picked };
}

test('with a choice mask each row\'s softmax ranges over its own choices only', async () => {
  const n = 40;
  const data = { x: dev.x.slice(0, n * H), targets: dev.targets.slice(0, n) };
  const choices = pairChoices(data.targets, LABELS.length);
  const init = randomHead(1);
  await withTrainer(options({ choiceMask: true, bias: false, init: { weight: init } }), async (t) => {
    const result = await t.evaluate({ ...data, choices });
    // Reference in JavaScript: RMS norm (gain 1), logits over the label rows, log-softmax over the two choices.
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = data.x.subarray(i * H, (i + 1) * H);
      const rms = Math.sqrt(row.reduce((a, v) => a + v * v, 0) / H + 1e-5);
      const logit = (k: number) => row.reduce((a, v, h) => a + (v / rms) * init[LABELS[k]! * H + h]!, 0);
      const [a, b] = [choices.classes[2 * i]!, choices.classes[2 * i + 1]!];
      const m = Math.max(logit(a), logit(b));
      loss += m + Math.log(Math.exp(logit(a) - m) + Math.exp(logit(b) - m)) - logit(data.targets[i]!);
      assert.ok([a, b].includes(result.predictions[i]!), `row ${i}: prediction ${result.predictions[i]} is not one of its choices`);
    }
    assert.ok(Math.abs(result.loss - loss / n) < 1e-4, `graph ${result.loss} vs reference ${loss / n}`);
  });
  // One row: only its two classes' rows move (no decay, so a class without gradient stays put).
  await withTrainer(options({ choiceMask: true, bias: false, init: { weight: init }, optimizer: { lr: 0.01, weightDecay: 0 } }), async (t) => {
    const one = { x: data.x.slice(0, H), targets: data.targets.slice(0, 1), choices: pairChoices(data.targets.slice(0, 1), LABELS.length) };
    await t.step(one);
    const after = t.params().weight!;
    const moved = LABELS.map((id) => after.subarray(id * H, (id + 1) * H).some((v, h) => v !== init[id * H + h]));
    const expected = LABELS.map((_, k) => k === one.targets[0] || k === (one.targets[0]! + 1) % LABELS.length);
    assert.deepEqual(moved, expected);
  });
});

test('a choice mask refuses rows without choices, and a target outside its row\'s choices', async () => {
  const batch = { x: train.x.slice(0, 4 * H), targets: train.targets.slice(0, 4) };
  await withTrainer(options({ choiceMask: true }), async (t) => {
    await assert.rejects(t.step(batch), /masks each row to its choices, but the rows have none/);
    const wrong = { offsets: Int32Array.from([0, 1, 2, 3, 4]), classes: Int32Array.from(batch.targets, (v) => (v + 1) % LABELS.length) };
    await assert.rejects(t.step({ ...batch, choices: wrong }), /the target \d+ of row 0 is not among its choices/);
  });
  await withTrainer(options(), async (t) => {
    await assert.rejects(t.step({ ...batch, choices: pairChoices(batch.targets, LABELS.length) }), /created without choiceMask/);
  });
});
