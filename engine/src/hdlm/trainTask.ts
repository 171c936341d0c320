// Fine-tuning a task's heads on a workspace dataset (ARCHITECTURE §4), with the flat baseline
// beside them: 1. read and split the data, 2. run the frozen backbone once and cache the hidden
// states of the label tokens (every level's layer, and the last layer for the flat head),
// 3. train one head per level and one flat last-layer head for the same epochs on the same
// examples, keeping the best dev epoch of each (saved atomically; the last one when there are
// no dev examples) and a resume point per epoch,
// 4. write a report. Cancellation is checked between batches; a cancelled run keeps its last
// saved heads and its resume points. Thought-then-answer tasks (trainThoughtTask.ts) differ only
// in step 2 and share the rest from here.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import { CACHE_FOLDERS, defaultCacheDir } from '../cacheDir';
import { readModelConfig } from '../checkpoint/config';
import type { ExecutionProvider } from '../runtime/ort';
import { CancelledError } from '../model/segmentedModel';
import { SafetensorsFile, writeAtomically, writeSafetensors } from '../checkpoint/safetensors';
import { HeadTrainer, MIN_STEPS_PER_EPOCH, stoppingSchedule, type EpochResult, type FeatureSet, type HeadTrainerState, type TrainProgress } from '../train/headTrainer';
import { DatasetError, describeDuplicateTexts, describeSkipped, readHierarchicalDataset, type DatasetRead, type DatasetRecord } from './dataset/readDataset';
import type { HierarchicalRecord } from './dataset/formats';
import { choiceSequences, extractSpanFeatures, fitToContext, type FeatureRequest, type LayerFeatures } from './features';
import { formatBytes } from '../diskBudget';
import { contextRoom, noExampleFitsError } from './contextFit';
import { DEFAULT_FEATURE_CACHE_BYTES, FeatureCache } from './featureCache';
import { lockHeads } from './headsLock';
import { HEAD_FORMAT, checkHeadsFolder, copyHead, ownHeadCopy, readManifest, rewriteTaxonomy, saveHead, type HeadManifest } from './headStore';
import { subsample, splitByHash } from './splits';
import { checkLevelDepth, type TaskDefinition, type TrainSettings } from './taskFile';
import { exitHeadNames, exitLayers, FLAT_HEAD, levelHeadName, levelLayers, segmentCuts, taskModelFolder } from './taskSession';
import { ClassificationLayout } from './classificationLayout';
import { sequenceFormat } from './sequenceFormat';
import { Taxonomy } from './taxonomy';
import { trainThoughtTask } from './trainThoughtTask';

export type TrainEvent =
  | { kind: 'stage'; message: string }
  | { kind: 'features'; done: number; total: number; examplesPerS: number; etaS: number }
  | { kind: 'progress'; head: string; epoch: number; examples: number; epochExamples: number; loss: number; examplesPerS: number; etaS: number }
  | { kind: 'epoch'; head: string; epoch: number; loss: number; accuracy: number; devLoss: number; devAccuracy: number; improved: boolean; seconds: number; noDev?: true }
  | { kind: 'saved'; head: string; file: string }
  /**
   * A planned head that needs no training: already trained with these settings and data, or a
   * copy of a twin trained earlier in this run (copyTwin). Said apart from the `stage` message
   * for people, so that a progress scale counts the head as done at once instead of leaving its
   * share to be made up when the run ends (jobView.ts overallAfter).
   */
  | { kind: 'headSkipped'; head: string; reason: 'alreadyTrained' | 'copied' };

export interface HeadReport {
  name: string;
  layer: number;
  /** Levels whose label tokens it was trained on. */
  levels: number[];
  epochs: { epoch: number; loss: number; accuracy: number; devLoss: number; devAccuracy: number; seconds: number }[];
  bestEpoch: number;
  bestDevAccuracy: number;
  trainRows: number;
  /** The head of this run whose weights this one copies: same layer, same rows (trainHeads). */
  copyOf?: string;
  /** It had no dev rows (an empty dev split): every epoch was saved, so the last is kept, and its dev figures are 0. */
  noDev?: true;
}

export interface TrainReport {
  task: string;
  modelFingerprint: string;
  /** The examples the heads learned from and chose epochs on: those that fit the context. */
  examples: { train: number; dev: number };
  skippedLines: number;
  /** Examples left out because their sequence exceeds the model's context. */
  skippedTooLong: number;
  heads: HeadReport[];
  seconds: { features: number; training: number };
  /** Heads a rerun found already trained with the same settings and data, and did not retrain (absent: none). */
  reused?: string[];
}

export interface TrainTaskOptions {
  defaultModelDir: string;
  onEvent?: (event: TrainEvent) => void;
  signal?: AbortSignal;
  /** Where hidden states are kept between runs (default: `features` in the engine's cache folder); false: none. */
  featureCache?: FeatureCache | false;
  /**
   * Whether the flat last-layer baseline is trained beside the level heads (the default). A tool
   * that trains variant heads at an early layer passes false: no flat head, and no read at the
   * last layer for it, so the backbone stops at the deepest level's layer.
   */
  flat?: boolean;
}

/** Name of the flat baseline's head in a task's heads folder (defined beside the other head names). */
export { FLAT_HEAD };

/** Trains a task of either kind, holding its heads folder for the whole run (lockHeads: a second run refuses). */
export async function trainTask(engine: Engine, task: TaskDefinition, options: TrainTaskOptions): Promise<TrainReport> {
  // Before the lock makes the folder: a file there, or another task's heads, is refused by name.
  checkHeadsFolder(task.headsDir, task, 'train');
  const release = lockHeads(task.headsDir);
  try {
    return await (task.kind === 'thoughtThenAnswer' ? trainThoughtTask(engine, task, options) : trainClassifyTask(engine, task, options));
  } finally {
    release();
  }
}

async function trainClassifyTask(engine: Engine, task: TaskDefinition, options: TrainTaskOptions): Promise<TrainReport> {
  const emit = options.onEvent ?? (() => undefined);
  // 1. Data.
  const { split, train, dev, skippedLines } = readTrainingData(task, readHierarchicalDataset, emit);
  const taxonomy = trainingTaxonomy(split);
  // Checked before the model loads: a task whose levels do not match its labels cannot train.
  checkTrainingTaxonomy(task, taxonomy);

  // 2. Model and features: every level at its layer, and every level at the last layer (flat).
  const modelDir = taskModelFolder(task, options.defaultModelDir);
  const L0 = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const layers = levelLayers(task, L0);
  // Exiting when sure: every level is also read at every exit layer, for its heads there.
  const exits = exitLayers(task, L0);
  const loaded = await engine.loadModel(modelDir, { cuts: segmentCuts([...layers, ...exits], L0) });
  try {
    const L = loaded.checkpoint.config.numLayers;
    const own = ownHeadCopy(loaded.checkpoint);
    // Training teacher-forces the sequences the classifier will decode: the same layout.
    const layout = new ClassificationLayout(sequenceFormat(loaded.requireTokenizer()), { taxonomy, system: task.system, listCandidates: task.listCandidates });
    // Each (level, layer) once: the last level's own read is also the flat head's, and a read
    // listed twice would give both heads its rows twice.
    const flat = options.flat ?? true;
    const reads = uniqueReads([...layers.map((layer, i) => ({ level: i + 1, layer })), ...(flat ? layers.map((_, i) => ({ level: i + 1, layer: L })) : []), ...exits.flatMap((layer) => layers.map((_, i) => ({ level: i + 1, layer })))]);
    const featuresStart = performance.now();
    let skippedTooLong = 0;
    // The examples that fit the context: what the heads learn from, and what the report counts.
    const used = { training: 0, dev: 0 };
    // Heads learn only where a label's next token is a choice among its siblings' (choiceSpans):
    // a forced token says nothing about the label, and leaving it out spares most rows.
    const extract = async (all: HierarchicalRecord[], what: 'training' | 'dev'): Promise<BackbonePass> => {
      const { fits: records, forced, tooLong } = fitToContext(loaded.model, layout, all);
      if (what === 'training' && records.length === 0) throw noExampleFitsError(task.dataset.train, contextRoom(loaded.checkpoint.config), tooLong, NOTHING_TRAINED);
      used[what] = records.length;
      skippedTooLong += reportTooLong(emit, what, tooLong.map(({ record, ...t }) => ({ id: record.id, ...t })), loaded.checkpoint.config.maxPositions);
      emit({ kind: 'stage', message: `running the backbone over ${records.length} ${what} examples` });
      const { sequences, choices } = choiceSequences(forced);
      const features = await extractSpanFeatures(loaded.model, layout.sharedPrefix(), sequences, { reads, ...backboneRuns(emit, options, loaded.checkpoint.fingerprint) });
      return { features, choices };
    };
    const trainData = await extract(train, 'training');
    checkLevelRows(trainData.features, (level) => layers[level - 1]!, used.training, task.dataset.train, NOTHING_TRAINED);
    const devData = await extract(dev, 'dev');
    const featureSeconds = (performance.now() - featuresStart) / 1000;

    // 3. One head per level, and the flat head on every level's tokens at the last layer. A
    // last level read at the last layer learns from every level's tokens there too, unless the
    // task asks for its own level's only (TrainSettings.lastLevelHead): the rows are extracted anyway.
    const all = layers.map((_, i) => i + 1);
    const levelsOf = (i: number): number[] => (i === layers.length - 1 && layers[i] === L && task.train.lastLevelHead === 'allLevels' ? all : [i + 1]);
    const plans = [...layers.map((layer, i) => ({ name: levelHeadName(i + 1), layer, levels: levelsOf(i) })), ...(flat ? [{ name: FLAT_HEAD, layer: L, levels: all }] : []), ...exitPlans(task, layers, exits, L)];
    const ctx = { task, taxonomy, own, fingerprint: loaded.checkpoint.fingerprint, config: loaded.checkpoint.config, emit, signal: options.signal, provider: loaded.model.provider };
    const facts = { examples: { train: used.training, dev: used.dev }, skippedLines, skippedTooLong, featureSeconds };
    // Awaited here, so that the model is released only after its heads are trained.
    return await trainHeads(plans, ctx, facts, (plan) => {
      // The head ranks only the tokens that are ever a choice at its levels (a few dozen rows
      // instead of the whole vocabulary); training and scoring normalise each row over its own choices.
      const subset = labelTokenSubset([layout.choiceTokens(plan.levels)]);
      const pick = (data: BackbonePass): FeatureSet => planRows(data, plan, subset, { hiddenSize: loaded.checkpoint.config.hiddenSize, own, settings: task.train });
      return { plan: { ...plan, subset: subset.ids, choices: true }, train: pick(trainData), dev: pick(devData) };
    });
  } finally {
    await loaded.release();
  }
}

/**
 * The heads a task that exits when sure adds: each level at each exit layer where neither its own
 * head (its own layer) nor the flat head (the last layer) serves (exitHeadName).
 */
function exitPlans(task: TaskDefinition, layers: readonly number[], exits: readonly number[], L: number): { name: string; layer: number; levels: number[] }[] {
  const known = new Set([...layers.map((_, i) => levelHeadName(i + 1)), FLAT_HEAD]);
  return exitHeadNames(task, exits, L).flatMap((names, i) => names.map((name, e) => ({ name, layer: exits[e]!, levels: [i + 1] }))).filter((p) => !known.has(p.name));
}

/** What one backbone pass over a split gives head training: the rows read, and each record's choices per level and span. */
export interface BackbonePass {
  features: LayerFeatures[];
  choices: number[][][][];
}

/**
 * A head's rows out of a backbone pass: its levels' rows at its layer, each with its choices,
 * the model's frozen norm applied where the head keeps one (headNorm).
 */
export function planRows(data: BackbonePass, plan: { layer: number; levels: readonly number[] }, subset: TokenSubset, ctx: RowsContext): FeatureSet {
  return rowsAt(data.features, plan, subset, ctx, (level, example) => data.choices[example]![level - 1]!);
}

/** What turning feature blocks into a head's rows needs: the width, the model's own head (its norm), the settings. */
export interface RowsContext {
  hiddenSize: number;
  own: ReturnType<typeof ownHeadCopy>;
  settings: TrainSettings;
}

/**
 * A head's rows: its levels' feature blocks at its layer (with each row's choices when
 * `choicesOf` gives them), the model's frozen norm applied where the head keeps one (headNorm).
 */
export function rowsAt(features: readonly LayerFeatures[], plan: { layer: number; levels: readonly number[] }, subset: TokenSubset, ctx: RowsContext, choicesOf?: (level: number, example: number) => readonly (readonly number[])[]): FeatureSet {
  const blocks = features.filter((f) => f.layer === plan.layer && plan.levels.includes(f.level));
  return frozenNorm(featureSet(blocks, ctx.hiddenSize, subset, choicesOf), headNorm(ctx.own, ctx.settings), ctx.own);
}

/**
 * Step 1 of every task kind: the training and dev records (the task's dev file when it names one,
 * else a hash split of the training file), each subsampled to the settings' budget, and how many
 * lines the dataset readers skipped. `split` is before subsampling. Skipped lines and repeated
 * texts (describeDuplicateTexts, against the test file too) are said as stage messages.
 */
export function readTrainingData<R extends DatasetRecord>(
  task: TaskDefinition,
  read: (file: string) => DatasetRead<R>,
  emit: (e: TrainEvent) => void,
): { split: { train: R[]; dev: R[] }; train: R[]; dev: R[]; skippedLines: number } {
  const settings = task.train;
  emit({ kind: 'stage', message: `reading ${task.dataset.train}` });
  const trainFile = read(task.dataset.train);
  const devFile = task.dataset.dev ? read(task.dataset.dev) : undefined;
  for (const file of [trainFile, devFile]) {
    const skipped = file && describeSkipped(file.issues);
    if (skipped) emit({ kind: 'stage', message: skipped });
  }
  const testFile = task.dataset.test ? readToCompare(read, task.dataset.test) : undefined;
  const others = [...(devFile ? [{ part: 'dev' as const, read: devFile }] : []), ...(testFile ? [{ part: 'test' as const, read: testFile }] : [])];
  for (const notice of describeDuplicateTexts(trainFile, others)) emit({ kind: 'stage', message: notice });
  const split = devFile ? { train: trainFile.records, dev: devFile.records } : splitByHash(trainFile.records, settings.devFraction, settings.seed);
  return {
    split,
    train: subsample(split.train, settings.maxExamples, settings.seed),
    dev: subsample(split.dev, settings.maxExamples > 0 ? Math.max(200, Math.round(settings.maxExamples * settings.devFraction)) : 0, settings.seed),
    skippedLines: trainFile.issues.skipped.length + (devFile?.issues.skipped.length ?? 0),
  };
}

/**
 * The test file, read only to compare its texts with the training file's: one that cannot be
 * read is left to evaluation, which names its problems (training does not need it).
 */
function readToCompare<R>(read: (file: string) => DatasetRead<R>, file: string): DatasetRead<R> | undefined {
  try {
    return read(file);
  } catch (err) {
    if (err instanceof DatasetError) return undefined;
    throw err;
  }
}

/**
 * The taxonomy head training derives from a split (training records, then dev): the order of
 * each level's labels, hence of every candidate list, follows it, so whatever writes sequences
 * for these heads (tools/pretrain/taskSequences.ts) must build it here too.
 */
export function trainingTaxonomy(split: { train: readonly HierarchicalRecord[]; dev: readonly HierarchicalRecord[] }): Taxonomy {
  return Taxonomy.fromPaths([...split.train, ...split.dev].map((r) => ({ labels: r.labels, source: r.id })));
}

/**
 * What a classification task's training taxonomy must be, checked before the model loads by
 * training and the layer scan alike (the scan trains heads the same way): as deep as the task's
 * levels, and with a choice at every level (checkLevelsHaveChoices), named by the dataset files.
 */
export function checkTrainingTaxonomy(task: TaskDefinition, taxonomy: Taxonomy): void {
  checkLevelDepth(task, taxonomy.depth, 'in the training data');
  checkLevelsHaveChoices(taxonomy, task.dataset.dev ? `${task.dataset.train} and ${task.dataset.dev}` : task.dataset.train);
}

/**
 * Refuses a taxonomy with a level that never offers a choice (one label, or one child under every
 * parent): its head would have no token to learn, and training would fail deep inside with sizes
 * of zero. `source` names the dataset.
 */
export function checkLevelsHaveChoices(taxonomy: Taxonomy, source: string): void {
  for (let level = 1; level <= taxonomy.depth; level++) {
    const parents = level === 1 ? [''] : taxonomy.labels(level - 1);
    if (parents.some((p) => taxonomy.childrenOf(level, p).length > 1)) continue;
    const labels = taxonomy.labels(level);
    const what =
      labels.length === 1 ? `one label '${labels[0]}'`
      : `one label under each parent (${parents.slice(0, 3).map((p) => `'${taxonomy.childrenOf(level, p)[0]}' under '${p}'`).join(', ')}${parents.length > 3 ? ', …' : ''})`;
    throw new Error(`${source}: level ${level} has ${what}: nothing to learn (a level needs two labels or more to choose between)`);
  }
}

/**
 * Examples too long for the model's context are skipped, never truncated: says so with the first
 * few named, and returns how many there were.
 */
export function reportTooLong(emit: (e: TrainEvent) => void, what: string, tooLong: readonly { id: string; tokens: number; atLeast?: true }[], maxPositions: number): number {
  if (tooLong.length === 0) return 0;
  const named = tooLong.slice(0, 3).map((t) => `${t.id} (${t.atLeast ? 'at least ' : ''}${t.tokens} tokens)`).join(', ');
  emit({ kind: 'stage', message: `skipping ${tooLong.length} ${what} example${tooLong.length === 1 ? '' : 's'} longer than the model's context of ${maxPositions} positions, e.g. ${named}` });
  return tooLong.length;
}

/** What a training run refused for want of rows left as it was. */
export const NOTHING_TRAINED = 'nothing was trained, and the heads folder stays as it was';

/**
 * Refuses, before any head is trained, a level none of whose `examples` training examples gives
 * a row (reaches a choice among sibling labels): its head would learn from nothing and still be
 * saved as trained. `layerOf(level)` is a layer the level is read at (its rows are the same at every layer).
 */
export function checkLevelRows(features: readonly LayerFeatures[], layerOf: (level: number) => number, examples: number, source: string, outcome: string): void {
  const levels = [...new Set(features.map((f) => f.level))].sort((a, b) => a - b);
  for (const level of levels) {
    const rows = features.filter((f) => f.level === level && f.layer === layerOf(level)).reduce((n, f) => n + f.targets.length, 0);
    if (rows === 0) throw new Error(`${source}: level ${level} has no training rows: none of the ${examples} training examples that fit the context has a choice there (every label of theirs at level ${level} is the only one under its parent); ${outcome}`);
  }
}

/** Each (level, layer) pair once, in first-seen order. */
export function uniqueReads(reads: readonly { level: number; layer: number }[]): { level: number; layer: number }[] {
  return reads.filter((r, i) => reads.findIndex((o) => o.level === r.level && o.layer === r.layer) === i);
}

/**
 * How every task kind batches one backbone pass over its examples, with `features` progress
 * events timed from this call, through the run's feature cache.
 */
export function backboneRuns(emit: (e: TrainEvent) => void, options: Pick<TrainTaskOptions, 'signal' | 'featureCache'>, fingerprint: string): Omit<FeatureRequest, 'reads'> {
  const t0 = performance.now();
  const signal = options.signal;
  const store = options.featureCache === false ? undefined : (options.featureCache ?? defaultFeatureCache(emit));
  return {
    cache: store ? { store, fingerprint } : undefined,
    // Measured on the 2-core CPU (WordNet, every 7th of 8,000 training examples, sequences
    // sorted by length, rows runs; 2026-12-03, interleaved): 64 sequences a run took 23.7–26.3 s
    // (six runs), 128 took 25.9–28.8 s (five), 256 took 28.9 s; the position budget keeps runs
    // of long inputs (and their memory) from growing further.
    batchSize: 64,
    tokensPerBatch: 16384,
    signal,
    onProgress: (done, total) => {
      const rate = done / Math.max(1e-9, (performance.now() - t0) / 1000);
      emit({ kind: 'features', done, total, examplesPerS: rate, etaS: (total - done) / Math.max(rate, 1e-9) });
    },
  };
}

/** The engine's feature cache folder, its events told as stage messages. */
function defaultFeatureCache(emit: (e: TrainEvent) => void): FeatureCache {
  const dir = join(defaultCacheDir(), CACHE_FOLDERS.features);
  return new FeatureCache(dir, DEFAULT_FEATURE_CACHE_BYTES, (e) => {
    const size = e.bytes !== undefined ? ` (${formatBytes(e.bytes)})` : '';
    const message =
      e.kind === 'hit' ? `hidden states read from the feature cache${size}`
      : e.kind === 'stored' ? `hidden states kept in the feature cache${size}, ${dir}`
      : e.kind === 'corrupt' ? `a damaged feature cache entry was removed and is rebuilt (${e.detail})`
      : e.kind === 'not stored' ? `hidden states not kept in the feature cache: ${e.detail}`
      : e.kind === 'evicted' ? `an older feature cache entry was removed${size} to stay within ${formatBytes(DEFAULT_FEATURE_CACHE_BYTES)}`
      : undefined;
    if (message) emit({ kind: 'stage', message });
  });
}

/** What a run measured before training its heads, for its report. */
export interface TrainFacts {
  examples: { train: number; dev: number };
  skippedLines: number;
  skippedTooLong: number;
  featureSeconds: number;
}

/** A head ready to train: its plan and its training and dev rows. */
export interface PreparedHead {
  plan: HeadPlan;
  train: FeatureSet;
  dev: FeatureSet;
}

/**
 * Steps 3 and 4 of every task kind: trains the planned heads one after another into the task's
 * heads folder, then writes the report beside them. Each head's rows are prepared just before it
 * trains, so only one head's copy of the features is held at a time. A plan that learns from the
 * very rows of an earlier one at its layer (the last level's head under lastLevelHead
 * "allLevels" and the flat head) would train to the same weights, training being seeded and
 * deterministic: it gets a copy of the earlier head instead of a second training.
 */
export async function trainHeads<P>(plans: readonly P[], ctx: HeadContext, facts: TrainFacts, prepare: (plan: P) => PreparedHead): Promise<TrainReport> {
  mkdirSync(ctx.task.headsDir, { recursive: true });
  const trainingStart = performance.now();
  const reused: string[] = [];
  const done: TrainedHead[] = [];
  if (facts.examples.dev === 0) {
    ctx.emit({ kind: 'stage', message: `no dev examples (the dev split is empty, or all of it too long for the context): no epoch can be chosen on dev, so each head keeps its last epoch; name a dev file (dataset.dev) or raise train.devFraction to choose on dev` });
  }
  for (const p of plans) {
    const { plan, train, dev } = prepare(p);
    if (facts.examples.dev > 0 && dev.targets.length === 0) ctx.emit({ kind: 'stage', message: `${plan.name}: no dev rows at its levels; it keeps its last epoch` });
    const data = dataDigest(plan, train, dev);
    const twin = done.find((d) => d.data === data && d.plan.layer === plan.layer && sameLevels(d.plan, plan) && d.plan.choices === plan.choices);
    const head = twin ? copyTwin(twin, plan, data, ctx) : await trainHead(plan, train, dev, ctx, data);
    done.push({ plan, data, report: head.report });
    if (head.reused) reused.push(plan.name);
  }
  const heads = done.map((d) => d.report);
  const reportFile = join(ctx.task.headsDir, 'train-report.json');
  // A rerun that retrained nothing leaves the folder as it was (shipped heads stay unmodified in
  // git): the earlier run's report, with its timings, remains the record of how they were made.
  const earlier = reused.length === plans.length ? readEarlierReport(reportFile, ctx.fingerprint, heads) : undefined;
  if (earlier) return { ...earlier, reused };
  const report: TrainReport = {
    task: ctx.task.name,
    modelFingerprint: ctx.fingerprint,
    examples: facts.examples,
    skippedLines: facts.skippedLines,
    skippedTooLong: facts.skippedTooLong,
    heads,
    seconds: { features: facts.featureSeconds, training: (performance.now() - trainingStart) / 1000 },
    ...(reused.length > 0 ? { reused } : {}),
  };
  writeAtomically(reportFile, [Buffer.from(`${JSON.stringify(report, null, 1)}\n`)]);
  return report;
}

/** A head this run trained or found trained, and the digest of its rows (dataDigest). */
interface TrainedHead {
  plan: HeadPlan;
  data: string;
  report: HeadReport;
}

function sameLevels(a: HeadPlan, b: HeadPlan): boolean {
  return a.levels.length === b.levels.length && a.levels.every((l, i) => l === b.levels[i]);
}

/**
 * Head `plan` as a copy of `twin`, which learned from the same rows at the same layer: its
 * weights saved again under the plan's name, and a finished resume point, so a rerun skips it
 * as it skips a trained head.
 */
function copyTwin(twin: TrainedHead, plan: HeadPlan, data: string, ctx: HeadContext): { report: HeadReport; reused: boolean } {
  const key = resumeKey(ctx, data);
  const resume = readResume(ctx, plan.name, key);
  if (resume?.finished) return skipFinished(plan, resume.report, ctx);
  const report: HeadReport = { ...twin.report, name: plan.name, copyOf: twin.plan.name };
  const written = copyHead(ctx.task.headsDir, twin.plan.name, plan.name, { ...report, settings: ctx.task.train });
  ctx.emit({ kind: 'stage', message: `${plan.name}: the same rows at the same layer as ${twin.plan.name}, so the same weights; copied instead of trained again` });
  ctx.emit({ kind: 'saved', head: plan.name, file: join(ctx.task.headsDir, written.weightsFile) });
  writeResume(resumePath(ctx, plan.name), { ...key, finished: true }, report);
  ctx.emit({ kind: 'headSkipped', head: plan.name, reason: 'copied' });
  return { report, reused: false };
}

/**
 * A head a rerun finds finished with these settings and data (and still on disk): reported, not
 * trained again, its stored taxonomy made the run's (keepTaxonomyCurrent).
 */
function skipFinished(plan: HeadPlan, report: HeadReport, ctx: HeadContext): { report: HeadReport; reused: true } {
  const epochs = report.copyOf ? '' : ` (${report.epochs.length} epochs)`;
  ctx.emit({ kind: 'stage', message: `${plan.name}: already trained with these settings and data${epochs}; skipping` });
  keepTaxonomyCurrent(plan.name, ctx);
  ctx.emit({ kind: 'headSkipped', head: plan.name, reason: 'alreadyTrained' });
  return { report, reused: true };
}

/**
 * Rewrites a skipped head's stored taxonomy when it is not the run's. Its rows can stay the same
 * while the taxonomy changes: a level-1 head's hidden states come before any deeper label
 * (causal attention), so renaming, splitting or merging a level-2 label leaves its rows, and its
 * weights, exactly as a fresh training would make them. Sessions read the taxonomy from the first
 * head that stores one, so a stale one there would offer the old labels. Rewriting the manifest
 * keeps the head (putting the taxonomy into the resume key instead would retrain it to the same
 * weights, and make every resume point written before it unusable); a run whose taxonomy did not
 * change rewrites nothing. It also moves a manifest written as an object (TaxonomyJson.parents)
 * with integer-like labels to the training order.
 */
function keepTaxonomyCurrent(name: string, ctx: HeadContext): void {
  if (!ctx.taxonomy) return;
  const stored = readManifest(ctx.task.headsDir, name).taxonomy;
  if (stored && Taxonomy.fromJSON(stored).equals(ctx.taxonomy)) return;
  rewriteTaxonomy(ctx.task.headsDir, name, ctx.taxonomy.toJSON());
  ctx.emit({ kind: 'stage', message: `${name}: its stored labels updated to this run's taxonomy (the head itself is unchanged)` });
}

/** The report already in the heads folder when it describes exactly these heads for this model; else undefined. */
function readEarlierReport(file: string, fingerprint: string, heads: readonly HeadReport[]): TrainReport | undefined {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as TrainReport;
    if (report.modelFingerprint !== fingerprint || JSON.stringify(report.heads) !== JSON.stringify(heads)) return undefined;
    return report;
  } catch {
    return undefined; // missing or unreadable: the rerun writes a fresh one
  }
}

/**
 * How a head treats the model's final norm: an RMS norm is copied into the head and trained with
 * it; GPT-2's layer norm is applied, frozen, to the features (the head graph applies the same
 * norm at inference); 'none' reads the raw residual stream.
 */
export function headNorm(own: ReturnType<typeof ownHeadCopy>, s: TrainSettings): 'trained' | 'frozen' | 'none' {
  if (s.headNorm === 'none' || !own.norm) return 'none';
  return own.norm.kind === 'rms' ? 'trained' : 'frozen';
}

/** Applies the model's own layer norm to every feature row when the head keeps it frozen. */
export function frozenNorm(set: FeatureSet, how: 'trained' | 'frozen' | 'none', own?: ReturnType<typeof ownHeadCopy>): FeatureSet {
  if (how !== 'frozen' || own?.norm?.kind !== 'layer') return set;
  const { weight, bias, eps } = own.norm;
  const H = weight.length;
  const x = set.x;
  for (let row = 0; row < x.length; row += H) {
    let mean = 0;
    for (let h = 0; h < H; h++) mean += x[row + h]!;
    mean /= H;
    let variance = 0;
    for (let h = 0; h < H; h++) variance += (x[row + h]! - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / H + eps);
    for (let h = 0; h < H; h++) x[row + h] = (x[row + h]! - mean) * inv * weight[h]! + bias[h]!;
  }
  return set;
}

export interface TokenSubset {
  ids: Int32Array; // [K] vocabulary ids, ascending
  index: Map<number, number>; // vocabulary id → position in ids
}

export function labelTokenSubset(labelIds: readonly (readonly number[])[]): TokenSubset {
  const ids = Int32Array.from(new Set(labelIds.flat())).sort();
  return { ids, index: new Map(Array.from(ids, (id, i) => [id, i])) };
}

/**
 * Concatenates feature blocks into one training set, targets as indices into the subset. With
 * `choicesOf` (level, example) → the token choices at each of that example's rows of that level,
 * in row order, each row also gets its choices as subset indices.
 */
export function featureSet(blocks: LayerFeatures[], H: number, subset: TokenSubset, choicesOf?: (level: number, example: number) => readonly (readonly number[])[]): FeatureSet {
  const n = blocks.reduce((a, b) => a + b.targets.length, 0);
  const x = new Float32Array(n * H);
  const targets = new Int32Array(n);
  const indexOf = (id: number): number => {
    const i = subset.index.get(id);
    if (i === undefined) throw new Error(`head training: token ${id} is not among the head's ${subset.ids.length} tokens`);
    return i;
  };
  let at = 0;
  for (const b of blocks) {
    x.set(b.hidden, at * H);
    b.targets.forEach((id, i) => (targets[at + i] = indexOf(id)));
    at += b.targets.length;
  }
  if (!choicesOf) return { x, targets };
  const offsets = new Int32Array(n + 1);
  const classes: number[] = [];
  let row = 0;
  for (const b of blocks) {
    // An example's rows of one level are consecutive and in span order (extractSpanFeatures).
    let k = 0;
    for (let i = 0; i < b.targets.length; i++, row++) {
      k = i > 0 && b.example[i] === b.example[i - 1] ? k + 1 : 0;
      const choices = choicesOf(b.level, b.example[i]!)[k];
      if (!choices) throw new Error(`head training: row ${i} of level ${b.level} has no choices (example ${b.example[i]}, token ${k})`);
      for (const id of choices) classes.push(indexOf(id));
      offsets[row + 1] = classes.length;
    }
  }
  return { x, targets, choices: { offsets, classes: Int32Array.from(classes) } };
}

export interface HeadPlan {
  name: string;
  layer: number;
  levels: number[];
  subset: Int32Array; // [K] label token ids
  /** Rows carry their choices (FeatureSet.choices): trained with a choice mask, scored by choices. */
  choices?: boolean;
}

export interface HeadContext {
  task: TaskDefinition;
  /** The label taxonomy saved in a classification head's manifest; none for thought-then-answer heads. */
  taxonomy?: Taxonomy;
  own: ReturnType<typeof ownHeadCopy>;
  fingerprint: string;
  config: { hiddenSize: number; vocabSize: number; normEps: number };
  emit: (e: TrainEvent) => void;
  signal: AbortSignal | undefined;
  provider: ExecutionProvider;
}

/** Trains one head with early stopping on dev token accuracy; saves its best epoch. `data`: dataDigest of its rows. */
async function trainHead(plan: HeadPlan, train: FeatureSet, dev: FeatureSet, ctx: HeadContext, data: string): Promise<{ report: HeadReport; reused: boolean }> {
  const path = resumePath(ctx, plan.name);
  const key = resumeKey(ctx, data);
  const resume = readResume(ctx, plan.name, key);
  if (resume?.finished) return skipFinished(plan, resume.report, ctx);
  const s = ctx.task.train;
  const trainer = await createHeadTrainer(plan, ctx, resume?.state, (p) => {
    const left = (p.epochExamples - p.examples) / Math.max(p.examplesPerS, 1e-9);
    ctx.emit({ kind: 'progress', head: plan.name, epoch: p.epoch + 1, examples: p.examples, epochExamples: p.epochExamples, loss: p.loss, examplesPerS: p.examplesPerS, etaS: left });
  });
  const report: HeadReport = resume?.report ?? { name: plan.name, layer: plan.layer, levels: plan.levels, epochs: [], bestEpoch: 0, bestDevAccuracy: -1, trainRows: train.targets.length };
  // Without dev rows no epoch is better than another (an accuracy of 0 on none would beat the
  // starting -1 once, and keep epoch 1): every epoch is saved, so the last one stays.
  const noDev = dev.targets.length === 0;
  if (noDev) report.noDev = true;
  // Small datasets count epochs of at least MIN_STEPS_PER_EPOCH steps (stoppingSchedule).
  const schedule = stoppingSchedule(train.targets.length, s.batchSize, s);
  if (schedule.factor > 1 && report.epochs.length === 0) ctx.emit({ kind: 'stage', message: `${plan.name}: ${train.targets.length} rows make ${Math.ceil(train.targets.length / s.batchSize)} steps an epoch, fewer than ${MIN_STEPS_PER_EPOCH}: at most ${schedule.epochs} epochs, patience ${schedule.patience} (what the task leaves to the defaults, ${s.defaulted?.join(' and ')}, ×${schedule.factor})` });
  try {
    let stale = report.epochs.length - report.bestEpoch;
    for (let epoch = report.epochs.length + 1; epoch <= schedule.epochs && stale < schedule.patience; epoch++) {
      if (ctx.signal?.aborted) throw new CancelledError();
      const result: EpochResult = await trainer.epoch(train, ctx.signal);
      const devResult = noDev ? { loss: 0, accuracy: 0 } : await trainer.evaluate(dev);
      const improved = noDev || devResult.accuracy > report.bestDevAccuracy;
      report.epochs.push({ epoch, loss: result.loss, accuracy: result.accuracy, devLoss: devResult.loss, devAccuracy: devResult.accuracy, seconds: result.seconds });
      ctx.emit({ kind: 'epoch', head: plan.name, epoch, loss: result.loss, accuracy: result.accuracy, devLoss: devResult.loss, devAccuracy: devResult.accuracy, improved, seconds: result.seconds, ...(noDev ? { noDev } : {}) });
      if (improved) {
        report.bestEpoch = epoch;
        report.bestDevAccuracy = devResult.accuracy;
        const file = save(plan, trainer, ctx, report);
        ctx.emit({ kind: 'saved', head: plan.name, file });
        stale = 0;
      } else {
        stale++;
      }
      writeResume(path, { ...key, finished: false }, report, trainer);
    }
    // Done: keep only the record, so a rerun with the same settings and data skips this head.
    writeResume(path, { ...key, finished: true }, report);
    return { report, reused: false };
  } finally {
    await trainer.release();
  }
}

/**
 * The trainer of one planned head, as the task's settings say: initialised from the model's own
 * head (and norm), over the plan's token subset. The layer scan (layerScan.ts) trains with the
 * same, so that its figure at a layer is what fine-tuning a head there would reach.
 */
export function createHeadTrainer(plan: HeadPlan, ctx: Pick<HeadContext, 'task' | 'own' | 'config' | 'provider'>, resume?: HeadTrainerState, onProgress?: (p: TrainProgress) => void): Promise<HeadTrainer> {
  const s = ctx.task.train;
  const trained = headNorm(ctx.own, s) === 'trained';
  return HeadTrainer.create({
    hiddenSize: ctx.config.hiddenSize,
    vocabSize: ctx.config.vocabSize,
    normEps: trained ? ctx.config.normEps : undefined,
    bias: false,
    choiceMask: plan.choices ?? false,
    lowRank: s.headKind === 'lowRank' ? s.rank : undefined,
    init: { weight: ctx.own.weight, normWeight: trained ? ctx.own.norm?.weight : undefined },
    vocabSubset: plan.subset,
    optimizer: { lr: s.learningRate, weightDecay: s.weightDecay },
    batchSize: s.batchSize,
    seed: s.seed,
    provider: ctx.provider,
    resume,
    onProgress,
  });
}

function save(plan: HeadPlan, trainer: HeadTrainer, ctx: HeadContext, report: HeadReport): string {
  const p = trainer.params();
  const lowRank = ctx.task.train.headKind === 'lowRank';
  const manifest: Omit<HeadManifest, 'weightsFile'> = {
    format: HEAD_FORMAT,
    name: plan.name,
    layer: plan.layer,
    task: ctx.task.name,
    modelFingerprint: ctx.fingerprint,
    // A full head trained on its labels' rows changed only those rows: store just them.
    kind: lowRank ? 'lowRank' : 'rows',
    ...(lowRank ? { rank: ctx.task.train.rank } : {}),
    ...(ctx.task.train.headNorm === 'none' ? { norm: 'none' as const } : {}),
    ...(ctx.taxonomy ? { taxonomy: ctx.taxonomy.toJSON() } : {}),
    vocabSubset: Array.from(plan.subset),
    ...(plan.choices ? { labelScoring: 'choices' as const } : {}),
    training: { ...report, settings: ctx.task.train },
    createdAt: new Date().toISOString(),
    vocabSize: ctx.config.vocabSize,
    hiddenSize: ctx.config.hiddenSize,
  };
  const written = saveHead(ctx.task.headsDir, manifest, { normWeight: p.norm_weight, weight: p.weight, lowRankA: p.lora_a, lowRankB: p.lora_b });
  return join(ctx.task.headsDir, written.weightsFile);
}

interface ResumeKey {
  fingerprint: string;
  seed: number;
  /** The training settings, serialised: a resume point only continues the same run. */
  settings: string;
  /**
   * Digest of what the head learns from (dataDigest): an edited dataset, prompt or taxonomy
   * changes the rows, so a rerun trains again instead of keeping heads of the old data.
   */
  data: string;
  finished: boolean;
}

function resumePath(ctx: HeadContext, name: string): string {
  return join(ctx.task.headsDir, `.${name}.resume`);
}

function resumeKey(ctx: HeadContext, data: string): Omit<ResumeKey, 'finished'> {
  const s = ctx.task.train;
  return { fingerprint: ctx.fingerprint, seed: s.seed, settings: JSON.stringify(s), data };
}

/** Whether head `name`'s manifest reads and its weights file is beside it. */
function headOnDisk(dir: string, name: string): boolean {
  try {
    return existsSync(join(dir, readManifest(dir, name).weightsFile));
  } catch {
    return false;
  }
}

/** SHA-256 of a head's token subset and its training and dev rows with their targets and choices, each with its length. */
function dataDigest(plan: HeadPlan, train: FeatureSet, dev: FeatureSet): string {
  const hash = createHash('sha256');
  const choices = (set: FeatureSet) => (set.choices ? [set.choices.offsets, set.choices.classes] : [new Int32Array(0)]);
  for (const a of [plan.subset, train.x, train.targets, ...choices(train), dev.x, dev.targets, ...choices(dev)]) {
    hash.update(`${a.length};`);
    hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Version 3 added `data`, version 4 the rows' choices to it (heads learn choices only); an older
 * resume point is not trusted, so its head trains again.
 */
const RESUME_FORMAT = 'hdlm-resume/4';

interface ResumeFile extends ResumeKey {
  format: typeof RESUME_FORMAT;
  report: HeadReport;
  /** The trainer's counters; only an unfinished head's are read. */
  step?: number;
  epoch?: number;
  rng?: number;
}

/**
 * A resume point after every epoch: the trainer's tensors (parameters and moments) in
 * `<path>.safetensors`, the rest in `<path>.json`, written in that order so the JSON only ever
 * describes tensors that are fully on disk. A finished head keeps only the JSON (and needs no trainer).
 */
function writeResume(path: string, key: ResumeKey, report: HeadReport, trainer?: HeadTrainer): void {
  let counters = {};
  if (key.finished) {
    rmSync(`${path}.safetensors`, { force: true });
  } else {
    if (!trainer) throw new Error('head training: an unfinished resume point needs its trainer');
    const snap = trainer.snapshot();
    writeSafetensors(`${path}.safetensors`, Object.fromEntries(Object.entries(snap.tensors).map(([k, v]) => [k, { dtype: 'F32' as const, shape: [v.length], data: v }])));
    counters = { step: snap.step, epoch: snap.epoch, rng: snap.rng };
  }
  const file: ResumeFile = { format: RESUME_FORMAT, ...key, report, ...counters };
  writeAtomically(`${path}.json`, [Buffer.from(JSON.stringify(file))]);
}

/**
 * A resume point of the same run, or undefined (a damaged or foreign one is ignored: training
 * restarts). One that has saved a best epoch counts only while head `name` is still in the
 * task's heads folder: a head whose files were deleted trains again, from the start.
 */
function readResume(ctx: HeadContext, name: string, key: Omit<ResumeKey, 'finished'>): { report: HeadReport; state?: HeadTrainerState; finished: boolean } | undefined {
  const path = resumePath(ctx, name);
  if (!existsSync(`${path}.json`)) return undefined;
  try {
    const file = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as ResumeFile;
    if (file.format !== RESUME_FORMAT || file.fingerprint !== key.fingerprint || file.seed !== key.seed || file.settings !== key.settings || file.data !== key.data) return undefined;
    // The resume point describes a saved best epoch that must still be there.
    if ((file.finished || file.report.bestEpoch > 0) && !headOnDisk(ctx.task.headsDir, name)) return undefined;
    if (file.finished) return { report: file.report, finished: true };
    if (file.step === undefined || file.epoch === undefined || file.rng === undefined) return undefined;
    const st = SafetensorsFile.open(`${path}.safetensors`);
    const tensors = Object.fromEntries(st.names().map((name) => [name, st.read(name)]));
    return { report: file.report, state: { step: file.step, epoch: file.epoch, rng: file.rng, tensors }, finished: false };
  } catch {
    return undefined;
  }
}
