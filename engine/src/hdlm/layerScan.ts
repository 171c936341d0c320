// Which layer should decide each level? The paper fixes its head layers by hand, and reviewers
// called that choice unprincipled. The scan measures it: one backbone pass over a sample of the
// task's training and dev data collects every level's label rows at every candidate layer, then
// a head is trained for each (level, layer) exactly as fine-tuning would train it there
// (createHeadTrainer, the task's settings, best dev epoch), and each level's dev accuracy at each
// layer is kept. The suggestion per level is the cheapest layer within a tolerance of that
// level's best (an early exit is cheaper the shallower it is), deeper than the level above, so
// the layers can go into the task file as they are. Nothing is written to the heads themselves;
// the record is kept beside them (layer-scan.json).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine';
import { writeAtomically } from '../checkpoint/safetensors';
import { readModelConfig } from '../checkpoint/config';
import { CancelledError } from '../model/segmentedModel';
import { readHierarchicalDataset } from './dataset/readDataset';
import type { HierarchicalRecord } from './dataset/formats';
import { choiceSequences, extractSpanFeatures, fitToContext } from './features';
import { ClassificationLayout } from './classificationLayout';
import { ownHeadCopy } from './headStore';
import { pairedDifference, type PairedDifference } from './metrics';
import { sequenceFormat } from './sequenceFormat';
import { subsample } from './splits';
import { checkLevelDepth, type TaskDefinition } from './taskFile';
import {
  backboneRuns,
  createHeadTrainer,
  labelTokenSubset,
  planRows,
  readTrainingData,
  reportTooLong,
  trainingTaxonomy,
  type BackbonePass,
  type TrainEvent,
  type TrainTaskOptions,
} from './trainTask';

/** The scan's record, kept beside the task's heads. */
export const LAYER_SCAN_FILE = 'layer-scan.json';
const LAYER_SCAN_FORMAT = 'hdlm-layer-scan/1';

/** Default sample: enough dev examples that a point of accuracy is about 2 standard errors apart at 80 %. */
export const SCAN_DEFAULTS = { trainExamples: 4000, devExamples: 2000, tolerance: 0.01, maxLayers: 12 } as const;

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
  settings: { epochs: number; patience: number; learningRate: number; batchSize: number; seed: number };
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
 * Per level (coarse to fine), the cheapest scanned layer whose accuracy is within `tolerance` of
 * the level's best, among the layers deeper than the level above's choice and leaving a deeper
 * layer for every level below (task files need increasing layers); of equally cheap ones the more
 * accurate. Where none of those is within the tolerance, the best of them. `accuracy[d][i]` is
 * level d+1's at `layers[i]`. A layer's cost is its depth, except that the model's last layer
 * costs the last level what the layer below it does: the engine runs only each row's newest
 * position there (SegmentedModel.runToNewest), so that level ends at the last layer for about
 * the price of ending one layer earlier (measured on WordNet, 2026-12-06: 276 against 275
 * layer·positions per example).
 */
export function suggestLayers(accuracy: readonly (readonly number[])[], layers: readonly number[], tolerance: number, numLayers: number): number[] {
  const depth = accuracy.length;
  if (layers.length < depth) throw new Error(`a layer scan of ${depth} levels needs at least ${depth} layers, got ${layers.length}`);
  const chosen: number[] = [];
  let from = 0; // index of the first layer this level may take
  for (let d = 0; d < depth; d++) {
    const row = accuracy[d]!;
    const best = Math.max(...row);
    const cost = (i: number): number => (d === depth - 1 && layers[i] === numLayers ? numLayers - 1 : layers[i]!);
    const allowed = Array.from({ length: layers.length - (depth - 1 - d) - from }, (_, k) => from + k);
    const good = allowed.filter((i) => row[i]! >= best - tolerance - 1e-12);
    const pick = good.length > 0 ? good.reduce((a, i) => (cost(i) < cost(a) || (cost(i) === cost(a) && row[i]! > row[a]!) ? i : a)) : allowed.reduce((a, i) => (row[i]! > row[a]! ? i : a));
    chosen.push(layers[pick]!);
    from = pick + 1;
  }
  return chosen;
}

/** Scans a classification task's levels over the model's layers (see the top of this file). */
export async function scanLayers(engine: Engine, task: TaskDefinition, options: LayerScanOptions): Promise<LayerScanRecord> {
  if (task.kind === 'thoughtThenAnswer') throw new Error(`${task.name}: the layer scan measures classification tasks; a thoughtThenAnswer task's thought layer is tried by fine-tuning and evaluating it`);
  const emit = options.onEvent ?? (() => undefined);
  // The steps shared with fine-tuning tell only stages and the backbone pass's progress.
  const shared = (e: TrainEvent): void => {
    if (e.kind === 'stage' || e.kind === 'features') emit(e);
  };
  const tolerance = options.tolerance ?? SCAN_DEFAULTS.tolerance;
  const settings = task.train;
  // 1. Data: the task's split, sampled. The taxonomy is the whole split's, as fine-tuning builds it.
  const { split, skippedLines } = readTrainingData({ ...task, train: { ...settings, maxExamples: 0 } }, readHierarchicalDataset, shared);
  const taxonomy = trainingTaxonomy(split);
  checkLevelDepth(task, taxonomy.depth, 'in the training data');
  const trainCap = Math.min(options.trainExamples ?? SCAN_DEFAULTS.trainExamples, settings.maxExamples > 0 ? settings.maxExamples : Infinity);
  const train = subsample(split.train, trainCap, settings.seed);
  const dev = subsample(split.dev, options.devExamples ?? SCAN_DEFAULTS.devExamples, settings.seed);
  if (dev.length === 0) throw new Error(`${task.name}: no dev examples to compare layers on (${task.dataset.dev ?? task.dataset.train})`);
  if (skippedLines > 0) emit({ kind: 'stage', message: `${skippedLines} dataset lines skipped (see the dataset's problems)` });

  // 2. One backbone pass per split, reading every level at every candidate layer.
  const modelDir = task.model === 'default' ? options.defaultModelDir : task.model;
  const L0 = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const layers = checkedLayers(options.layers ?? defaultScanLayers(L0), L0, task.levels.length);
  const loaded = await engine.loadModel(modelDir);
  try {
    const own = ownHeadCopy(loaded.checkpoint);
    const layout = new ClassificationLayout(sequenceFormat(loaded.requireTokenizer()), { taxonomy, system: task.system, listCandidates: task.listCandidates });
    const depth = task.levels.length;
    const reads = Array.from({ length: depth }, (_, d) => layers.map((layer) => ({ level: d + 1, layer }))).flat();
    const featuresStart = performance.now();
    let cachedPasses = 0;
    const runs = { ...backboneRuns(shared, options, loaded.checkpoint.fingerprint), onCacheHit: () => void cachedPasses++ };
    const pass = async (records: HierarchicalRecord[], what: string): Promise<BackbonePass & { examples: number }> => {
      const { forced, tooLong } = fitToContext(loaded.model, layout, records);
      reportTooLong(shared, what, tooLong.map((t) => ({ id: t.record.id, tokens: t.tokens })), loaded.checkpoint.config.maxPositions);
      emit({ kind: 'stage', message: `running the backbone over ${forced.length} ${what} examples, reading ${depth} levels at ${layers.length} layers` });
      const { sequences, choices } = choiceSequences(forced);
      const features = await extractSpanFeatures(loaded.model, layout.sharedPrefix(), sequences, { reads, ...runs });
      return { features, choices, examples: forced.length };
    };
    const trainPass = await pass(train, 'training');
    const devPass = await pass(dev, 'dev');
    const featureSeconds = (performance.now() - featuresStart) / 1000;

    // 3. A head per (level, layer), trained as fine-tuning trains one.
    const trainingStart = performance.now();
    const ctx = { task, own, config: loaded.checkpoint.config, provider: loaded.model.provider };
    const rowsCtx = { hiddenSize: loaded.checkpoint.config.hiddenSize, own, settings };
    const total = depth * layers.length;
    const levels: ScanLevel[] = [];
    const rights: boolean[][][] = [];
    for (let d = 1; d <= depth; d++) {
      const subset = labelTokenSubset([layout.choiceTokens([d])]);
      const cells: ScanCell[] = [];
      const levelRights: boolean[][] = [];
      for (const layer of layers) {
        const started = performance.now();
        const plan = { name: `level${d}@${layer}`, layer, levels: [d], subset: subset.ids, choices: true };
        const trainRows = planRows(trainPass, plan, subset, rowsCtx);
        const devRows = planRows(devPass, plan, subset, rowsCtx);
        const devExample = devPass.features.find((f) => f.level === d && f.layer === layer)!.example;
        const outcome = await trainAndScore(await createHeadTrainer(plan, ctx), trainRows, devRows, devExample, devPass.examples, settings, options.signal);
        cells.push({ layer, accuracy: share(outcome.right), tokenAccuracy: outcome.tokenAccuracy, bestEpoch: outcome.bestEpoch, epochs: outcome.epochs, trainRows: trainRows.targets.length });
        levelRights.push(outcome.right);
        emit({ kind: 'scanCell', level: d, layer, accuracy: share(outcome.right), done: levels.length * layers.length + cells.length, total, seconds: (performance.now() - started) / 1000 });
      }
      rights.push(levelRights);
      levels.push({ level: d, cells, best: 0, suggested: 0, suggestedVsBest: pairedDifference([], []) });
    }

    // 4. The suggestion, and how far each suggested layer is from its level's best.
    const accuracy = levels.map((l) => l.cells.map((c) => c.accuracy));
    const suggested = suggestLayers(accuracy, layers, tolerance, loaded.checkpoint.config.numLayers);
    levels.forEach((l, d) => {
      const bestIndex = accuracy[d]!.indexOf(Math.max(...accuracy[d]!));
      const pick = layers.indexOf(suggested[d]!);
      l.best = layers[bestIndex]!;
      l.suggested = suggested[d]!;
      l.suggestedVsBest = pairedDifference(rights[d]![pick]!, rights[d]![bestIndex]!);
    });
    const L = loaded.checkpoint.config.numLayers;
    const asTaskLayer = (layer: number): number | 'last' => (layer === L ? 'last' : layer);
    return {
      format: LAYER_SCAN_FORMAT,
      task: task.name,
      modelFingerprint: loaded.checkpoint.fingerprint,
      numLayers: L,
      current: [...task.levels],
      suggested: suggested.map(asTaskLayer),
      tolerance,
      examples: { train: trainPass.examples, dev: devPass.examples },
      layers,
      levels,
      settings: { epochs: settings.epochs, patience: settings.patience, learningRate: settings.learningRate, batchSize: settings.batchSize, seed: settings.seed },
      seconds: { features: featureSeconds, training: (performance.now() - trainingStart) / 1000 },
      ...(cachedPasses === 2 ? { featuresFromCache: true } : {}),
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await loaded.release();
  }
}

/** The layers to try, checked against the model: each within 1..L, sorted, and as many as the task has levels. */
function checkedLayers(layers: readonly number[], numLayers: number, depth: number): number[] {
  const bad = layers.find((l) => !Number.isInteger(l) || l < 1 || l > numLayers);
  if (bad !== undefined) throw new Error(`layer ${bad} cannot be scanned: the model has layers 1 to ${numLayers}`);
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
    for (let stale = 0; epoch < settings.epochs && stale < settings.patience; ) {
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
