// Trains one language head on cached hidden states. The trainer owns the training-step session
// and the parameter and moment tensors: each step feeds them in and keeps the updated ones the
// session returns, so the state lives in onnxruntime's outputs and never goes through a
// JavaScript update loop. Minibatch order comes from a seeded generator, so a seed fixes the run.
import { CancelledError } from '../model/segmentedModel';
import { ExecutionProvider, float32Tensor, int64Tensor, Session, Tensor } from '../runtime/ort';
import { AdamWIO } from './adamWGraph';
import {
  CHOICE_MASK_OFF,
  buildHeadEvalGraph,
  buildHeadTrainingGraph,
  HeadParamInfo,
  HeadParamName,
  headParams,
  HeadTrainingSpec,
  paramIO,
  SubsetScatter,
  TrainIO,
} from './headTrainingGraph';
import { TrainRandom } from './random';
import { RowLayout } from './rowLayout';

/** Cached features: one row per supervised position. */
export interface FeatureSet {
  x: Float32Array; // [N, H]
  /** [N] vocabulary ids, or indices into the vocabulary subset when the trainer has one. */
  targets: Int32Array | BigInt64Array;
  /** [N] loss weight per example (e.g. per head level); 1 for all when absent, 0 ignores a row. */
  weights?: Float32Array | undefined;
  /** Per row, the classes its softmax ranges over (a trainer with `choiceMask` needs them). */
  choices?: RowChoices | undefined;
}

/** Row n's classes (indices like targets) are classes[offsets[n] .. offsets[n + 1]). */
export interface RowChoices {
  offsets: Int32Array; // [N + 1]
  classes: Int32Array;
}

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled decay of the matrices (W, or A and B of a low-rank delta); never the norm or bias. */
  weightDecay: number;
}

/** torch.optim.AdamW's defaults. */
export const DEFAULT_ADAMW: AdamWConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

export interface HeadInit {
  /** [V, H] the starting W, or the frozen W0 of a low-rank delta (HF layout). */
  weight: Float32Array;
  /** [V] starting bias; zeros when absent. */
  bias?: Float32Array | undefined;
  /** [H] starting RMS norm weight; ones when absent. */
  normWeight?: Float32Array | undefined;
}

export interface TrainProgress {
  epoch: number;
  /** Optimiser steps taken since the start (or since the run that was resumed began). */
  step: number;
  /** Examples seen in this epoch so far, of `epochExamples`. */
  examples: number;
  epochExamples: number;
  /** Weighted mean loss over this epoch so far. */
  loss: number;
  accuracy: number;
  examplesPerS: number;
}

export interface HeadTrainerOptions {
  hiddenSize: number; // H
  vocabSize: number; // V
  /** RMS norm epsilon; set it to train a norm weight in front of the linear map. */
  normEps?: number | undefined;
  /** Train a bias [V] (from init.bias or zeros). */
  bias?: boolean | undefined;
  /** Each row's softmax ranges over its own `choices` (FeatureSet) instead of every class. */
  choiceMask?: boolean | undefined;
  /** Rank of a low-rank delta W = W0 + A·B; undefined trains the full W. */
  lowRank?: number | undefined;
  /** [K] vocabulary rows the logits range over (label tokens); targets then index into it. */
  vocabSubset?: Int32Array | readonly number[] | undefined;
  /**
   * How a subset is trained. 'compact' (default): its rows are gathered once in JavaScript and
   * trained as a K-row head, the fastest since the subset is fixed for the run. 'scatterNd' and
   * 'oneHotMatMul' feed all V rows and use the graph's vocab_subset input (see SubsetScatter).
   * All three give the same parameters.
   */
  subsetMethod?: 'compact' | SubsetScatter | undefined;
  init: HeadInit;
  optimizer?: Partial<AdamWConfig> | undefined;
  batchSize: number;
  seed: number;
  provider?: ExecutionProvider | undefined;
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads?: number | undefined;
  /** Called at most every `progressEveryMs` (default 250) and after each epoch. */
  onProgress?: ((progress: TrainProgress) => void) | undefined;
  progressEveryMs?: number | undefined;
  /** Continue a saved run: parameters, moments, step count and the generator's position. */
  resume?: HeadTrainerState | undefined;
}

export interface StepResult {
  loss: number;
  /** Rows with weight > 0 whose argmax is the target. */
  correct: number;
  /** Rows with weight > 0. */
  counted: number;
  /** Σ weights of the batch (how much this batch counts in an epoch's mean loss). */
  weight: number;
}

export interface EpochResult {
  epoch: number;
  loss: number;
  accuracy: number;
  examples: number;
  seconds: number;
  examplesPerS: number;
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  /** [N] argmax per row (an index into the subset when there is one). */
  predictions: Int32Array;
}

/** Everything needed to resume: tensors by graph name (parameters `p`, moments `p.m`, `p.v`). */
export interface HeadTrainerState {
  step: number;
  epoch: number;
  rng: number;
  tensors: Record<string, Float32Array>;
}

export type HeadParams = Partial<Record<HeadParamName, Float32Array>>;

export class HeadTrainer {
  /** Parameters and moments by input name; vocabulary-indexed ones have layout.size rows (K compacted, else V). */
  private readonly state = new Map<string, Tensor>();
  private readonly fixed: Record<string, Tensor> = {}; // vocab_subset [K], base_weight [layout.size, H]
  /** Full [V, …] values of compacted tensors, whose rows outside the subset never change. */
  private readonly backdrop = new Map<string, Float32Array>();
  private readonly optimizer: AdamWConfig;
  private readonly rng: TrainRandom;
  private evalSession: Session | undefined;
  private steps: number;
  private epochs: number;

  private constructor(
    private readonly spec: HeadTrainingSpec,
    private readonly layout: RowLayout,
    private readonly options: HeadTrainerOptions,
    private readonly session: Session,
  ) {
    this.optimizer = { ...DEFAULT_ADAMW, ...options.optimizer };
    this.rng = new TrainRandom(options.resume?.rng ?? options.seed);
    this.steps = options.resume?.step ?? 0;
    this.epochs = options.resume?.epoch ?? 0;
  }

  static async create(options: HeadTrainerOptions): Promise<HeadTrainer> {
    checkOptions(options);
    const { vocabSubset, subsetMethod = 'compact' } = options;
    const layout = vocabSubset && subsetMethod === 'compact' ? RowLayout.compact(vocabSubset, options.vocabSize) : RowLayout.full(options.vocabSize);
    const spec = specOf(options, layout);
    const provider = options.provider ?? 'cpu';
    const session = await Session.create(buildHeadTrainingGraph(spec), { provider, threads: options.threads ?? 0 });
    const trainer = new HeadTrainer(spec, layout, options, session);
    trainer.initialise();
    return trainer;
  }

  /** Optimiser steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Classes the logits range over: K with a subset, else V. */
  get classes(): number {
    return this.options.vocabSubset?.length ?? this.options.vocabSize;
  }

  /** Changes the learning rate from the next step on (schedules, warm-up, early-stopping decay). */
  setLearningRate(lr: number): void {
    this.optimizer.lr = lr;
  }

  /** One optimiser step on a batch (all its rows; size may differ from batchSize). */
  async step(batch: FeatureSet): Promise<StepResult> {
    const n = this.rowCount(batch);
    this.checkTargets(batch.targets);
    const feeds: Record<string, Tensor> = { ...this.dataFeeds(batch, n), ...this.fixed, ...this.adamWFeeds() };
    for (const [name, tensor] of this.state) feeds[name] = tensor;
    const out = await this.session.run(feeds);
    for (const p of headParams(this.spec)) {
      const io = paramIO(p.name);
      this.state.set(io.value, out[io.next]!);
      this.state.set(io.m, out[io.mNext]!);
      this.state.set(io.v, out[io.vNext]!);
    }
    this.steps++;
    return { loss: scalarOf(out[TrainIO.loss]!), correct: scalarOf(out[TrainIO.correct]!), ...batchWeight(batch.weights, n) };
  }

  /** One pass over the data in a fresh seeded order, in minibatches of batchSize (the last may be smaller). */
  async epoch(data: FeatureSet, signal?: AbortSignal): Promise<EpochResult> {
    const n = this.rowCount(data);
    this.checkTargets(data.targets);
    const order = this.rng.permutation(n);
    const started = performance.now();
    let lastReport = started;
    const totals = { loss: 0, weight: 0, correct: 0, counted: 0, examples: 0 };
    const report = () => this.options.onProgress?.(this.progress(totals, n, started));
    for (let from = 0; from < n; from += this.options.batchSize) {
      if (signal?.aborted) throw new CancelledError();
      const rows = order.subarray(from, Math.min(n, from + this.options.batchSize));
      const result = await this.step(selectRows(data, rows, this.spec.hiddenSize));
      accumulate(totals, result, rows.length);
      if (performance.now() - lastReport >= (this.options.progressEveryMs ?? 250)) {
        lastReport = performance.now();
        report();
      }
    }
    this.epochs++;
    report();
    const seconds = (performance.now() - started) / 1000;
    return {
      epoch: this.epochs,
      loss: totals.weight > 0 ? totals.loss / totals.weight : 0,
      accuracy: totals.counted > 0 ? totals.correct / totals.counted : 0,
      examples: n,
      seconds,
      examplesPerS: n / Math.max(seconds, 1e-9),
    };
  }

  /** Forward only over the data in chunks: weighted mean loss, accuracy over rows with weight > 0, argmax per row. */
  async evaluate(data: FeatureSet, chunk = 1024): Promise<EvalResult> {
    const n = this.rowCount(data);
    this.checkTargets(data.targets);
    this.evalSession ??= await Session.create(buildHeadEvalGraph(this.spec), {
      provider: this.options.provider ?? 'cpu',
      threads: this.options.threads ?? 0,
    });
    const predictions = new Int32Array(n);
    const totals = { loss: 0, weight: 0, correct: 0, counted: 0 };
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      const part = sliceRows(data, from, to, this.spec.hiddenSize);
      const feeds: Record<string, Tensor> = { ...this.dataFeeds(part, to - from), ...this.fixed };
      for (const p of headParams(this.spec)) feeds[p.name] = this.state.get(p.name)!;
      const out = await this.evalSession.run(feeds);
      const predicted = out[TrainIO.prediction]!.data as BigInt64Array;
      for (let i = 0; i < predicted.length; i++) predictions[from + i] = Number(predicted[i]!);
      const { weight, counted } = batchWeight(part.weights, to - from);
      totals.loss += scalarOf(out[TrainIO.loss]!) * weight;
      totals.weight += weight;
      totals.correct += scalarOf(out[TrainIO.correct]!);
      totals.counted += counted;
    }
    return {
      loss: totals.weight > 0 ? totals.loss / totals.weight : 0,
      accuracy: totals.counted > 0 ? totals.correct / totals.counted : 0,
      predictions,
    };
  }

  /** Copies of the trained parameters by graph name (weight or lora_a/lora_b, bias, norm_weight), all V rows. */
  params(): HeadParams {
    const out: HeadParams = {};
    for (const p of headParams(this.spec)) out[p.name] = this.fullValue(p.name);
    return out;
  }

  /** The head's full [V, H] matrix: W itself, or W0 + A·B for a low-rank delta. */
  mergedWeight(): Float32Array {
    const r = this.spec.lowRank;
    if (r === undefined) return this.fullValue('weight');
    return mergeLowRank(this.options.init.weight, this.fullValue('lora_a'), this.fullValue('lora_b'), r, this.spec.hiddenSize);
  }

  /** The whole training state (all V rows), for a checkpoint from which `resume` continues bit for bit. */
  snapshot(): HeadTrainerState {
    const tensors: Record<string, Float32Array> = {};
    for (const name of this.state.keys()) tensors[name] = this.fullValue(name);
    return { step: this.steps, epoch: this.epochs, rng: this.rng.position, tensors };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.evalSession?.release();
  }

  /** A state tensor with all V rows: compacted ones are written over their backdrop. */
  private fullValue(name: string): Float32Array {
    const value = this.state.get(name)!.data as Float32Array;
    const backdrop = this.backdrop.get(name);
    return backdrop ? this.layout.scatter(value, backdrop, backdrop.length / this.options.vocabSize) : value.slice();
  }

  private initialise(): void {
    const { vocabSize: V, hiddenSize: H } = this.options;
    const { init, resume, vocabSubset } = this.options;
    if (this.spec.vocabSubset) this.fixed[TrainIO.vocabSubset] = int64Tensor(BigInt64Array.from(vocabSubset!, BigInt), [vocabSubset!.length]);
    if (this.spec.lowRank !== undefined) this.fixed[TrainIO.baseWeight] = float32Tensor(this.layout.gather(init.weight, H), [this.layout.size, H]);
    // Shapes with all V rows, as init and saved states have them.
    for (const p of headParams({ ...this.spec, vocabSize: V })) {
      const io = paramIO(p.name);
      const size = p.dims.reduce((a, b) => a * b, 1);
      const starts: [string, () => Float32Array][] = [
        [io.value, () => this.initialValue(p.name, size)],
        [io.m, () => new Float32Array(size)],
        [io.v, () => new Float32Array(size)],
      ];
      for (const [name, start] of starts) {
        const value = resume?.tensors[name] ?? start();
        if (value.length !== size) throw new Error(`head training: saved ${name} has ${value.length} values, expected ${size}`);
        this.setInitial(name, p, value);
      }
    }
  }

  /** Stores a starting tensor [V, …] in the trainer's layout, keeping it as the backdrop when compacted. */
  private setInitial(name: string, p: HeadParamInfo, full: Float32Array): void {
    if (!p.vocabRows) {
      this.state.set(name, float32Tensor(full.slice(), p.dims));
      return;
    }
    const width = full.length / this.options.vocabSize;
    if (this.layout.compacted) this.backdrop.set(name, full.slice());
    this.state.set(name, float32Tensor(this.layout.gather(full, width), [this.layout.size, ...p.dims.slice(1)]));
  }

  /**
   * Starting values, copied so the caller's arrays are never aliased by a session input. A
   * low-rank delta starts at zero as LoRA does: A (output side) is zero, B is small and random,
   * so W = W0 at first and A still receives a gradient on the first step.
   */
  private initialValue(name: HeadParamName, size: number): Float32Array {
    const { init } = this.options;
    switch (name) {
      case 'weight':
        return init.weight.slice();
      case 'bias':
        return init.bias?.slice() ?? new Float32Array(size);
      case 'norm_weight':
        return init.normWeight?.slice() ?? new Float32Array(size).fill(1);
      case 'lora_a':
        return new Float32Array(size);
      case 'lora_b': {
        const bound = 1 / Math.sqrt(this.spec.hiddenSize);
        return Float32Array.from({ length: size }, () => this.rng.uniform(bound));
      }
    }
  }

  private adamWFeeds(): Record<string, Tensor> {
    const o = this.optimizer;
    const scalar = (value: number) => float32Tensor(new Float32Array([value]), []);
    return {
      [AdamWIO.step]: scalar(this.steps + 1),
      [AdamWIO.lr]: scalar(o.lr),
      [AdamWIO.beta1]: scalar(o.beta1),
      [AdamWIO.beta2]: scalar(o.beta2),
      [AdamWIO.eps]: scalar(o.eps),
      [AdamWIO.weightDecay]: scalar(o.weightDecay),
    };
  }

  private dataFeeds(batch: FeatureSet, n: number): Record<string, Tensor> {
    const targets = batch.targets instanceof BigInt64Array ? batch.targets : BigInt64Array.from(batch.targets, BigInt);
    const feeds: Record<string, Tensor> = {
      [TrainIO.x]: float32Tensor(batch.x, [n, this.spec.hiddenSize]),
      [TrainIO.targets]: int64Tensor(targets, [n]),
      [TrainIO.weights]: float32Tensor(batch.weights ?? new Float32Array(n).fill(1), [n]),
    };
    if (this.spec.choiceMask) feeds[TrainIO.choiceMask] = float32Tensor(choiceMask(batch, n, this.classes), [n, this.classes]);
    return feeds;
  }

  private rowCount(data: FeatureSet): number {
    const H = this.spec.hiddenSize;
    const n = data.targets.length;
    if (data.x.length !== n * H) throw new Error(`head training: x has ${data.x.length} values, expected ${n} rows × ${H}`);
    if (data.weights && data.weights.length !== n) throw new Error(`head training: ${data.weights.length} weights for ${n} rows`);
    if (this.spec.choiceMask && !data.choices) throw new Error('head training: this trainer masks each row to its choices, but the rows have none');
    if (!this.spec.choiceMask && data.choices) throw new Error('head training: the rows have choices, but this trainer was created without choiceMask');
    if (data.choices && data.choices.offsets.length !== n + 1) throw new Error(`head training: choices for ${data.choices.offsets.length - 1} rows, expected ${n}`);
    return n;
  }

  /** Out-of-range targets would fail deep inside onnxruntime; name the row instead. */
  private checkTargets(targets: Int32Array | BigInt64Array): void {
    const classes = this.classes;
    for (let i = 0; i < targets.length; i++) {
      const t = Number(targets[i]!);
      if (!(t >= 0 && t < classes)) throw new Error(`head training: target ${t} of row ${i} is outside [0, ${classes})`);
    }
  }

  private progress(totals: { loss: number; weight: number; correct: number; counted: number; examples: number }, n: number, started: number): TrainProgress {
    return {
      epoch: this.epochs,
      step: this.steps,
      examples: totals.examples,
      epochExamples: n,
      loss: totals.weight > 0 ? totals.loss / totals.weight : 0,
      accuracy: totals.counted > 0 ? totals.correct / totals.counted : 0,
      examplesPerS: totals.examples / Math.max((performance.now() - started) / 1000, 1e-9),
    };
  }
}

/** The graph's spec: a compacted subset is an ordinary head over its K rows. */
function specOf(options: HeadTrainerOptions, layout: RowLayout): HeadTrainingSpec {
  const method = options.subsetMethod ?? 'compact';
  const inGraph = options.vocabSubset !== undefined && method !== 'compact';
  return {
    hiddenSize: options.hiddenSize,
    vocabSize: layout.size,
    normEps: options.normEps,
    bias: options.bias ?? false,
    lowRank: options.lowRank,
    vocabSubset: inGraph,
    subsetScatter: method === 'compact' ? undefined : method,
    choiceMask: options.choiceMask ?? false,
  };
}

function checkOptions(options: HeadTrainerOptions): void {
  const { vocabSize: V, hiddenSize: H, init, vocabSubset } = options;
  const expect = (what: string, array: Float32Array | undefined, size: number) => {
    if (array && array.length !== size) throw new Error(`head training: ${what} has ${array.length} values, expected ${size}`);
  };
  expect('init.weight [V, H]', init.weight, V * H);
  expect('init.bias [V]', init.bias, V);
  expect('init.normWeight [H]', init.normWeight, H);
  if (!(Number.isInteger(options.batchSize) && options.batchSize > 0)) throw new Error(`head training: batch size ${options.batchSize}`);
  if (vocabSubset) {
    // ScatterND with a repeated row is undefined behaviour, and a repeated label is a bug upstream.
    const seen = new Set<number>();
    for (const id of vocabSubset) {
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new Error(`head training: subset row ${id} is outside [0, ${V})`);
      if (seen.has(id)) throw new Error(`head training: subset row ${id} appears twice`);
      seen.add(id);
    }
  }
}

function batchWeight(weights: Float32Array | undefined, n: number): { weight: number; counted: number } {
  if (!weights) return { weight: n, counted: n };
  let weight = 0;
  let counted = 0;
  for (const w of weights) {
    weight += w;
    if (w > 0) counted++;
  }
  return { weight, counted };
}

function accumulate(
  totals: { loss: number; weight: number; correct: number; counted: number; examples: number },
  step: StepResult,
  rows: number,
): void {
  totals.loss += step.loss * step.weight;
  totals.weight += step.weight;
  totals.correct += step.correct;
  totals.counted += step.counted;
  totals.examples += rows;
}

/** The rows `rows` of a feature set, copied into a contiguous batch. */
function selectRows(data: FeatureSet, rows: Int32Array, H: number): FeatureSet {
  const x = new Float32Array(rows.length * H); // [b, H]
  const targets = new BigInt64Array(rows.length); // [b]
  const weights = data.weights ? new Float32Array(rows.length) : undefined; // [b]
  rows.forEach((row, i) => {
    x.set(data.x.subarray(row * H, (row + 1) * H), i * H);
    targets[i] = BigInt(data.targets[row]!);
    if (weights) weights[i] = data.weights![row]!;
  });
  return { x, targets, weights, choices: data.choices && pickChoices(data.choices, rows) };
}

/** Rows [from, to) as copies: a tensor over a view with a byte offset is not something to rely on in the binding. */
function sliceRows(data: FeatureSet, from: number, to: number, H: number): FeatureSet {
  const rows = Int32Array.from({ length: to - from }, (_, i) => from + i);
  return { x: data.x.slice(from * H, to * H), targets: data.targets.slice(from, to), weights: data.weights?.slice(from, to), choices: data.choices && pickChoices(data.choices, rows) };
}

/** The choices of `rows`, in that order. */
function pickChoices(choices: RowChoices, rows: ArrayLike<number>): RowChoices {
  const offsets = new Int32Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) offsets[i + 1] = offsets[i]! + choices.offsets[rows[i]! + 1]! - choices.offsets[rows[i]!]!;
  const classes = new Int32Array(offsets[rows.length]!);
  for (let i = 0; i < rows.length; i++) classes.set(choices.classes.subarray(choices.offsets[rows[i]!]!, choices.offsets[rows[i]! + 1]!), offsets[i]!);
  return { offsets, classes };
}

/** [n, K] additive mask: 0 at each row's choices, CHOICE_MASK_OFF elsewhere; a target outside its row's choices is an error. */
function choiceMask(batch: FeatureSet, n: number, K: number): Float32Array {
  const { offsets, classes } = batch.choices!;
  const mask = new Float32Array(n * K).fill(CHOICE_MASK_OFF);
  for (let row = 0; row < n; row++) {
    const target = Number(batch.targets[row]!);
    let found = false;
    for (let j = offsets[row]!; j < offsets[row + 1]!; j++) {
      const c = classes[j]!;
      if (!(c >= 0 && c < K)) throw new Error(`head training: choice ${c} of row ${row} is outside [0, ${K})`);
      mask[row * K + c] = 0;
      if (c === target) found = true;
    }
    if (!found) throw new Error(`head training: the target ${target} of row ${row} is not among its choices`);
  }
  return mask;
}

/** W0 + A·B: [V, H] from W0 [V, H], A [V, r], B [r, H]. */
export function mergeLowRank(base: Float32Array, a: Float32Array, b: Float32Array, r: number, H: number): Float32Array {
  const out = base.slice();
  const V = base.length / H;
  for (let v = 0; v < V; v++) {
    for (let j = 0; j < r; j++) {
      const coef = a[v * r + j]!;
      if (coef === 0) continue;
      for (let h = 0; h < H; h++) out[v * H + h] += coef * b[j * H + h]!;
    }
  }
  return out;
}

function scalarOf(tensor: Tensor): number {
  return Number((tensor.data as Float32Array)[0]);
}
