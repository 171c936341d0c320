// Multinomial (softmax) logistic regression with an L2 penalty, over dense or CSR features,
// trained full-batch with L-BFGS (./lbfgs.ts).
//
// Objective, for N examples, C classes, weights W [D, C] and biases b [C]:
//   f(W, b) = (1/N) Σ_i −log softmax(x_i W + b)[y_i]  +  (λ/2) ‖W‖²      (the bias is not penalised)
// The gradient is (1/N) Xᵀ(P − Y) + λW for W and the column sums of (P − Y)/N for b.
//
// W is stored feature-major ([D, C], one row of C weights per feature) so that a sparse row's
// few nonzeros each touch one contiguous run of C weights, in the forward and backward pass alike.
import type { Features } from './matrix';
import { minimizeLbfgs, type LbfgsOptions } from './lbfgs';

export interface LogisticModel {
  readonly features: number;
  readonly classes: number;
  /** [features, classes], row-major. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

export interface TrainOptions extends Omit<LbfgsOptions, 'onIteration'> {
  /** λ in the objective above. */
  l2: number;
  /** Start from this model (a warm start along a path of L2 strengths). */
  init?: LogisticModel | undefined;
  onIteration?: (iteration: number, loss: number) => void;
}

export interface TrainResult {
  model: LogisticModel;
  /** Objective value at the end. */
  loss: number;
  iterations: number;
  evaluations: number;
  /** Why L-BFGS stopped. */
  stop: string;
  seconds: number;
}

/** Parameters packed as one vector for the optimiser: W ([D, C]) then b ([C]). */
function pack(model: LogisticModel): Float64Array {
  const x = new Float64Array(model.weights.length + model.classes);
  x.set(model.weights);
  x.set(model.bias, model.weights.length);
  return x;
}

function unpack(x: Float64Array, features: number, classes: number): LogisticModel {
  const split = features * classes;
  return { features, classes, weights: x.slice(0, split), bias: x.slice(split) };
}

/** logits[c] = b[c] + Σ_j x_ij W[j, c] for row i. Typed arrays are read into locals: this is the hot loop. */
function rowLogits(x: Features, i: number, params: Float64Array, classes: number, logits: Float64Array): void {
  const biasAt = x.cols * classes;
  for (let c = 0; c < classes; c++) logits[c] = params[biasAt + c]!;
  if (x.kind === 'sparse') {
    const { indices, values } = x;
    const end = x.indptr[i + 1]!;
    for (let k = x.indptr[i]!; k < end; k++) accumulate(values[k]!, params, indices[k]! * classes, logits, classes);
  } else {
    const { data, cols } = x;
    const row = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[row + j]!;
      if (v !== 0) accumulate(v, params, j * classes, logits, classes);
    }
  }
}

/** out[c] += v · from[at + c] for c < classes. */
function accumulate(v: number, from: Float64Array, at: number, out: Float64Array, classes: number): void {
  for (let c = 0; c < classes; c++) out[c]! += v * from[at + c]!;
}

/** out[at + c] += v · delta[c] for c < classes. */
function scatter(v: number, delta: Float64Array, out: Float64Array, at: number, classes: number): void {
  for (let c = 0; c < classes; c++) out[at + c]! += v * delta[c]!;
}

/** grad[W row j] += x_ij δ and grad[b] += δ for row i. */
function rowBackward(x: Features, i: number, delta: Float64Array, classes: number, grad: Float64Array): void {
  scatter(1, delta, grad, x.cols * classes, classes);
  if (x.kind === 'sparse') {
    const { indices, values } = x;
    const end = x.indptr[i + 1]!;
    for (let k = x.indptr[i]!; k < end; k++) scatter(values[k]!, delta, grad, indices[k]! * classes, classes);
  } else {
    const { data, cols } = x;
    const row = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[row + j]!;
      if (v !== 0) scatter(v, delta, grad, j * classes, classes);
    }
  }
}

/** Turns logits into probabilities in place (max-shifted); returns log Σ exp(logits). */
function softmaxInPlace(logits: Float64Array, classes: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, logits[c]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp(logits[c]! - max);
    logits[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) logits[c]! /= sum;
  return max + Math.log(sum);
}

/**
 * The objective and its gradient at `params` (packed as in `pack`); exported for the
 * finite-difference test.
 */
export function lossAndGradient(x: Features, labels: Int32Array, classes: number, l2: number, params: Float64Array, grad: Float64Array): number {
  const n = x.rows;
  if (labels.length !== n) throw new Error(`logistic regression: ${labels.length} labels for ${n} rows`);
  grad.fill(0);
  const work = new Float64Array(classes);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    rowLogits(x, i, params, classes, work);
    const y = labels[i]!;
    const correct = work[y]!;
    loss += softmaxInPlace(work, classes) - correct;
    // δ = (p − onehot(y)) / N, so the data term's gradient needs no later rescaling.
    work[y]! -= 1;
    for (let c = 0; c < classes; c++) work[c]! /= n;
    rowBackward(x, i, work, classes, grad);
  }
  loss /= Math.max(1, n);
  const weightCount = x.cols * classes;
  let penalty = 0;
  for (let k = 0; k < weightCount; k++) {
    penalty += params[k]! * params[k]!;
    grad[k]! += l2 * params[k]!;
  }
  return loss + 0.5 * l2 * penalty;
}

function checkLabels(labels: Int32Array, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new Error(`logistic regression: label ${y} at row ${i} is outside 0..${classes - 1}`);
  }
}

export function trainLogistic(x: Features, labels: Int32Array, classes: number, options: TrainOptions): TrainResult {
  checkLabels(labels, classes);
  if (options.init && (options.init.features !== x.cols || options.init.classes !== classes)) {
    throw new Error(`logistic regression: warm start has shape [${options.init.features}, ${options.init.classes}], data needs [${x.cols}, ${classes}]`);
  }
  const started = performance.now();
  const x0 = options.init ? pack(options.init) : new Float64Array(x.cols * classes + classes);
  const result = minimizeLbfgs((p, g) => lossAndGradient(x, labels, classes, options.l2, p, g), x0, options);
  return {
    model: unpack(result.x, x.cols, classes),
    loss: result.value,
    iterations: result.iterations,
    evaluations: result.evaluations,
    stop: result.reason,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Class probabilities [rows, classes]. */
export function predictProba(model: LogisticModel, x: Features): Float64Array {
  if (x.cols !== model.features) throw new Error(`logistic regression: model has ${model.features} features, data ${x.cols}`);
  const params = pack(model);
  const out = new Float64Array(x.rows * model.classes);
  const work = new Float64Array(model.classes);
  for (let i = 0; i < x.rows; i++) {
    rowLogits(x, i, params, model.classes, work);
    softmaxInPlace(work, model.classes);
    out.set(work, i * model.classes);
  }
  return out;
}

/** The most probable class of each row (the lowest index on ties). */
export function predict(model: LogisticModel, x: Features): Int32Array {
  const proba = predictProba(model, x);
  const out = new Int32Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let best = 0;
    for (let c = 1; c < model.classes; c++) if (proba[i * model.classes + c]! > proba[i * model.classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}
