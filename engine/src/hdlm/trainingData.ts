// Step 1 of training, for every task kind and for the layer scan: the training and dev records
// of a task's dataset, the taxonomy its classification heads learn and the checks that refuse a
// dataset they could not learn from, and the notices for examples too long for the context.
import { DatasetError, describeDuplicateTexts, describeSkipped, type DatasetRead, type DatasetRecord } from './dataset/readDataset';
import type { HierarchicalRecord } from './dataset/formats';
import type { LayerFeatures } from './layerFeatures';
import { subsample, splitByHash } from './splits';
import { checkLevelDepth, type TaskDefinition } from './taskFile';
import { Taxonomy } from './taxonomy';
import type { TrainEvent } from './trainTypes';

/** What readTrainingData gives: the split before subsampling, the records to train on, and the lines skipped. */
export interface TrainingData<R extends DatasetRecord> {
  split: { train: R[]; dev: R[] };
  train: R[];
  dev: R[];
  skippedLines: number;
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
): TrainingData<R> {
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
