// Evaluating a task on a held-out file: the HdLM heads (each level at its layer) and the flat
// baseline (every level at the last layer through the flat head), on the same examples, with
// per-level accuracy and macro-F1, joint-path accuracy, and the compute each spent per example.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeAtomically } from '../checkpoint/safetensors';
import { dirname, join } from 'node:path';
import type { Engine } from '../engine';
import { HierarchicalClassifier, resolveBeam, type Classification, type HierarchyBeam } from './classifier';
import type { HierarchicalRecord } from './dataset/formats';
import { readHierarchicalDataset } from './dataset/readDataset';
import { checkHeadsOutsideModel, checkIsFolder } from './headStore';
import { EVALUATION_KEPT_FILES, setAsideForeignKeptFiles } from './keptFile';
import { pairedComparison, pathMetrics, type PairedComparison, type PathMetrics } from './metrics';
import { subsample } from './splits';
import { checkLevelDepth, type TaskDefinition } from './taskFile';
import type { Taxonomy } from './taxonomy';
import { openTask, taskModelFolder, type TaskSession } from './taskSession';
import { fitToContextOnAnyPath } from './features';
import { contextRoom, NAMED, namedTooLong, noExampleFitsError, recordPlace } from './contextFit';
import { appendHistory, evaluatedFileDigest, keepAsPrevious, type SincePrevious } from './evaluationHistory';
import { portableRecordFile, resolveRecordFile } from './recordFile';
import { samePath } from '../samePath';
import type { ThoughtEvaluationRecord } from './evaluateThought';
import { evaluationRecords, NOTHING_EVALUATED, openFlatHead, sampled, skippedLinesNotice, type EvaluationOptions } from './evaluationCommon';
import type { ExamplePrediction, PredictedPath, ThoughtPrediction } from './evaluationPredictions';

interface VariantEvaluation {
  name: 'hdlm' | 'flat';
  metrics: PathMetrics;
  /** Mean per example. */
  perExample: { ms: number; layerPositions: number; level1LayerPositions: number; level1Ms: number };
  /** Layer that decided each level (exiting when sure: each level's own layer, the fallback it is trained for). */
  layers: number[];
  trainedHeads: boolean;
  /**
   * HdLM exiting when sure (the task's exitWhenSure): its threshold, its exit layers, and per
   * level the share of examples decided at each exit layer and the level's accuracy over those
   * examples (null where none was decided; absent in records from before 2026-12-07).
   */
  exitWhenSure?: { threshold: number; layers: number[]; decidedAt: number[][]; accuracyAt?: (number | null)[][] };
}

/**
 * Where an evaluation that exits when sure decided each level: per level and exit layer, the
 * examples decided there and how many of them it got right. Tells whether the early decisions
 * are the wrong ones (then the threshold is too low) or not.
 */
class ExitTally {
  private readonly decided: number[][];
  private readonly right: number[][];

  constructor(
    levels: number,
    private readonly layers: number[],
  ) {
    this.decided = Array.from({ length: levels }, () => layers.map(() => 0));
    this.right = Array.from({ length: levels }, () => layers.map(() => 0));
  }

  add(path: readonly { label: string; layer: number }[], gold: readonly string[]): void {
    path.forEach((d, level) => {
      const at = this.layers.indexOf(d.layer);
      this.decided[level]![at]!++;
      if (d.label === gold[level]) this.right[level]![at]!++;
    });
  }

  figures(threshold: number, examples: number): NonNullable<VariantEvaluation['exitWhenSure']> {
    const n = Math.max(1, examples);
    return {
      threshold,
      layers: this.layers,
      decidedAt: this.decided.map((row) => row.map((c) => c / n)),
      accuracyAt: this.decided.map((row, level) => row.map((c, at) => (c > 0 ? this.right[level]![at]! / c : null))),
    };
  }
}

interface TaskEvaluation {
  task: string;
  file: string;
  examples: number;
  /** Examples left out because they exceed the model's context (on the longest path of the taxonomy, which a beam may explore). */
  tooLong: number;
  /** Lines of the file that are not examples (not JSON, no text, labels of another depth…), skipped and named in a notice. */
  skippedLines: number;
  /**
   * Examples evaluated whose gold path leaves the task's taxonomy (a label never seen in
   * training, or seen under another parent only): neither variant can produce that label after
   * the gold ones above it, so they count as wrong there and on the joint path. Named in a notice.
   */
  unknownLabels: number;
  /** When `maxExamples` took a sample: how many examples the file had. */
  sampledFrom?: number;
  variants: VariantEvaluation[];
  /** The hierarchy beam both variants classified with. */
  beam: HierarchyBeam;
  /** Flat level-1 compute that HdLM's level-1 decision needs (≤ 0.6 is the target). */
  level1ComputeRatio: number;
  /** HdLM minus flat on the same examples, per level and for the joint path. */
  comparison: PairedComparison;
  /** Per example, in file order (only when asked for with `keepPredictions`). */
  predictions?: ExamplePrediction[];
}

/** Each record whose gold path leaves the taxonomy, with where it first does (Taxonomy.departure). */
function outsideTaxonomy<R extends { id: string; labels: readonly string[] }>(records: readonly R[], taxonomy: Taxonomy): { record: R; level: number; label: string; knownUnder?: string }[] {
  return records.flatMap((record) => {
    const away = taxonomy.departure(record.labels);
    return away ? [{ record, ...away }] : [];
  });
}

/**
 * "2 examples have gold labels never seen in training where the path puts them: …: test.jsonl:6
 * level 1 'noun.bogus', test.jsonl:9 level 2 'x' (seen under 'y' only)". Such a label cannot be
 * decoded after the labels above it, so the example counts as wrong there and on the joint path.
 */
function unknownLabelsNotice(source: string, outside: ReturnType<typeof outsideTaxonomy>): string {
  const named = outside.slice(0, NAMED).map((o) => `${recordPlace(source, o.record.id)} level ${o.level} '${o.label}'${o.knownUnder === undefined ? '' : ` (seen under '${o.knownUnder}' only)`}`);
  const more = outside.length > NAMED ? `, and ${outside.length - NAMED} more` : '';
  const n = outside.length === 1 ? '1 example has a gold label' : `${outside.length} examples have gold labels`;
  const them = outside.length === 1 ? 'it' : 'them';
  return `${n} never seen in training where the path puts ${them}: evaluated all the same, and wrong at that level and on the joint path, since neither variant can produce such a label: ${named.join(', ')}${more}`;
}

export async function evaluateTask(engine: Engine, task: TaskDefinition, options: EvaluationOptions & { beam?: number; margin?: number }): Promise<TaskEvaluation> {
  // The record is kept in the heads folder: one that is a file is refused before the run, not after it.
  checkIsFolder(task.headsDir, task);
  checkHeadsOutsideModel(task.headsDir, task, taskModelFolder(task, options.defaultModelDir));
  // Files of the user's where the evaluation keeps its records are moved aside, not replaced (keptFile.ts).
  for (const message of setAsideForeignKeptFiles(task.headsDir, EVALUATION_KEPT_FILES)) options.onNotice?.(message);
  const { file, source, records: all, skipped } = evaluationRecords(task, options.file, readHierarchicalDataset);
  const tell = (message: string): void => options.onNotice?.(message);
  if (skipped.length > 0) tell(skippedLinesNotice(source, skipped));
  // Before the model loads: a file whose label paths are deeper or shallower than the task's
  // levels is refused, as training refuses it (its lines of another depth were skipped above).
  checkLevelDepth(task, all[0]!.labels.length, `in ${source}`);
  const records = subsample(all, options.maxExamples ?? 0, task.train.seed);
  const beam: HierarchyBeam = resolveBeam(options);
  const session = await openTask(engine, task, options.defaultModelDir);
  for (const notice of session.notices) tell(notice);
  try {
    const maxPositions = session.loaded.model.config.maxPositions;
    // Inputs longer than the context are left out (and counted), as training does; but measured
    // on the taxonomy's longest path, not the gold one (fitToContextOnAnyPath says why).
    const { fits: fitting, tooLong } = fitToContextOnAnyPath(session.loaded.model, session.classifier.layout, records);
    // Nothing to measure: refused, so that no empty record replaces the kept one.
    if (fitting.length === 0) throw noExampleFits(session, source, tooLong);
    if (tooLong.length > 0) tell(`${tooLong.length} ${tooLong.length === 1 ? 'example' : 'examples'} left out as longer than the model's context of ${maxPositions} positions on the taxonomy's longest path, which the beam may explore: ${namedTooLong(source, tooLong)}`);
    // Gold labels outside the taxonomy cannot be decoded: such examples are still evaluated (both
    // variants classify them), and count as wrong where the label is out of reach.
    const outside = outsideTaxonomy(fitting, session.taxonomy);
    if (outside.length > 0) tell(unknownLabelsNotice(source, outside));
    const gold = fitting.map((r) => r.labels);
    const run = { fitting, gold, beam, options };
    const hdlm = await runVariant(run, 'hdlm', session.classifier, session.layers, session.manifests.every((m) => m !== undefined));
    const flatClassifier = await openFlatClassifier(session);
    try {
      const flat = await runVariant(run, 'flat', flatClassifier.classifier, session.layers.map(() => session.loaded.checkpoint.config.numLayers), flatClassifier.trained);
      return {
        task: task.name,
        file,
        examples: fitting.length,
        tooLong: tooLong.length,
        skippedLines: skipped.length,
        unknownLabels: outside.length,
        ...sampled(records, all),
        variants: [hdlm.variant, flat.variant],
        beam,
        level1ComputeRatio: hdlm.variant.perExample.level1LayerPositions / Math.max(1, flat.variant.perExample.level1LayerPositions),
        comparison: pairedComparison(gold, hdlm.predictions, flat.predictions),
        predictions: options.keepPredictions
          ? fitting.map((r, i) => ({ id: r.id, gold: r.labels, hdlm: hdlm.paths[i]!, flat: flat.paths[i]! }))
          : undefined,
      };
    } finally {
      await flatClassifier.release();
    }
  } finally {
    await session.release();
  }
}

/** The refusal when no example fits: the context, the examples named, and what a candidate-listing task's own prompt takes. */
function noExampleFits(session: TaskSession, source: string, tooLong: Parameters<typeof namedTooLong>[1]): Error {
  const { layout } = session.classifier;
  const lists = session.task.listCandidates
    ? `; the task lists candidates (listCandidates): the prompt's fixed part (the level-1 candidates with it) takes ${layout.sharedPrefix().length} positions and the longest path's labels and candidate lists ${layout.longestPathTail()} more, before any input; listCandidates: false leaves only the labels`
    : '';
  return noExampleFitsError(source, contextRoom(session.loaded.model.config), tooLong, NOTHING_EVALUATED, { detail: " on the taxonomy's longest path", extra: lists });
}

/**
 * The flat baseline's classifier: every level at the last layer through the task's trained flat
 * head (the model's own head when there is none); `release` frees the trained head.
 */
async function openFlatClassifier(session: TaskSession): Promise<{ classifier: HierarchicalClassifier; trained: boolean; release: () => Promise<void> }> {
  const L = session.loaded.checkpoint.config.numLayers;
  const flat = await openFlatHead(session);
  const head = flat?.head ?? session.loaded.model.ownHead;
  const classifier = new HierarchicalClassifier(session.loaded.model, session.loaded.requireTokenizer(), {
    taxonomy: session.taxonomy,
    levels: session.layers.map(() => ({ layer: L, head, scoring: flat?.scoring ?? 'sequence' })),
    system: session.task.system,
    listCandidates: session.task.listCandidates,
  });
  return { classifier, trained: flat !== undefined, release: async () => await flat?.head.release() };
}

/** One variant (`classifier`, deciding each level at `layers`) over the examples that fit: its figures, paths and labels per example. */
async function runVariant(
  { fitting, gold, beam, options }: { fitting: readonly HierarchicalRecord[]; gold: string[][]; beam: HierarchyBeam; options: EvaluationOptions },
  name: 'hdlm' | 'flat',
  classifier: HierarchicalClassifier,
  layers: number[],
  trainedHeads: boolean,
): Promise<{ variant: VariantEvaluation; paths: PredictedPath[]; predictions: string[][] }> {
  const paths: PredictedPath[] = [];
  const totals = { ms: 0, layerPositions: 0, level1LayerPositions: 0, level1Ms: 0 };
  const exiting = classifier.task.exitWhenSure;
  const tally = exiting ? new ExitTally(layers.length, exiting.exits[0]!.map((e) => e.layer)) : undefined;
  for (const [i, r] of fitting.entries()) {
    const result: Classification = await classifier.classify(r.text, { ...beam, signal: options.signal });
    paths.push({ labels: result.path.map((d) => d.label), probabilities: result.path.map((d) => d.probability), ...(tally ? { layers: result.path.map((d) => d.layer) } : {}) });
    tally?.add(result.path, r.labels);
    totals.ms += result.path.reduce((a, d) => a + d.ms, 0);
    totals.layerPositions += result.path.reduce((a, d) => a + d.layerPositions, 0);
    totals.level1LayerPositions += result.path[0]!.layerPositions;
    totals.level1Ms += result.path[0]!.ms;
    options.onProgress?.(name, i + 1, fitting.length);
  }
  const n = Math.max(1, fitting.length);
  const perExample = { ms: totals.ms / n, layerPositions: totals.layerPositions / n, level1LayerPositions: totals.level1LayerPositions / n, level1Ms: totals.level1Ms / n };
  const predictions = paths.map((p) => p.labels);
  const exitFigures = exiting && tally ? { exitWhenSure: tally.figures(exiting.threshold, fitting.length) } : {};
  return { variant: { name, metrics: pathMetrics(gold, predictions), perExample, layers, trainedHeads, ...exitFigures }, paths, predictions };
}

/**
 * The compact record of an evaluation that the CLI's `--events` stream ends with and that is
 * kept beside the heads as `evaluation.json` (the language server passes it on unchanged as its
 * `EvaluationSummary`): per variant, per-level accuracy and macro-F1, joint accuracy and compute.
 */
export interface EvaluationRecord {
  task: string;
  /** The file evaluated on. */
  file: string;
  examples: number;
  /** Examples left out because they exceed the model's context. */
  tooLong: number;
  /** Lines of the file skipped as not examples (absent in records from before 2026-12-07). */
  skippedLines?: number;
  /** Examples whose gold path leaves the task's taxonomy, counted wrong there (TaskEvaluation.unknownLabels; absent before 2026-12-07). */
  unknownLabels?: number;
  /** When `--max-examples` took a sample: how many examples the file had (absent: all of them). */
  sampledFrom?: number;
  /** Per-level metrics of each variant (HdLM heads, or the flat last-layer baseline). */
  variants: {
    name: 'hdlm' | 'flat';
    /** Layer that decided each level. */
    layers: number[];
    levels: { level: number; accuracy: number; macroF1: number }[];
    jointAccuracy: number;
    /** Mean wall time per example, and the layer·positions it ran (compute). */
    msPerExample: number;
    layerPositionsPerExample: number;
    trainedHeads: boolean;
    /** HdLM exiting when sure: its threshold, exit layers, and the shares decided and accuracy at each (absent otherwise, and before 2026-12-07). */
    exitWhenSure?: VariantEvaluation['exitWhenSure'];
  }[];
  /** Share of the flat baseline's level-1 compute that HdLM's level-1 decision needs. */
  level1ComputeRatio: number;
  /** The hierarchy beam both variants classified with (absent in records from before it had a margin: beam 1). */
  beam?: HierarchyBeam;
  /** HdLM minus flat, paired on the same examples (absent in records from before 2026-12-05). */
  comparison?: PairedComparison;
  /** HdLM now against the evaluation this one replaced (absent for the first, and before 2026-12-06). */
  sincePrevious?: SincePrevious;
  /** ISO time the evaluation ended. */
  finishedAt: string;
}

export function evaluationRecord(result: TaskEvaluation, finishedAt = new Date()): EvaluationRecord {
  return {
    task: result.task,
    file: result.file,
    examples: result.examples,
    tooLong: result.tooLong,
    skippedLines: result.skippedLines,
    unknownLabels: result.unknownLabels,
    ...(result.sampledFrom === undefined ? {} : { sampledFrom: result.sampledFrom }),
    variants: result.variants.map((v) => ({
      name: v.name,
      layers: v.layers,
      levels: v.metrics.levels.map(({ level, accuracy, macroF1 }) => ({ level, accuracy, macroF1 })),
      jointAccuracy: v.metrics.jointAccuracy,
      msPerExample: v.perExample.ms,
      layerPositionsPerExample: v.perExample.layerPositions,
      trainedHeads: v.trainedHeads,
      ...(v.exitWhenSure ? { exitWhenSure: v.exitWhenSure } : {}),
    })),
    level1ComputeRatio: result.level1ComputeRatio,
    beam: result.beam,
    comparison: result.comparison,
    finishedAt: finishedAt.toISOString(),
  };
}

/**
 * Writes each example's gold path and both variants' decisions as JSON Lines, atomically (a
 * stopped run leaves the previous file or none, never half of one).
 */
export function savePredictions(file: string, predictions: readonly (ExamplePrediction | ThoughtPrediction)[]): void {
  writeAtomically(file, predictions.map((p) => Buffer.from(`${JSON.stringify(p)}\n`)));
}

/** File name of the last evaluation record in a task's heads folder. */
export const EVALUATION_FILE = 'evaluation.json';
/** Beside it, that evaluation's per-example predictions (one JSON line per example; evaluationMistakes.ts reads them). */
export const PREDICTIONS_FILE = 'evaluation.predictions.jsonl';

/** Where a record went: written to `file`, unless `kept` says `file` keeps a fuller one. */
export interface KeptRecord {
  file: string;
  kept?: { examples: number; finishedAt: string };
  /** The record as written (with its change since the previous evaluation); absent when kept. */
  written?: EvaluationRecord | ThoughtEvaluationRecord;
  /** Written without a change since the previous evaluation: why (no previous one, another file, no kept predictions…). */
  notCompared?: string;
}

/**
 * Keeps the record beside the heads it measured (atomically: a reader never sees half a file);
 * a thought-then-answer record goes to the same file, told apart by its `kind`. A sample
 * (`--max-examples`) does not replace a whole evaluation of the same file made after the heads
 * were last trained (`headsTrainedAt`, the newest manifest's time): a quick check must not
 * overwrite the full measurement the task panel shows. Any other record replaces the kept one.
 * The record's per-example predictions go with it (PREDICTIONS_FILE), written first, so that a
 * record is never newer than the predictions beside it. The record replaced is kept as the
 * previous evaluation, the new one says what changed since, and its headline joins the task's
 * history (evaluationHistory.ts). The record names its file relative to `headsDir` (recordFile.ts:
 * the record stays valid when the project moves); `datasets`, the task's dataset files, let a
 * kept record from before that, which names an absolute path, be recognised after a move too.
 */
export function saveEvaluationRecord(
  headsDir: string,
  record: EvaluationRecord | ThoughtEvaluationRecord,
  predictions: readonly (ExamplePrediction | ThoughtPrediction)[],
  headsTrainedAt?: string,
  datasets: readonly string[] = [],
): KeptRecord {
  mkdirSync(headsDir, { recursive: true });
  const file = join(headsDir, EVALUATION_FILE);
  const kept = record.sampledFrom === undefined ? undefined : keptWholeRecord(file, record, headsTrainedAt, datasets);
  if (kept) return { file, kept };
  const predictionsFile = join(headsDir, PREDICTIONS_FILE);
  const kind = (record as Partial<ThoughtEvaluationRecord>).kind ?? 'classify';
  const { since: sincePrevious, why } = keepAsPrevious(headsDir, { recordFile: file, predictionsFile }, { kind, file: record.file }, predictions, datasets);
  const written = { ...record, file: portableRecordFile(headsDir, record.file), ...evaluatedFileDigest(record.file), ...(sincePrevious ? { sincePrevious } : {}) };
  savePredictions(predictionsFile, predictions);
  writeAtomically(file, [Buffer.from(`${JSON.stringify(written, null, 1)}\n`)]);
  appendHistory(headsDir, written, headsTrainedAt);
  return { file, written, ...(why === undefined ? {} : { notCompared: why }) };
}

/** The kept record, if it is a whole evaluation of the record's file, of the same kind, newer than the heads. */
function keptWholeRecord(file: string, record: EvaluationRecord | ThoughtEvaluationRecord, headsTrainedAt: string | undefined, datasets: readonly string[]): { examples: number; finishedAt: string } | undefined {
  if (!existsSync(file)) return undefined;
  let kept: Partial<EvaluationRecord & ThoughtEvaluationRecord>;
  try {
    kept = JSON.parse(readFileSync(file, 'utf8')) as typeof kept;
  } catch {
    return undefined; // unreadable: the new record is better than none
  }
  const sameKind = (kept.kind ?? 'classify') === ((record as Partial<ThoughtEvaluationRecord>).kind ?? 'classify');
  const whole = kept.sampledFrom === undefined && typeof kept.examples === 'number' && typeof kept.finishedAt === 'string';
  const current = headsTrainedAt === undefined || (typeof kept.finishedAt === 'string' && kept.finishedAt >= headsTrainedAt);
  // The kept file as read in this heads folder (recordFile.ts), against the one just evaluated.
  const sameFile = typeof kept.file === 'string' && samePath(resolveRecordFile(dirname(file), kept.file, datasets), record.file);
  return sameKind && whole && current && sameFile ? { examples: kept.examples!, finishedAt: kept.finishedAt! } : undefined;
}
