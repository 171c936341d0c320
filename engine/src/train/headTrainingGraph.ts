// One optimisation step of a language head as an ONNX graph: forward, hand-derived backward and
// AdamW in one session, so the same code trains on every execution provider and no ORT training
// build is needed. The backbone is frozen: the input is cached hidden states x [N, H].
//
// Forward (norm and bias optional; the vocabulary optionally restricted to K rows S):
//   x̂ = x · rsqrt(mean(x²) + eps)      z = x̂ ⊙ g      logits = z · W[S]ᵀ + b[S]
//   loss = Σ_n w_n · −log softmax(logits_n + m_n)[t_n] / Σ_n w_n
// (m: an optional additive choice mask [N, K], 0 where a row's choices are and −1e9 elsewhere,
// so each row's softmax ranges over its own choices only.)
// Backward (c_n = w_n / Σw; the backbone gets no gradient, so dx is never formed):
//   dlogits = c ⊙ (softmax − onehot(t))  (the mask is additive, so it is the same through it)   dW[S] = dlogitsᵀ · z   db[S] = Σ_n dlogits
//   dz = dlogits · W[S]                   dg = Σ_n dz ⊙ x̂
// (computed without dz: M = dlogitsᵀ·x̂ gives dW = M ⊙ g and dg = Σ_k M ⊙ W[S]; see fullBackward)
// Low rank (W = W0 + A·B, W0 frozen): logits = z·W0ᵀ + (z·Bᵀ)·Aᵀ, and with dW_eff = dlogitsᵀ·z,
//   dA = dW_eff · Bᵀ = dlogitsᵀ · (z·Bᵀ)    dB = Aᵀ · dW_eff = (dlogits·A)ᵀ · z
//   dz = dlogits · W0 + (dlogits·A) · B — the [V, H] product A·B is never materialised.
import { DType, GraphBuilder } from '../onnx/graph';
import { adamWScalars, AdamWScalars, adamWUpdate, declareAdamWInputs } from './adamWGraph';

/**
 * How the gradient of a vocabulary subset reaches the full-size parameters:
 * - 'scatterNd': gather the K rows of parameter and moments, update them, ScatterND them back.
 *   Work is O(K·H) plus the copy of the untouched rows.
 * - 'oneHotMatMul': a dense [V, K] one-hot matmul spreads the gradient over all V rows, then AdamW
 *   runs on all of them and a row mask keeps the other rows as they were. Work is O(V·K·H).
 * Both leave rows outside the subset exactly untouched (no decay, no moment decay): the "lazy"
 * semantics of sparse Adam, which is what training among label tokens means.
 */
export type SubsetScatter = 'scatterNd' | 'oneHotMatMul';

export interface HeadTrainingSpec {
  hiddenSize: number; // H
  vocabSize: number; // V
  /** Epsilon of an RMS norm with a trainable weight g [H] before the linear map; undefined for none. */
  normEps?: number | undefined;
  /** Train a bias b [V]. */
  bias: boolean;
  /** Rank r of a delta W = W0 + A·B (W0 frozen, A [V, r] and B [r, H] trained); undefined trains W. */
  lowRank?: number | undefined;
  /** Logits only over the rows named by the `vocab_subset` input [K]; targets index into it. */
  vocabSubset: boolean;
  /**
   * Default 'scatterNd': 7–10× faster than 'oneHotMatMul' at V=4096, H=256, K=100–128, N=256 on
   * the 2-core CPU (headTrainBench.ts), as its O(K·H) against O(V·K·H) work predicts.
   */
  subsetScatter?: SubsetScatter | undefined;
  /** A `choice_mask` input [N, K] is added to the logits: each row normalises over its own choices. */
  choiceMask?: boolean | undefined;
  /** Also output each parameter's raw gradient as `<param>.grad` (full parameter shape), for tests. */
  debugGradients?: boolean | undefined;
}

export type HeadParamName = 'weight' | 'lora_a' | 'lora_b' | 'bias' | 'norm_weight';

export interface HeadParamInfo {
  name: HeadParamName;
  dims: number[];
  /** Decoupled weight decay applies: the matrices, not the norm weight or the bias. */
  decay: boolean;
  /** Indexed by vocabulary row, so `vocab_subset` restricts which rows are read and updated. */
  vocabRows: boolean;
}

/** Names of the graph's data inputs and of its outputs other than parameters. */
export const TrainIO = {
  x: 'x', // [N, H] float32
  targets: 'targets', // [N] int64: vocabulary ids, or indices into vocab_subset
  weights: 'weights', // [N] float32: per-example loss weight; 0 for padding rows
  choiceMask: 'choice_mask', // [N, K] float32: 0 for a row's allowed classes, CHOICE_MASK_OFF for the rest
  vocabSubset: 'vocab_subset', // [K] int64 vocabulary rows, no repeats
  baseWeight: 'base_weight', // [V, H] frozen W0 of a low-rank delta
  loss: 'loss', // [] weighted mean cross-entropy
  correct: 'correct', // [] rows with weight > 0 whose argmax is the target (training: or tied with it)
  prediction: 'prediction', // [N] int64 argmax, evaluation graph only (an index into vocab_subset when one is given)
} as const;

/**
 * The mask value of a class outside a row's choices: exp underflows to exactly 0 beside any
 * real logit, and unlike −∞ it cannot make a NaN (−∞ − −∞) in a row whose choices are all masked.
 */
export const CHOICE_MASK_OFF = -1e9;

/** Tensor names belonging to one trainable parameter. */
export function paramIO(name: HeadParamName) {
  return {
    value: name,
    m: `${name}.m`,
    v: `${name}.v`,
    next: `${name}.next`,
    mNext: `${name}.m.next`,
    vNext: `${name}.v.next`,
    grad: `${name}.grad`,
  };
}

/** The trainable parameters of a spec, in the graph's input order. */
export function headParams(spec: HeadTrainingSpec): HeadParamInfo[] {
  const { vocabSize: V, hiddenSize: H, lowRank: r } = spec;
  const params: HeadParamInfo[] =
    r === undefined
      ? [{ name: 'weight', dims: [V, H], decay: true, vocabRows: true }]
      : [
          { name: 'lora_a', dims: [V, r], decay: true, vocabRows: true },
          { name: 'lora_b', dims: [r, H], decay: true, vocabRows: false },
        ];
  if (spec.bias) params.push({ name: 'bias', dims: [V], decay: false, vocabRows: true });
  if (spec.normEps !== undefined) params.push({ name: 'norm_weight', dims: [H], decay: false, vocabRows: false });
  return params;
}

/** The training step: data, parameters, moments and AdamW scalars in; loss, metrics and updated state out. */
export function buildHeadTrainingGraph(spec: HeadTrainingSpec): Uint8Array {
  validate(spec);
  const g = new GraphBuilder('head_train_step');
  const params = headParams(spec);
  const data = declareData(g, spec, params);
  for (const p of params) {
    const io = paramIO(p.name);
    g.input({ name: io.m, type: DType.float32, dims: p.dims });
    g.input({ name: io.v, type: DType.float32, dims: p.dims });
  }
  declareAdamWInputs(g);

  const fwd = forward(g, spec, data, true);
  const dlogits = logitsGradient(g, fwd.loss);
  const grads = backward(g, spec, fwd, dlogits);
  const scalars = adamWScalars(g);
  const scatter = new SubsetScatterer(g, spec, data.subset);
  for (const p of params) {
    updateParam(g, scatter, scalars, p, fwd.rows.get(p.name) ?? p.name, grads.get(p.name)!);
    if (spec.debugGradients) scatter.denseGradient(p, grads.get(p.name)!, paramIO(p.name).grad);
  }
  declareOutputs(g, spec, params, true);
  return g.build();
}

/** Forward only (evaluation): data and parameters in; loss, correct count and predictions out. */
export function buildHeadEvalGraph(spec: HeadTrainingSpec): Uint8Array {
  validate(spec);
  const g = new GraphBuilder('head_eval');
  const params = headParams(spec);
  const data = declareData(g, spec, params);
  forward(g, spec, data, false);
  declareOutputs(g, spec, params, false);
  return g.build();
}

function validate(spec: HeadTrainingSpec): void {
  const whole = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n > 0);
  if (!whole(spec.hiddenSize) || !whole(spec.vocabSize) || !whole(spec.lowRank)) {
    throw new Error(`head training: sizes must be positive integers (H=${spec.hiddenSize}, V=${spec.vocabSize}, r=${spec.lowRank})`);
  }
  if (spec.normEps !== undefined && !(spec.normEps > 0)) throw new Error(`head training: norm epsilon ${spec.normEps} must be > 0`);
}

interface DataInputs {
  x: string; // [N, H]
  targets: string; // [N] int64
  weights: string; // [N]
  subset: string | undefined; // [K] int64
  baseWeight: string | undefined; // [V, H]
  choiceMask: string | undefined; // [N, K]
}

function declareData(g: GraphBuilder, spec: HeadTrainingSpec, params: HeadParamInfo[]): DataInputs {
  const { hiddenSize: H, vocabSize: V } = spec;
  const x = g.input({ name: TrainIO.x, type: DType.float32, dims: ['n', H] });
  const targets = g.input({ name: TrainIO.targets, type: DType.int64, dims: ['n'] });
  const weights = g.input({ name: TrainIO.weights, type: DType.float32, dims: ['n'] });
  const subset = spec.vocabSubset ? g.input({ name: TrainIO.vocabSubset, type: DType.int64, dims: ['k'] }) : undefined;
  const baseWeight = spec.lowRank !== undefined ? g.input({ name: TrainIO.baseWeight, type: DType.float32, dims: [V, H] }) : undefined;
  const choiceMask = spec.choiceMask ? g.input({ name: TrainIO.choiceMask, type: DType.float32, dims: ['n', spec.vocabSubset ? 'k' : V] }) : undefined;
  for (const p of params) g.input({ name: p.name, type: DType.float32, dims: p.dims });
  return { x, targets, weights, subset, baseWeight, choiceMask };
}

function declareOutputs(g: GraphBuilder, spec: HeadTrainingSpec, params: HeadParamInfo[], training: boolean): void {
  g.output({ name: TrainIO.loss, type: DType.float32, dims: [] });
  g.output({ name: TrainIO.correct, type: DType.float32, dims: [] });
  if (!training) {
    g.output({ name: TrainIO.prediction, type: DType.int64, dims: ['n'] });
    return;
  }
  for (const p of params) {
    const io = paramIO(p.name);
    for (const name of [io.next, io.mNext, io.vNext]) g.output({ name, type: DType.float32, dims: p.dims });
    if (spec.debugGradients) g.output({ name: io.grad, type: DType.float32, dims: p.dims });
  }
}

interface Forward {
  /** Parameters as the logits see them: the subset's rows of vocabulary-indexed ones. */
  rows: Map<HeadParamName | 'base_weight', string>;
  xhat: string | undefined; // [N, H] normalised x before the gain
  z: string; // [N, H] input of the linear map
  u: string | undefined; // [N, r] z·Bᵀ of a low-rank delta
  logits: string; // [N, K]
  loss: LossParts;
}

interface LossParts {
  logProbs: string; // [N, K]
  targetCol: string; // [N, 1] int64
  c: string; // [N, 1] w_n / Σw
}

function forward(g: GraphBuilder, spec: HeadTrainingSpec, data: DataInputs, training: boolean): Forward {
  const rows = new Map<HeadParamName | 'base_weight', string>();
  const pick = (name: string) => (data.subset ? g.op('Gather', [name, data.subset], { axis: 0 })[0]! : name);
  for (const p of headParams(spec)) rows.set(p.name, p.vocabRows ? pick(p.name) : p.name);
  if (data.baseWeight) rows.set('base_weight', pick(data.baseWeight));

  let xhat: string | undefined;
  let z = data.x;
  if (spec.normEps !== undefined) {
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [data.x, data.x])[0]!], { axes: [-1], keepdims: 1 })[0]!;
    const inverseRms = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [meanSquare, g.scalar(spec.normEps)])[0]!])[0]!])[0]!;
    xhat = g.op('Mul', [data.x, inverseRms])[0]!;
    z = g.op('Mul', [xhat, 'norm_weight'])[0]!;
  }

  // Gemm with transB reads W [K, H] as stored (HF layout), so no transposed copy is made per step.
  const bias = rows.get('bias');
  const withBias = (a: string, b: string, c: string | undefined) => g.op('Gemm', c ? [a, b, c] : [a, b], { transB: 1 })[0]!;
  let logits: string;
  let u: string | undefined;
  if (spec.lowRank === undefined) {
    logits = withBias(z, rows.get('weight')!, bias);
  } else {
    u = g.op('Gemm', [z, 'lora_b'], { transB: 1 })[0]!;
    logits = withBias(u, rows.get('lora_a')!, withBias(z, rows.get('base_weight')!, bias));
  }
  if (data.choiceMask) logits = g.op('Add', [logits, data.choiceMask])[0]!;
  return { rows, xhat, z, u, logits, loss: appendLossAndMetrics(g, logits, data, !training) };
}

/** Weighted mean cross-entropy, correct count and (for evaluation) argmax, as the graph's named outputs. */
function appendLossAndMetrics(g: GraphBuilder, logits: string, data: DataInputs, withPrediction: boolean): LossParts {
  const logProbs = g.op('LogSoftmax', [logits], { axis: 1 })[0]!;
  const targetCol = g.op('Unsqueeze', [data.targets, g.int64([1])])[0]!;
  const picked = g.op('GatherElements', [logProbs, targetCol], { axis: 1 })[0]!;
  const c = normalisedWeights(g, data);
  const weighted = g.op('Mul', [picked, c])[0]!;
  g.op('Neg', [g.op('ReduceSum', [weighted], { keepdims: 0 })[0]!], {}, { outputs: [TrainIO.loss] });

  let hit: string; // [N] or [N, 1], 1 where the target has the largest logit
  if (withPrediction) {
    g.op('ArgMax', [logits], { axis: 1, keepdims: 0 }, { outputs: [TrainIO.prediction] });
    hit = g.op('Equal', [TrainIO.prediction, data.targets])[0]!;
  } else {
    // Training needs only the count; ReduceMax is several times cheaper than ArgMax on ORT's CPU
    // provider. The target's log-probability is one of the row's, so ≥ the maximum means equal.
    const best = g.op('ReduceMax', [logProbs], { axes: [1], keepdims: 1 })[0]!;
    hit = g.op('Squeeze', [g.op('GreaterOrEqual', [picked, best])[0]!, g.int64([1])])[0]!;
  }
  const live = g.op('Greater', [data.weights, g.scalar(0)])[0]!;
  const counted = g.op('Cast', [g.op('And', [hit, live])[0]!], { to: DType.float32 })[0]!;
  g.op('ReduceSum', [counted], { keepdims: 0 }, { outputs: [TrainIO.correct] });
  return { logProbs, targetCol, c };
}

/**
 * c_n = w_n / Σw as a column [N, 1]. The sum is clamped at the smallest normal float so that a
 * batch of only padding rows gives loss 0 and zero gradients instead of NaN.
 */
function normalisedWeights(g: GraphBuilder, data: DataInputs): string {
  const total = g.op('Max', [g.op('ReduceSum', [data.weights], { keepdims: 0 })[0]!, g.scalar(1.1754943508222875e-38)])[0]!;
  return g.op('Unsqueeze', [g.op('Div', [data.weights, total])[0]!, g.int64([1])])[0]!;
}

/** dlogits = c ⊙ (softmax − onehot): c·softmax, then −c added at each row's target (no one-hot matrix). */
function logitsGradient(g: GraphBuilder, { logProbs, targetCol, c }: LossParts): string {
  const scaled = g.op('Mul', [g.op('Exp', [logProbs])[0]!, c])[0]!;
  return g.op('ScatterElements', [scaled, targetCol, g.op('Neg', [c])[0]!], { axis: 1, reduction: 'add' })[0]!;
}

/** Gradients in row space: vocabulary-indexed parameters have K rows when a subset is given. */
function backward(g: GraphBuilder, spec: HeadTrainingSpec, fwd: Forward, dlogits: string): Map<HeadParamName, string> {
  const grads = new Map<HeadParamName, string>();
  if (spec.lowRank === undefined) fullBackward(g, fwd, dlogits, grads);
  else lowRankBackward(g, fwd, dlogits, grads);
  if (spec.bias) grads.set('bias', g.op('ReduceSum', [dlogits, g.int64([0])], { keepdims: 0 })[0]!); // [K]
  return grads;
}

/**
 * dW (and dg). With a norm, one [K, H] product M = dlogitsᵀ·x̂ gives both: z = x̂ ⊙ g, so
 * dW = M ⊙ g, and dg_h = Σ_n dz_nh·x̂_nh = Σ_k W_kh·M_kh. That replaces the second large GEMM
 * (dz = dlogits·W, as costly as the forward one) by two elementwise passes over [K, H].
 */
function fullBackward(g: GraphBuilder, fwd: Forward, dlogits: string, grads: Map<HeadParamName, string>): void {
  if (!fwd.xhat) {
    grads.set('weight', g.op('Gemm', [dlogits, fwd.z], { transA: 1 })[0]!); // [K, H]
    return;
  }
  const m = g.op('Gemm', [dlogits, fwd.xhat], { transA: 1 })[0]!; // [K, H]
  grads.set('weight', g.op('Mul', [m, 'norm_weight'])[0]!);
  const product = g.op('Mul', [m, fwd.rows.get('weight')!])[0]!;
  grads.set('norm_weight', g.op('ReduceSum', [product, g.int64([0])], { keepdims: 0 })[0]!); // [H]
}

/** dA = dlogitsᵀ·u, dB = sᵀ·z with s = dlogits·A, and dz = dlogits·W0 + s·B for the norm. */
function lowRankBackward(g: GraphBuilder, fwd: Forward, dlogits: string, grads: Map<HeadParamName, string>): void {
  grads.set('lora_a', g.op('Gemm', [dlogits, fwd.u!], { transA: 1 })[0]!); // [K, r]
  const s = g.op('MatMul', [dlogits, fwd.rows.get('lora_a')!])[0]!; // [N, r]
  grads.set('lora_b', g.op('Gemm', [s, fwd.z], { transA: 1 })[0]!); // [r, H]
  if (!fwd.xhat) return;
  const dz = g.op('Gemm', [s, 'lora_b', g.op('MatMul', [dlogits, fwd.rows.get('base_weight')!])[0]!])[0]!; // [N, H]
  grads.set('norm_weight', g.op('ReduceSum', [g.op('Mul', [dz, fwd.xhat])[0]!, g.int64([0])], { keepdims: 0 })[0]!); // [H]
}

function updateParam(g: GraphBuilder, scatter: SubsetScatterer, s: AdamWScalars, p: HeadParamInfo, rows: string, grad: string): void {
  const io = paramIO(p.name);
  const names = { param: io.next, m: io.mNext, v: io.vNext };
  const full = { param: p.name, m: io.m, v: io.v };
  if (!scatter.applies(p)) {
    adamWUpdate(g, s, full, grad, p.decay, names);
  } else if (scatter.method === 'scatterNd') {
    const updated = adamWUpdate(g, s, { param: rows, m: scatter.gather(io.m), v: scatter.gather(io.v) }, grad, p.decay);
    for (const key of ['param', 'm', 'v'] as const) scatter.scatterRows(full[key], updated[key], names[key]);
  } else {
    const updated = adamWUpdate(g, s, full, scatter.spread(p, grad), p.decay);
    for (const key of ['param', 'm', 'v'] as const) scatter.keepOtherRows(p, full[key], updated[key], names[key]);
  }
}

/** Moves rows between a vocabulary subset [K] and full-size [V, ...] parameters. */
class SubsetScatterer {
  readonly method: SubsetScatter;
  private readonly indices: string | undefined; // [K, 1] int64, ScatterND's index layout
  private selection: string | undefined; // [K, V] float32 one-hot, built on first use
  private rowMask: string | undefined; // [V] bool, built on first use

  constructor(
    private readonly g: GraphBuilder,
    private readonly spec: HeadTrainingSpec,
    private readonly subset: string | undefined,
  ) {
    this.method = spec.subsetScatter ?? 'scatterNd';
    this.indices = subset ? g.op('Unsqueeze', [subset, g.int64([1])])[0]! : undefined;
  }

  applies(p: HeadParamInfo): boolean {
    return this.subset !== undefined && p.vocabRows;
  }

  gather(name: string): string {
    return this.g.op('Gather', [name, this.subset!], { axis: 0 })[0]!;
  }

  scatterRows(full: string, rows: string, output?: string): string {
    return this.g.op('ScatterND', [full, this.indices!, rows], {}, output ? { outputs: [output] } : {})[0]!;
  }

  /** [K, ...] rows → [V, ...] with zeros elsewhere, by a one-hot matmul. */
  spread(p: HeadParamInfo, rows: string): string {
    const g = this.g;
    const vector = p.dims.length === 1;
    const matrix = vector ? g.op('Unsqueeze', [rows, g.int64([1])])[0]! : rows;
    const dense = g.op('Gemm', [this.oneHot(), matrix], { transA: 1 })[0]!;
    return vector ? g.op('Reshape', [dense, g.int64([this.spec.vocabSize])])[0]! : dense;
  }

  /** Where(row in subset, updated, original): exact, so rows outside the subset keep their bits. */
  keepOtherRows(p: HeadParamInfo, original: string, updated: string, output: string): void {
    const g = this.g;
    if (!this.rowMask) {
      const counts = g.op('ReduceSum', [this.oneHot(), g.int64([0])], { keepdims: 0 })[0]!;
      this.rowMask = g.op('Greater', [counts, g.scalar(0)])[0]!;
    }
    const mask = p.dims.length === 1 ? this.rowMask : g.op('Unsqueeze', [this.rowMask, g.int64([1])])[0]!;
    g.op('Where', [mask, updated, original], {}, { outputs: [output] });
  }

  /** Writes a row-space gradient as a full-shape tensor (zeros outside the subset). */
  denseGradient(p: HeadParamInfo, grad: string, output: string): void {
    const g = this.g;
    if (!this.applies(p)) {
      g.op('Identity', [grad], {}, { outputs: [output] });
    } else if (this.method === 'oneHotMatMul') {
      g.op('Identity', [this.spread(p, grad)], {}, { outputs: [output] });
    } else {
      // ConstantOfShape without a value attribute yields float32 zeros.
      this.scatterRows(g.op('ConstantOfShape', [g.op('Shape', [p.name])[0]!])[0]!, grad, output);
    }
  }

  private oneHot(): string {
    if (!this.selection) {
      const values = this.g.initializer('one_hot_values', new Float32Array([0, 1]), [2]);
      this.selection = this.g.op('OneHot', [this.subset!, this.g.int64([this.spec.vocabSize]), values], { axis: -1 })[0]!;
    }
    return this.selection;
  }
}
