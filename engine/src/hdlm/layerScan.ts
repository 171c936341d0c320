// Which layer should decide each level? The paper fixes its head layers by hand, and reviewers
// called that choice unprincipled. The scan measures it: one backbone pass over a sample of the
// task's training and dev data collects every level's label rows at every candidate layer, then
// a head is trained for each (level, layer) exactly as fine-tuning would train it there
// (createHeadTrainer, the task's settings, best dev epoch), and each level's dev accuracy at each
// layer is kept. The suggestion per level is the cheapest layer within a tolerance of that
// level's best (an early exit is cheaper the shallower it is), deeper than the level above, so
// the layers can go into the task file as they are. A thought-then-answer task scans its
// thought the same way (any layer below the last, where the answer is written). Nothing is
// written to the heads themselves; the record is kept beside them (layer-scan.json).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import type { LoadedModel } from '../loadedModel';
import { writeAtomically } from '../checkpoint/safetensors';
import { readModelConfig } from '../checkpoint/config';
import { CancelledError } from '../model/segmentedModel';
import type { FeatureSet } from '../train/headTrainer';
import { stoppingSchedule } from '../train/stoppingSchedule';
import { readGuidedDataset, readHierarchicalDataset, type DatasetRead, type DatasetRecord } from './dataset/readDataset';
import type { GuidedRecord, HierarchicalRecord } from './dataset/formats';
import { choiceSequences, extractSpanFeatures, fitToContext, type FeatureRequest } from './features';
import type { LayerFeatures } from './layerFeatures';
import { ClassificationLayout } from './classificationLayout';
import { contextRoom, noExampleFitsError } from './contextFit';
import { checkHeadsFolder, ownHeadCopy } from './headStore';
import { KEPT_FILES, setAsideForeignKeptFiles } from './keptFile';
import { pairedDifference, SIGNIFICANT, type PairedDifference } from './metrics';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence, type SpannedSequence } from './sequenceFormat';
import { subsample } from './splits';
import type { TaskDefinition } from './taskFile';
import type { Taxonomy } from './taxonomy';
import { taskModelFolder } from './taskSession';
import { backboneRuns, labelTokenSubset, planRows, rowsAt, type BackbonePass, type RowsContext } from './headRows';
import { checkLevelRows, checkTrainingTaxonomy, readTrainingData, reportTooLong, trainingTaxonomy } from './trainingData';
import { createHeadTrainer } from './trainHeads';
import type { HeadPlan, TrainEvent, TrainTaskOptions } from './trainTypes';

/** The scan's record, kept beside the task's heads. */
export const LAYER_SCAN_FILE = 'layer-scan.json';
const LAYER_SCAN_FORMAT = 'hdlm-layer-scan/1';

/**
 * Default sample. The dev examples decide between layers a point or so apart, and the best layer
 * is picked on them, so its lead is optimistic: on 2,000 of the thought task's the thought at
 * layer 6 led layer 4 by 1.4 points (significant), on all 7,539 by 0.6 (p 0.06). 8,000 is the
 * whole dev split of the shipped tasks; the training sample matters less (heads train in seconds
 * on 4,000).
 */
export const SCAN_DEFAULTS = { trainExamples: 4000, devExamples: 8000, tolerance: 0.01, maxLayers: 12 } as const;

export interface LayerScanOptions extends Pick<TrainTaskOptions, 'defaultModelDir' | 'signal' | 'featureCache'> {
  /** Training examples sampled (by id hash; the task's own `maxExamples` caps it too). */
  trainExamples?: number;
  /** Dev examples sampled. */
  devExamples?: number;
  /** Layers to try (default: every layer up to 12 layers, else 12 spread evenly, the last always among them). */
  layers?: readonly number[];
  /** A layer within this share of a level's best dev accuracy is as good (default 0.01: one point). */
  tolerance?: number;
  onEvent?: (event: ScanEvent) => void;
}

/** The scan's events: the training events it shares (stage, features), and one per head trained. */
export type ScanEvent =
  | Extract<TrainEvent, { kind: 'stage' | 'features' }>
  | { kind: 'scanCell'; level: number; layer: number; accuracy: number; done: number; total: number; seconds: number };

/** One level's head at one layer. */
export interface ScanCell {
  layer: number;
  /** Dev examples whose label at this level the head gets right, given the gold labels above it (teacher-forced). */
  accuracy: number;
  /** Dev accuracy over the label's choice tokens: what fine-tuning's early stopping reads. */
  tokenAccuracy: number;
  bestEpoch: number;
  epochs: number;
  trainRows: number;
  /** This layer's head minus the level's best one's, paired on the same dev examples (absent in records before 2026-12-06 20:00). */
  vsBest?: PairedDifference;
}

export interface ScanLevel {
  level: number;
  cells: ScanCell[];
  /** The layer with the highest dev accuracy (the shallowest of equals). */
  best: number;
  suggested: number;
  /** The suggested layer's head against the best layer's, paired on the same dev examples. */
  suggestedVsBest: PairedDifference;
}

export interface LayerScanRecord {
  format: typeof LAYER_SCAN_FORMAT;
  task: string;
  /** A thought-then-answer task's scan has one level, its thought (absent in records before it could: classify). */
  kind?: TaskDefinition['kind'];
  modelFingerprint: string;
  numLayers: number;
  /** The layers the task file names now, and those the scan suggests ("last" for the last layer). */
  current: (number | 'last')[];
  suggested: (number | 'last')[];
  tolerance: number;
  examples: { train: number; dev: number };
  layers: number[];
  levels: ScanLevel[];
  /** The training settings every head was trained with. */
  settings: { epochs: number; patience: number; learningRate: number; batchSize: number; seed: number; defaulted?: ('epochs' | 'patience')[] };
  seconds: { features: number; training: number };
  /** Both backbone passes were read back from the feature cache (an earlier scan of the same sample). */
  featuresFromCache?: boolean;
  finishedAt: string;
}

/** The layers a scan tries by default: all of a shallow model's; for a deep one `max` spread evenly, ending at the last. */
export function defaultScanLayers(numLayers: number, max: number = SCAN_DEFAULTS.maxLayers): number[] {
  if (numLayers <= max) return Array.from({ length: numLayers }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: max }, (_, i) => Math.round(((i + 1) * numLayers) / max)))];
}

/**
 * Per level (coarse to fine), the cheapest scanned layer as good as the level's best, among the
 * layers deeper than the level above's choice and leaving a deeper layer for every level below
 * (task files need increasing layers); of equally cheap ones the more accurate. As good: within
 * `tolerance` of the best, or (with `vsBest`, the paired comparisons against the best layer) short
 * of it by no more than chance (p ≥ SIGNIFICANT): a deeper, dearer layer has to earn its cost
 * with a gain that is both larger than the tolerance and real. Where none of those is as good,
 * the best of them. `accuracy[d][i]` is level d+1's at `layers[i]`. A layer's cost is its depth, except that the model's last layer
 * costs the last level what the layer below it does: the engine runs only each row's newest
 * position there (SegmentedModel.runToNewest), so that level ends at the last layer for about
 * the price of ending one layer earlier (measured on WordNet, 2026-12-06: 276 against 275
 * layer·positions per example).
 */
export function suggestLayers(accuracy: readonly (readonly number[])[], layers: readonly number[], tolerance: number, numLayers: number, vsBest?: readonly (readonly PairedDifference[])[]): number[] {
  const depth = accuracy.length;
  if (layers.length < depth) throw new Error(`a layer scan of ${depth} levels needs at least ${depth} layers, got ${layers.length}`);
  const chosen: number[] = [];
  let from = 0; // index of the first layer this level may take
  for (let d = 0; d < depth; d++) {
    const row = accuracy[d]!;
    const best = Math.max(...row);
    const cost = (i: number): number => (d === depth - 1 && layers[i] === numLayers ? numLayers - 1 : layers[i]!);
    const allowed = Array.from({ length: layers.length - (depth - 1 - d) - from }, (_, k) => from + k);
    const good = allowed.filter((i) => row[i]! >= best - tolerance - 1e-12 || (vsBest?.[d]?.[i]?.pValue ?? 0) >= SIGNIFICANT);
    const pick = good.length > 0 ? good.reduce((a, i) => (cost(i) < cost(a) || (cost(i) === cost(a) && row[i]! > row[a]!) ? i : a)) : allowed.reduce((a, i) => (row[i]! > row[a]! ? i : a));
    chosen.push(layers[pick]!);
    from = pick + 1;
  }
  return chosen;
}

/** What a scan trains its heads on, per task kind: each scanned level's rows at every layer. */
interface ScanData {
  /** Levels scanned: every level of a classification task; the thought alone of a thought-then-answer task. */
  depth: number;
  examples: { train: number; dev: number };
  /** Level `level`'s head plan at `layer`, its training and dev rows, and the dev example of each dev row. */
  rows(level: number, layer: number): { plan: HeadPlan; train: FeatureSet; dev: FeatureSet; devExample: Int32Array };
}

/** What the kind-specific readers share: the loaded model, the layers, the backbone runs and the events. */
interface ScanContext {
  loaded: LoadedModel;
  layers: number[];
  runs: Omit<FeatureRequest, 'reads'>;
  rows: RowsContext;
  shared: (e: TrainEvent) => void;
}

/**
 * Scans a task's levels over the model's layers (see the top of this file). A thought-then-answer
 * task scans its thought, whose head can sit at any layer below the last (the answer's).
 */
export async function scanLayers(engine: Engine, task: TaskDefinition, options: LayerScanOptions): Promise<LayerScanRecord> {
  const emit = options.onEvent ?? (() => undefined);
  // The steps shared with fine-tuning tell only stages and the backbone pass's progress.
  const shared = (e: TrainEvent): void => {
    if (e.kind === 'stage' || e.kind === 'features') emit(e);
  };
  // The record goes beside the heads (saveLayerScan): a heads folder that is a file, or holds another
  // task's heads (a copied task file keeps "heads"), is refused before any work, in words of its own (headsFolderProblem).
  const modelDir = taskModelFolder(task, options.defaultModelDir);
  checkHeadsFolder(task.headsDir, task, 'scan', modelDir);
  // A file of the user's named layer-scan.json is moved aside, not replaced (keptFile.ts).
  for (const message of setAsideForeignKeptFiles(task.headsDir, [KEPT_FILES.layerScan])) emit({ kind: 'stage', message });
  const tolerance = options.tolerance ?? SCAN_DEFAULTS.tolerance;
  const settings = task.train;
  const thought = task.kind === 'thoughtThenAnswer';
  const L0 = readModelConfig(join(modelDir, 'config.json')).numLayers;
  // A thought ends below the last layer, where its answer is written.
  const deepest = thought ? L0 - 1 : L0;
  const layers = checkedLayers(options.layers ?? defaultScanLayers(deepest), deepest, thought ? 1 : task.levels.length);
  // The data is read (and a classification's taxonomy checked) before the model loads.
  const sampled = thought ? { kind: 'thought' as const, sample: sampleSplit(task, readGuidedDataset, options, shared) } : classifySample(task, options, shared);
  const loaded = await engine.loadModel(modelDir);
  try {
    const own = ownHeadCopy(loaded.checkpoint);
    const featuresStart = performance.now();
    let cachedPasses = 0;
    const ctx: ScanContext = {
      loaded,
      layers,
      runs: { ...backboneRuns(shared, options, loaded.checkpoint.fingerprint), onCacheHit: () => void cachedPasses++ },
      rows: { hiddenSize: loaded.checkpoint.config.hiddenSize, own, settings },
      shared,
    };
    const data = sampled.kind === 'thought' ? await thoughtData(task, sampled.sample, ctx) : await classifyData(task, sampled.sample, sampled.taxonomy, ctx);
    const featureSeconds = (performance.now() - featuresStart) / 1000;

    // A head per (level, layer), trained as fine-tuning trains one.
    const trainingStart = performance.now();
    const trainerCtx = { task, own, config: loaded.checkpoint.config, provider: loaded.model.provider };
    const total = data.depth * layers.length;
    // Per level and layer: the head's figures, and which dev examples it got right.
    const trained: { cell: Omit<ScanCell, 'vsBest'>; right: boolean[] }[][] = [];
    for (let d = 1; d <= data.depth; d++) {
      const row: (typeof trained)[number] = [];
      for (const layer of layers) {
        const started = performance.now();
        const { plan, train, dev, devExample } = data.rows(d, layer);
        const outcome = await trainAndScore(await createHeadTrainer(plan, trainerCtx), train, dev, devExample, data.examples.dev, settings, options.signal);
        const accuracy = share(outcome.right);
        row.push({ cell: { layer, accuracy, tokenAccuracy: outcome.tokenAccuracy, bestEpoch: outcome.bestEpoch, epochs: outcome.epochs, trainRows: train.targets.length }, right: outcome.right });
        emit({ kind: 'scanCell', level: d, layer, accuracy, done: (d - 1) * layers.length + row.length, total, seconds: (performance.now() - started) / 1000 });
      }
      trained.push(row);
    }

    // Each layer against its level's best (paired), then the suggestion from those.
    const L = loaded.checkpoint.config.numLayers;
    const accuracy = trained.map((row) => row.map((t) => t.cell.accuracy));
    const bestIndex = accuracy.map((row) => row.indexOf(Math.max(...row)));
    const cells: ScanCell[][] = trained.map((row, d) => row.map((t) => ({ ...t.cell, vsBest: pairedDifference(t.right, row[bestIndex[d]!]!.right) })));
    const suggested = suggestLayers(accuracy, layers, tolerance, L, cells.map((row) => row.map((c) => c.vsBest!)));
    const levels: ScanLevel[] = cells.map((row, d) => ({
      level: d + 1,
      cells: row,
      best: layers[bestIndex[d]!]!,
      suggested: suggested[d]!,
      suggestedVsBest: row[layers.indexOf(suggested[d]!)]!.vsBest!,
    }));
    const asTaskLayer = (layer: number): number | 'last' => (layer === L ? 'last' : layer);
    return {
      format: LAYER_SCAN_FORMAT,
      task: task.name,
      kind: task.kind,
      modelFingerprint: loaded.checkpoint.fingerprint,
      numLayers: L,
      current: [...task.levels],
      // A thought-then-answer task's answer stays at the last layer.
      suggested: thought ? [suggested[0]!, 'last'] : suggested.map(asTaskLayer),
      tolerance,
      examples: data.examples,
      layers,
      levels,
      settings: { epochs: settings.epochs, patience: settings.patience, learningRate: settings.learningRate, batchSize: settings.batchSize, seed: settings.seed, ...(settings.defaulted ? { defaulted: settings.defaulted } : {}) },
      seconds: { features: featureSeconds, training: (performance.now() - trainingStart) / 1000 },
      ...(cachedPasses === 2 ? { featuresFromCache: true } : {}),
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await loaded.release();
  }
}

interface Sample<R> {
  /** The whole split (the taxonomy is built from it, as fine-tuning builds it). */
  split: { train: R[]; dev: R[] };
  train: R[];
  dev: R[];
}

/** The task's split, sampled by id hash: at most the scan's training examples (and the task's own cap), and its dev examples. */
function sampleSplit<R extends DatasetRecord>(task: TaskDefinition, read: (file: string) => DatasetRead<R>, options: LayerScanOptions, shared: (e: TrainEvent) => void): Sample<R> {
  const settings = task.train;
  const { split, skippedLines } = readTrainingData({ ...task, train: { ...settings, maxExamples: 0 } }, read, shared);
  const trainCap = Math.min(options.trainExamples ?? SCAN_DEFAULTS.trainExamples, settings.maxExamples > 0 ? settings.maxExamples : Infinity);
  const dev = subsample(split.dev, options.devExamples ?? SCAN_DEFAULTS.devExamples, settings.seed);
  if (dev.length === 0) throw new Error(`${task.name}: no dev examples to compare layers on (${task.dataset.dev ?? task.dataset.train})`);
  if (skippedLines > 0) shared({ kind: 'stage', message: `${skippedLines} dataset lines skipped (see the dataset's problems)` });
  return { split, train: subsample(split.train, trainCap, settings.seed), dev };
}

/** A classification task's sample, and the taxonomy of its whole split (checked against the task's levels). */
function classifySample(task: TaskDefinition, options: LayerScanOptions, shared: (e: TrainEvent) => void): { kind: 'classify'; sample: Sample<HierarchicalRecord>; taxonomy: Taxonomy } {
  const sample = sampleSplit(task, readHierarchicalDataset, options, shared);
  const taxonomy = trainingTaxonomy(sample.split);
  checkTrainingTaxonomy(task, taxonomy);
  return { kind: 'classify', sample, taxonomy };
}

/** A classification task: every level's label-choice rows at every layer, with their choices. */
async function classifyData(task: TaskDefinition, sample: Sample<HierarchicalRecord>, taxonomy: Taxonomy, ctx: ScanContext): Promise<ScanData> {
  const { loaded, layers } = ctx;
  const layout = new ClassificationLayout(sequenceFormat(loaded.requireTokenizer()), { taxonomy, system: task.system, listCandidates: task.listCandidates });
  const depth = task.levels.length;
  const reads = Array.from({ length: depth }, (_, d) => layers.map((layer) => ({ level: d + 1, layer }))).flat();
  const pass = async (records: HierarchicalRecord[], what: string): Promise<BackbonePass & { examples: number }> => {
    const { forced, tooLong } = fitToContext(loaded.model, layout, records);
    if (forced.length === 0) throw noExampleFitsError(scanSource(task, what), contextRoom(loaded.checkpoint.config), tooLong, NOTHING_SCANNED);
    reportTooLong(ctx.shared, what, tooLong.map(({ record, ...t }) => ({ id: record.id, ...t })), loaded.checkpoint.config.maxPositions);
    ctx.shared({ kind: 'stage', message: `running the backbone over ${forced.length} ${what} examples, reading ${depth} levels at ${layers.length} layers` });
    const { sequences, choices } = choiceSequences(forced);
    const features = await extractSpanFeatures(loaded.model, layout.sharedPrefix(), sequences, { reads, ...ctx.runs });
    return { features, choices, examples: forced.length };
  };
  const train = await pass(sample.train, 'training');
  checkLevelRows(train.features, () => layers[0]!, train.examples, task.dataset.train, NOTHING_SCANNED);
  const dev = await pass(sample.dev, 'dev');
  const subsets = Array.from({ length: depth }, (_, d) => labelTokenSubset([layout.choiceTokens([d + 1])]));
  return {
    depth,
    examples: { train: train.examples, dev: dev.examples },
    rows: (level, layer) => {
      const subset = subsets[level - 1]!;
      const plan = { name: `level${level}@${layer}`, layer, levels: [level], subset: subset.ids, choices: true };
      return { plan, train: planRows(train, plan, subset, ctx.rows), dev: planRows(dev, plan, subset, ctx.rows), devExample: blockOf(dev.features, level, layer).example };
    },
  };
}

/**
 * A thought-then-answer task: the thought's tokens (and its closing token) at every layer, read
 * from the teacher-forced sequences fine-tuning trains on. A dev example counts as right when its
 * every thought token is, which is when greedy decoding writes the gold thought.
 */
async function thoughtData(task: TaskDefinition, sample: Sample<GuidedRecord>, ctx: ScanContext): Promise<ScanData> {
  const { loaded, layers } = ctx;
  const format = sequenceFormat(loaded.requireTokenizer());
  const prefix = systemPrefix(format, task.system);
  const max = loaded.checkpoint.config.maxPositions;
  // The answer's tokens are read at the last layer too, though no head here learns from them: so
  // the passes run the very batches fine-tuning runs, and the thought's rows are its rows, bit
  // for bit (batches of other lengths pad differently, which moves the last digits).
  const reads = [...layers.map((layer) => ({ level: 1, layer })), { level: 2, layer: loaded.checkpoint.config.numLayers }];
  const pass = async (records: GuidedRecord[], what: string): Promise<{ sequences: SpannedSequence[]; features: LayerFeatures[] }> => {
    const all = records.map((r) => ({ id: r.id, sequence: thoughtThenAnswerSequence(format, r.input, r.thought, r.answer) }));
    const tokens = (s: SpannedSequence): number => prefix.length + s.ids.length;
    reportTooLong(ctx.shared, what, all.filter((e) => tokens(e.sequence) > max).map((e) => ({ id: e.id, tokens: tokens(e.sequence) })), max);
    const sequences = all.filter((e) => tokens(e.sequence) <= max).map((e) => e.sequence);
    if (sequences.length === 0) throw noExampleFitsError(scanSource(task, what), contextRoom(loaded.checkpoint.config), all.map((e) => ({ record: { id: e.id }, tokens: tokens(e.sequence) })), NOTHING_SCANNED);
    ctx.shared({ kind: 'stage', message: `running the backbone over ${sequences.length} ${what} examples, reading the thought at ${layers.length} layers` });
    return { sequences, features: await extractSpanFeatures(loaded.model, prefix, sequences, { reads, ...ctx.runs }) };
  };
  const train = await pass(sample.train, 'training');
  const dev = await pass(sample.dev, 'dev');
  // The head chooses among the tokens thoughts use, as fine-tuning's thought head does.
  const subset = labelTokenSubset([...train.sequences, ...dev.sequences].map((s) => (s.spans[0] ?? []).map((i) => s.ids[i]!)));
  return {
    depth: 1,
    examples: { train: train.sequences.length, dev: dev.sequences.length },
    rows: (level, layer) => {
      const plan = { name: `thought@${layer}`, layer, levels: [level], subset: subset.ids };
      return { plan, train: rowsAt(train.features, plan, subset, ctx.rows), dev: rowsAt(dev.features, plan, subset, ctx.rows), devExample: blockOf(dev.features, level, layer).example };
    },
  };
}

/** What a scan refused for want of examples left as it was. */
const NOTHING_SCANNED = 'no layer was scanned, and the kept layer scan stays as it was';

/** The file a scan's split comes from: the dev file, when the task names one, for the dev split. */
function scanSource(task: TaskDefinition, what: string): string {
  return what === 'dev' && task.dataset.dev ? task.dataset.dev : task.dataset.train;
}

function blockOf(features: readonly LayerFeatures[], level: number, layer: number): LayerFeatures {
  const block = features.find((f) => f.level === level && f.layer === layer);
  if (!block) throw new Error(`layer scan: no features of level ${level} at layer ${layer}`);
  return block;
}

/** The layers to try, checked against the model: each within 1..L, sorted, and as many as the task has levels. */
function checkedLayers(layers: readonly number[], deepest: number, depth: number): number[] {
  const bad = layers.find((l) => !Number.isInteger(l) || l < 1 || l > deepest);
  if (bad !== undefined) throw new Error(`layer ${bad} cannot be scanned: the layers to scan are 1 to ${deepest}`);
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  if (sorted.length < depth) throw new Error(`${depth} levels need at least ${depth} layers to scan (increasing layers, coarse to fine), got ${sorted.join(', ')}`);
  return sorted;
}

const share = (right: readonly boolean[]): number => (right.length === 0 ? 0 : right.filter(Boolean).length / right.length);

/**
 * Trains one head with fine-tuning's early stopping (best dev token accuracy, `patience` epochs
 * without a better one) and returns, at its best epoch, which dev examples it gets right: an
 * example is right when every one of its rows is (a level whose label is forced by the label
 * above has no rows, and is right).
 */
async function trainAndScore(
  trainer: Awaited<ReturnType<typeof createHeadTrainer>>,
  train: ReturnType<typeof planRows>,
  dev: ReturnType<typeof planRows>,
  devExample: Int32Array,
  devExamples: number,
  settings: TaskDefinition['train'],
  signal: AbortSignal | undefined,
): Promise<{ right: boolean[]; tokenAccuracy: number; bestEpoch: number; epochs: number }> {
  try {
    let best = { right: new Array<boolean>(devExamples).fill(true), tokenAccuracy: -1, bestEpoch: 0 };
    let epoch = 0;
    // As fine-tuning counts them: epochs of at least MIN_STEPS_PER_EPOCH steps (stoppingSchedule).
    const schedule = stoppingSchedule(train.targets.length, settings.batchSize, settings);
    for (let stale = 0; epoch < schedule.epochs && stale < schedule.patience; ) {
      if (signal?.aborted) throw new CancelledError();
      epoch++;
      await trainer.epoch(train, signal);
      const result = await trainer.evaluate(dev);
      if (result.accuracy > best.tokenAccuracy) {
        const right = new Array<boolean>(devExamples).fill(true);
        result.predictions.forEach((p, i) => {
          if (p !== dev.targets[i]) right[devExample[i]!] = false;
        });
        best = { right, tokenAccuracy: result.accuracy, bestEpoch: epoch };
        stale = 0;
      } else {
        stale++;
      }
    }
    return { ...best, epochs: epoch };
  } finally {
    await trainer.release();
  }
}

/** Keeps the record beside the heads, atomically. */
export function saveLayerScan(headsDir: string, record: LayerScanRecord): string {
  const file = join(headsDir, LAYER_SCAN_FILE);
  mkdirSync(headsDir, { recursive: true }); // a scan may come before any fine-tuning
  writeAtomically(file, [Buffer.from(`${JSON.stringify(record, null, 1)}\n`)]);
  return file;
}

/** The kept scan, or undefined when there is none; a damaged one throws, naming the file. */
export function readLayerScan(headsDir: string): LayerScanRecord | undefined {
  const file = join(headsDir, LAYER_SCAN_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let record: LayerScanRecord;
  try {
    record = JSON.parse(text) as LayerScanRecord;
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message}); scan the layers again to rewrite it`, { cause: err });
  }
  if (record.format !== LAYER_SCAN_FORMAT || !Array.isArray(record.levels)) throw new Error(`${file}: not a layer scan record (format ${JSON.stringify(record.format)}); scan the layers again to rewrite it`);
  return record;
}
