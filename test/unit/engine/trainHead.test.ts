// The head training graph against a plain-JavaScript float64 reference: the loss, every
// parameter's gradient (also against central finite differences of the reference loss), and three
// AdamW steps. The reference forms W = W0 + A·B and the one-hot matrix explicitly, a different
// route from the graph's, so a derivation error in either shows up as a mismatch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float32Tensor, int64Tensor, Session, Tensor } from '../../../engine/src/runtime/ort';
import { AdamWIO } from '../../../engine/src/train/adamWGraph';
import {
  buildHeadEvalGraph,
  buildHeadTrainingGraph,
  HeadParamInfo,
  HeadParamName,
  headParams,
  HeadTrainingSpec,
  paramIO,
  SubsetScatter,
  TrainIO,
} from '../../../engine/src/train/headTrainingGraph';
import { TrainRandom } from '../../../engine/src/train/random';
import { TEST_PROVIDER } from '../../support/testDevice';

const N = 7;
const H = 8;
const V = 11;
const R = 3;
const SUBSET = [9, 2, 5, 0, 7];

interface Variant {
  label: string;
  norm: boolean;
  bias: boolean;
  subset: boolean;
  lowRank: boolean;
}

/** One batch and head in float32 values; the reference reads the same numbers in float64. */
interface Case {
  spec: HeadTrainingSpec;
  x: Float32Array; // [N, H]
  targets: number[]; // [N]
  weights: Float32Array; // [N]
  subset: number[] | undefined; // [K]
  base: Float32Array | undefined; // [V, H]
  params: Map<HeadParamName, Float32Array>;
}

function makeCase(v: Variant, seed: number, scatter: SubsetScatter = 'scatterNd'): Case {
  const rng = new TrainRandom(seed);
  const spec: HeadTrainingSpec = {
    hiddenSize: H,
    vocabSize: V,
    normEps: v.norm ? 1e-5 : undefined,
    bias: v.bias,
    lowRank: v.lowRank ? R : undefined,
    vocabSubset: v.subset,
    subsetScatter: scatter,
    debugGradients: true,
  };
  const random = (size: number, scale: number, offset = 0) => Float32Array.from({ length: size }, () => offset + rng.uniform(scale));
  const classes = v.subset ? SUBSET.length : V;
  const params = new Map<HeadParamName, Float32Array>();
  for (const p of headParams(spec)) params.set(p.name, random(size(p), p.name === 'norm_weight' ? 0.4 : 0.6, p.name === 'norm_weight' ? 1 : 0));
  // Uneven weights, and one padding row (weight 0) that must contribute nothing.
  const weights = Float32Array.from({ length: N }, (_, i) => (i === 3 ? 0 : 0.5 + ((i * 7) % 5) * 0.25));
  return {
    spec,
    x: random(N * H, 1.5),
    targets: Array.from({ length: N }, () => Math.floor(rng.next() * classes)),
    weights,
    subset: v.subset ? SUBSET : undefined,
    base: v.lowRank ? random(V * H, 0.6) : undefined,
    params,
  };
}

function size(p: HeadParamInfo): number {
  return p.dims.reduce((a, b) => a * b, 1);
}

// ---- float64 reference ------------------------------------------------------------------------

interface RefResult {
  loss: number;
  correct: number;
  predictions: number[]; // [N] first index of the largest logit
  grads: Map<HeadParamName, Float64Array>;
}

/** The head's full weight W_eff [V, H] in float64. */
function effectiveWeight(c: Case, params: Map<HeadParamName, Float64Array>): Float64Array {
  if (!c.spec.lowRank) return params.get('weight')!;
  const a = params.get('lora_a')!;
  const b = params.get('lora_b')!;
  const w = Float64Array.from(c.base!);
  for (let v = 0; v < V; v++) for (let j = 0; j < R; j++) for (let h = 0; h < H; h++) w[v * H + h] += a[v * R + j]! * b[j * H + h]!;
  return w;
}

function reference(c: Case, params: Map<HeadParamName, Float64Array>, withGrads = true): RefResult {
  const rows = c.subset ?? Array.from({ length: V }, (_, i) => i);
  const K = rows.length;
  const w = effectiveWeight(c, params);
  const gain = params.get('norm_weight');
  const bias = params.get('bias');
  const dW = new Float64Array(V * H);
  const db = new Float64Array(V);
  const dg = new Float64Array(H);
  const totalWeight = c.weights.reduce((a, b) => a + b, 0);
  let loss = 0;
  let correct = 0;
  const predictions: number[] = [];
  for (let n = 0; n < c.targets.length; n++) {
    const x = Array.from(c.x.subarray(n * H, (n + 1) * H));
    const inv = c.spec.normEps === undefined ? 1 : 1 / Math.sqrt(x.reduce((s, e) => s + e * e, 0) / H + c.spec.normEps);
    const xhat = x.map((e) => e * inv);
    const z = gain ? xhat.map((e, h) => e * gain[h]!) : xhat;
    const logits = rows.map((row) => z.reduce((s, e, h) => s + e * w[row * H + h]!, bias ? bias[row]! : 0));
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
    const cn = c.weights[n]! / totalWeight;
    loss += cn * (lse - logits[c.targets[n]!]!);
    predictions.push(logits.indexOf(max));
    if (c.weights[n]! > 0 && logits.indexOf(max) === c.targets[n]) correct++;
    if (!withGrads) continue;
    const dz = new Float64Array(H);
    for (let k = 0; k < K; k++) {
      const d = cn * (Math.exp(logits[k]! - lse) - (k === c.targets[n] ? 1 : 0));
      const row = rows[k]!;
      db[row] += d;
      for (let h = 0; h < H; h++) {
        dW[row * H + h] += d * z[h]!;
        dz[h] += d * w[row * H + h]!;
      }
    }
    for (let h = 0; h < H; h++) dg[h] += dz[h]! * xhat[h]!;
  }
  const grads = new Map<HeadParamName, Float64Array>();
  if (withGrads) {
    if (c.spec.lowRank) chainLowRank(dW, params, grads);
    else grads.set('weight', dW);
    if (bias) grads.set('bias', db);
    if (gain) grads.set('norm_weight', dg);
  }
  return { loss, correct, predictions, grads };
}

/** dA = dW·Bᵀ and dB = Aᵀ·dW from the materialised dW [V, H]. */
function chainLowRank(dW: Float64Array, params: Map<HeadParamName, Float64Array>, grads: Map<HeadParamName, Float64Array>): void {
  const a = params.get('lora_a')!;
  const b = params.get('lora_b')!;
  const dA = new Float64Array(V * R);
  const dB = new Float64Array(R * H);
  for (let v = 0; v < V; v++) {
    for (let j = 0; j < R; j++) {
      for (let h = 0; h < H; h++) {
        dA[v * R + j] += dW[v * H + h]! * b[j * H + h]!;
        dB[j * H + h] += a[v * R + j]! * dW[v * H + h]!;
      }
    }
  }
  grads.set('lora_a', dA);
  grads.set('lora_b', dB);
}

function as64(params: Map<HeadParamName, Float32Array>): Map<HeadParamName, Float64Array> {
  return new Map([...params].map(([k, v]) => [k, Float64Array.from(v)]));
}

/** Central differences of the reference loss in float64 at a few coordinates of one parameter. */
function finiteDifferences(c: Case, name: HeadParamName, coords: number[]): number[] {
  const h = 1e-6;
  return coords.map((i) => {
    const plus = as64(c.params);
    const minus = as64(c.params);
    plus.get(name)![i] += h;
    minus.get(name)![i] -= h;
    return (reference(c, plus, false).loss - reference(c, minus, false).loss) / (2 * h);
  });
}

// ---- running the graph -----------------------------------------------------------------------

interface Adam {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

function feeds(c: Case, params: Map<HeadParamName, Float32Array>, moments: Map<string, Float32Array>, t: number, adam: Adam): Record<string, Tensor> {
  const scalar = (x: number) => float32Tensor(new Float32Array([x]), []);
  const rows = c.targets.length;
  const f: Record<string, Tensor> = {
    [TrainIO.x]: float32Tensor(c.x, [rows, H]),
    [TrainIO.targets]: int64Tensor(BigInt64Array.from(c.targets, BigInt), [rows]),
    [TrainIO.weights]: float32Tensor(c.weights, [rows]),
    [AdamWIO.step]: scalar(t),
    [AdamWIO.lr]: scalar(adam.lr),
    [AdamWIO.beta1]: scalar(adam.beta1),
    [AdamWIO.beta2]: scalar(adam.beta2),
    [AdamWIO.eps]: scalar(adam.eps),
    [AdamWIO.weightDecay]: scalar(adam.weightDecay),
  };
  if (c.subset) f[TrainIO.vocabSubset] = int64Tensor(BigInt64Array.from(c.subset, BigInt), [c.subset.length]);
  if (c.base) f[TrainIO.baseWeight] = float32Tensor(c.base, [V, H]);
  for (const p of headParams(c.spec)) {
    const io = paramIO(p.name);
    f[p.name] = float32Tensor(params.get(p.name)!, p.dims);
    f[io.m] = float32Tensor(moments.get(io.m) ?? new Float32Array(size(p)), p.dims);
    f[io.v] = float32Tensor(moments.get(io.v) ?? new Float32Array(size(p)), p.dims);
  }
  return f;
}

async function withSession<T>(spec: HeadTrainingSpec, body: (s: Session) => Promise<T>): Promise<T> {
  const session = await Session.create(buildHeadTrainingGraph(spec), { provider: TEST_PROVIDER, threads: 1 });
  try {
    return await body(session);
  } finally {
    await session.release();
  }
}

/** The evaluation graph's outputs (loss, correct, prediction) for a case. */
async function runEval(c: Case): Promise<Record<string, Tensor>> {
  const session = await Session.create(buildHeadEvalGraph(c.spec), { provider: TEST_PROVIDER, threads: 1 });
  try {
    const all = feeds(c, c.params, new Map(), 1, NO_UPDATE);
    return await session.run(Object.fromEntries(session.inputNames.map((name) => [name, all[name]!])));
  } finally {
    await session.release();
  }
}

function predictionsOf(out: Record<string, Tensor>): number[] {
  return Array.from(out[TrainIO.prediction]!.data as BigInt64Array, Number);
}

const NO_UPDATE: Adam = { lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

function f32(t: Tensor): Float32Array {
  return t.data as Float32Array;
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / Math.max(norm, 1e-300));
}

// ---- gradients -------------------------------------------------------------------------------

const VARIANTS: Variant[] = [
  { label: 'plain linear', norm: false, bias: false, subset: false, lowRank: false },
  { label: 'norm', norm: true, bias: false, subset: false, lowRank: false },
  { label: 'bias', norm: false, bias: true, subset: false, lowRank: false },
  { label: 'norm + bias', norm: true, bias: true, subset: false, lowRank: false },
  { label: 'vocab subset (norm + bias)', norm: true, bias: true, subset: true, lowRank: false },
  { label: 'low rank (norm + bias)', norm: true, bias: true, subset: false, lowRank: true },
  { label: 'low rank + vocab subset', norm: true, bias: true, subset: true, lowRank: true },
];

for (const variant of VARIANTS) {
  test(`gradients of ${variant.label} match the float64 reference and finite differences`, async () => {
    const c = makeCase(variant, 17 + VARIANTS.indexOf(variant));
    const ref = reference(c, as64(c.params));
    const out = await withSession(c.spec, (s) => s.run(feeds(c, c.params, new Map(), 1, NO_UPDATE)));
    assert.ok(Math.abs(f32(out[TrainIO.loss]!)[0]! - ref.loss) < 1e-5 * Math.max(1, ref.loss), `loss ${f32(out[TrainIO.loss]!)[0]} vs ${ref.loss}`);
    assert.equal(f32(out[TrainIO.correct]!)[0], ref.correct);
    for (const p of headParams(c.spec)) {
      const graph = f32(out[paramIO(p.name).grad]!);
      const expected = ref.grads.get(p.name)!;
      assert.ok(expected.some((g) => Math.abs(g) > 1e-3), `${p.name}: the reference gradient is not trivially zero`);
      const err = relativeError(graph, expected);
      assert.ok(err < 1e-4, `${p.name}: graph vs reference relative error ${err}`);
      // Six coordinates with a non-zero gradient, spread over the tensor, against finite differences.
      const live = [...expected.keys()].filter((i) => Math.abs(expected[i]!) > 1e-6);
      const coords = Array.from({ length: 6 }, (_, i) => live[Math.floor(((i + 0.5) * live.length) / 6)]!);
      const fd = finiteDifferences(c, p.name, coords);
      const fdErr = relativeError(coords.map((i) => graph[i]!), fd);
      assert.ok(fdErr < 1e-4, `${p.name}: graph vs finite differences relative error ${fdErr}`);
      const refErr = relativeError(coords.map((i) => expected[i]!), fd);
      assert.ok(refErr < 1e-6, `${p.name}: reference vs finite differences relative error ${refErr}`);
    }
    // With lr 0 and no decay the parameters come back unchanged.
    for (const p of headParams(c.spec)) assert.deepEqual(f32(out[paramIO(p.name).next]!), c.params.get(p.name));
  });
}

test('the evaluation graph gives the reference loss, accuracy count and argmax', async () => {
  for (const variant of [VARIANTS[3]!, VARIANTS[6]!]) {
    const c = makeCase(variant, 41);
    // Targets set to the reference's own predictions on some rows, so the count is not trivially 0.
    const first = reference(c, as64(c.params), false);
    c.targets = c.targets.map((t, n) => (n % 2 === 0 ? first.predictions[n]! : t));
    const ref = reference(c, as64(c.params), false);
    const out = await runEval(c);
    assert.ok(Math.abs(f32(out[TrainIO.loss]!)[0]! - ref.loss) < 1e-5 * Math.max(1, ref.loss));
    assert.equal(f32(out[TrainIO.correct]!)[0], ref.correct);
    assert.ok(ref.correct >= 3, `${ref.correct} hits`);
    assert.deepEqual(predictionsOf(out), ref.predictions);
  }
});

test('a vocabulary subset leaves the gradient of every other row exactly zero', async () => {
  const c = makeCase({ label: '', norm: true, bias: true, subset: true, lowRank: false }, 5);
  const out = await withSession(c.spec, (s) => s.run(feeds(c, c.params, new Map(), 1, NO_UPDATE)));
  const dW = f32(out[paramIO('weight').grad]!);
  const db = f32(out[paramIO('bias').grad]!);
  for (let v = 0; v < V; v++) {
    const rowNorm = dW.subarray(v * H, (v + 1) * H).reduce((s, g) => s + Math.abs(g), 0);
    if (SUBSET.includes(v)) assert.ok(rowNorm > 0, `row ${v} is in the subset and gets a gradient`);
    else assert.equal(rowNorm + Math.abs(db[v]!), 0, `row ${v} is outside the subset`);
  }
});

// ---- padding rows --------------------------------------------------------------------------------

test('rows with weight 0 change nothing: loss, accuracy count and updated parameters', async () => {
  const c = makeCase({ label: '', norm: true, bias: true, subset: false, lowRank: false }, 9);
  const live = [0, 1, 2, 4, 5, 6];
  const compact: Case = {
    ...c,
    x: Float32Array.from(live.flatMap((n) => Array.from(c.x.subarray(n * H, (n + 1) * H)))),
    targets: live.map((n) => c.targets[n]!),
    weights: Float32Array.from(live.map((n) => c.weights[n]!)),
  };
  const adam: Adam = { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
  // The padding row repeats row 0's x with row 0's predicted class as its target: were
  // weight-0 rows counted, the accuracy count (and the gradients) would differ.
  const padded: Case = { ...c, x: c.x.slice(), targets: [...c.targets] };
  padded.x.set(c.x.subarray(0, H), 3 * H);
  padded.targets[3] = predictionsOf(await runEval(compact))[0]!;
  const [a, b] = await withSession(c.spec, async (s) => [
    await s.run(feeds(padded, c.params, new Map(), 1, adam)),
    await s.run(feeds(compact, c.params, new Map(), 1, adam)),
  ]);
  assert.ok(Math.abs(f32(a[TrainIO.loss]!)[0]! - f32(b[TrainIO.loss]!)[0]!) < 1e-6);
  assert.equal(f32(a[TrainIO.correct]!)[0], f32(b[TrainIO.correct]!)[0]);
  for (const p of headParams(c.spec)) {
    for (const name of [paramIO(p.name).next, paramIO(p.name).mNext, paramIO(p.name).vNext]) {
      assert.ok(relativeError(f32(a[name]!), f32(b[name]!)) < 1e-6, `${name} differs with a padding row`);
    }
  }
});

test('a batch of only padding rows gives loss 0 and zero gradients, not NaN', async () => {
  const c = makeCase({ label: '', norm: true, bias: true, subset: false, lowRank: false }, 3);
  c.weights.fill(0);
  const out = await withSession(c.spec, (s) => s.run(feeds(c, c.params, new Map(), 1, NO_UPDATE)));
  // === rather than assert.equal: WebGPU's sum of no rows is −0, which is a zero loss too.
  assert.ok(f32(out[TrainIO.loss]!)[0] === 0, `loss ${f32(out[TrainIO.loss]!)[0]}`);
  assert.ok(f32(out[TrainIO.correct]!)[0] === 0);
  for (const p of headParams(c.spec)) assert.ok(f32(out[paramIO(p.name).grad]!).every((g) => g === 0), p.name);
});

// ---- AdamW ---------------------------------------------------------------------------------------

/** torch.optim.AdamW in float64, on float32-rounded hyperparameters (what the graph is fed). */
function adamWReference(p: Float64Array, m: Float64Array, v: Float64Array, g: ArrayLike<number>, t: number, adam: Adam, decay: boolean): void {
  const [lr, b1, b2, eps, wd] = [adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weightDecay].map(Math.fround) as [number, number, number, number, number];
  const stepSize = lr / (1 - b1 ** t);
  const sqrtCorrection2 = Math.sqrt(1 - b2 ** t);
  for (let i = 0; i < p.length; i++) {
    if (decay) p[i] *= 1 - lr * wd;
    m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
    v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
    p[i] -= (stepSize * m[i]!) / (Math.sqrt(v[i]!) / sqrtCorrection2 + eps);
  }
}

/**
 * Three steps of the graph; after each, the reference AdamW takes the graph's own gradients and
 * must land on the graph's parameters and moments. Returns the graph's final state.
 */
async function threeAdamWSteps(c: Case, adam: Adam): Promise<Map<string, Float32Array>> {
  const specParams = headParams(c.spec);
  const ref = new Map<string, Float64Array>();
  for (const p of specParams) {
    ref.set(p.name, Float64Array.from(c.params.get(p.name)!));
    ref.set(paramIO(p.name).m, new Float64Array(size(p)));
    ref.set(paramIO(p.name).v, new Float64Array(size(p)));
  }
  let params = new Map(c.params);
  let moments = new Map<string, Float32Array>();
  return withSession(c.spec, async (s) => {
    for (let t = 1; t <= 3; t++) {
      const out = await s.run(feeds(c, params, moments, t, adam));
      params = new Map();
      moments = new Map();
      for (const p of specParams) {
        const io = paramIO(p.name);
        adamWStepOn(ref, p, f32(out[io.grad]!), t, adam, c.subset);
        params.set(p.name, f32(out[io.next]!));
        moments.set(io.m, f32(out[io.mNext]!));
        moments.set(io.v, f32(out[io.vNext]!));
        for (const [name, graph] of [[p.name, out[io.next]!], [io.m, out[io.mNext]!], [io.v, out[io.vNext]!]] as const) {
          const expected = ref.get(name)!;
          const worst = f32(graph).reduce((w, x, i) => Math.max(w, Math.abs(x - expected[i]!)), 0);
          assert.ok(worst < 1e-6, `step ${t} ${name}: largest difference ${worst}`);
        }
      }
    }
    return new Map([...params, ...moments]);
  });
}

/** One reference step; with a subset, vocabulary-indexed rows outside it are left alone (lazy semantics). */
function adamWStepOn(ref: Map<string, Float64Array>, p: HeadParamInfo, grad: Float32Array, t: number, adam: Adam, subset: number[] | undefined): void {
  const io = paramIO(p.name);
  const [param, m, v] = [ref.get(p.name)!, ref.get(io.m)!, ref.get(io.v)!];
  if (!subset || !p.vocabRows) {
    adamWReference(param, m, v, grad, t, adam, p.decay);
    return;
  }
  const width = size(p) / V;
  for (const row of subset) {
    const span = (a: Float64Array) => a.subarray(row * width, (row + 1) * width);
    adamWReference(span(param), span(m), span(v), grad.subarray(row * width, (row + 1) * width), t, adam, p.decay);
  }
}

const ADAM: Adam = { lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };

test('AdamW in the graph matches a JavaScript AdamW for 3 steps (decay on W only)', async () => {
  const c = makeCase({ label: '', norm: true, bias: true, subset: false, lowRank: false }, 21);
  const final = await threeAdamWSteps(c, ADAM);
  // Moved by about lr per step: the update did happen and is not swamped by the tolerance.
  const moved = relativeError(final.get('weight')!, c.params.get('weight')!);
  assert.ok(moved > 0.05, `weight moved by ${moved}`);
});

test('AdamW on a low-rank delta decays A and B, not the norm or bias', async () => {
  const c = makeCase({ label: '', norm: true, bias: true, subset: false, lowRank: true }, 22);
  await threeAdamWSteps(c, ADAM);
});

for (const scatter of ['scatterNd', 'oneHotMatMul'] as const) {
  test(`AdamW with a vocabulary subset (${scatter}) updates only the subset's rows`, async () => {
    const c = makeCase({ label: '', norm: true, bias: true, subset: true, lowRank: false }, 23, scatter);
    const final = await threeAdamWSteps(c, ADAM);
    const before = c.params.get('weight')!;
    const after = final.get('weight')!;
    for (let v = 0; v < V; v++) {
      const same = after.subarray(v * H, (v + 1) * H).every((x, h) => x === before[v * H + h]);
      assert.equal(same, !SUBSET.includes(v), `row ${v}`);
      if (!SUBSET.includes(v)) assert.ok(final.get(paramIO('weight').m)!.subarray(v * H, (v + 1) * H).every((x) => x === 0));
    }
  });
}

test('both subset scatter methods give the same parameters', async () => {
  const variant = { label: '', norm: false, bias: true, subset: true, lowRank: true };
  const [a, b] = [makeCase(variant, 31, 'scatterNd'), makeCase(variant, 31, 'oneHotMatMul')];
  const [fa, fb] = [await threeAdamWSteps(a, ADAM), await threeAdamWSteps(b, ADAM)];
  for (const [name, value] of fa) assert.ok(relativeError(fb.get(name)!, value) < 1e-6, name);
});

test('without the debug flag the graph has no gradient outputs', async () => {
  const c = makeCase({ label: '', norm: true, bias: false, subset: false, lowRank: false }, 1);
  await withSession({ ...c.spec, debugGradients: false }, async (s) => {
    assert.deepEqual(s.outputNames.filter((n) => n.endsWith('.grad')), []);
    assert.ok(s.outputNames.includes('weight.next') && s.outputNames.includes('norm_weight.v.next'));
  });
});
