// The examples an evaluation got wrong, for looking at: the per-example predictions kept beside
// the evaluation record (evaluation.predictions.jsonl) joined with the evaluated file's texts by
// id. Classification mistakes come ordered by the level where HdLM's path first leaves the gold
// one, and within it the most confident first: a mistake the heads were sure of is the likeliest
// to be a labelling error or a confusion worth a look.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { recordId } from './dataset/formats';
import { parseJsonl } from './dataset/jsonl';
import { readGuidedDataset, readHierarchicalDataset } from './dataset/readDataset';
import { EVALUATION_FILE, PREDICTIONS_FILE } from './evaluateTask';
import { evaluationRecords } from './evaluationCommon';
import type { ExamplePrediction, PredictedPath, ThoughtPrediction } from './evaluationPredictions';
import { sameText } from './evaluateThought';
import { fileDigest, parsePredictions, type SincePrevious } from './evaluationHistory';
import { evaluatedPath, isDevSplitRecord, taskDatasets, withResolvedFiles } from './recordFile';
import { samePath } from '../samePath';
import { readEvaluationRecord } from './evaluationRecordShape';
import type { TaskDefinition } from './taskFile';

export interface ClassifyMistake {
  id: string;
  /** The example's line in `dataset` (1-based). */
  line: number;
  text: string;
  gold: string[];
  hdlm: PredictedPath;
  flat: PredictedPath;
  /** The level (1-based) where HdLM's path first differs from the gold path. */
  wrongAt: number;
  /** Whether the flat baseline got the whole path right. */
  flatRight: boolean;
}

export interface ThoughtMistake {
  id: string;
  /** The example's line in `dataset` (1-based). */
  line: number;
  input: string;
  gold: ThoughtPrediction['gold'];
  hdlm: ThoughtPrediction['hdlm'];
  flat: ThoughtPrediction['flat'];
}

export interface EvaluationMistakes {
  task: string;
  kind: 'classify' | 'thoughtThenAnswer';
  /** The file the evaluation ran on, as its record names it, resolved against the heads folder (recordFile.ts). */
  file: string;
  /** The file the examples were read from (the training file for a held-out dev split). */
  dataset: string;
  /** Examples the evaluation scored. */
  examples: number;
  finishedAt: string;
  /** Classification: ClassifyMistake rows; thought-then-answer: ThoughtMistake rows (thought or answer wrong). */
  mistakes: ClassifyMistake[] | ThoughtMistake[];
}

/** The evaluation's record fields this needs; older records may lack `kind`. */
interface RecordHead {
  file: string;
  examples: number;
  finishedAt: string;
  kind?: string;
  sincePrevious?: SincePrevious;
  /** SHA-256 of the evaluated file when the record was kept (absent before 2026-12-07). */
  fileDigest?: string;
}

/** The kept predictions, one per evaluated example, in file order. */
export function readPredictions<T extends ExamplePrediction | ThoughtPrediction>(file: string): T[] {
  return parsePredictions<T>(readFileSync(file, 'utf8'), file);
}

/**
 * The evaluated records by id: the record's file when it is one, else the dev split training
 * held out (the record then names it "… (dev split, n%)"), drawn again the same way.
 */
function evaluatedRecords<R extends { id: string }>(task: TaskDefinition, record: RecordHead, read: (file: string) => { records: R[] }): { dataset: string; byId: Map<string, R & { line: number }> } {
  const isFile = existsSync(record.file) && statSync(record.file).isFile();
  if (!isFile && !isDevSplitRecord(record.file)) throw new Error(`the evaluated file ${record.file} is not there any more; evaluate the task again`);
  const { records } = evaluationRecords(task, isFile ? record.file : undefined, read);
  const dataset = isFile ? record.file : (task.dataset.test ?? task.dataset.dev ?? task.dataset.train);
  if (record.fileDigest !== undefined && fileDigest(evaluatedPath(record.file)) !== record.fileDigest) throw changedSince(evaluatedPath(record.file), record);
  const lines = linesById(dataset);
  return { dataset, byId: new Map(records.map((r) => [r.id, { ...r, line: lines.get(r.id) ?? 0 }])) };
}

/**
 * Each example's line in its file (1-based), by id, as the dataset readers name examples. An id
 * used again is the first line's: the readers keep that one and skip the later ones.
 */
function linesById(file: string): Map<string, number> {
  const lines = new Map<string, number>();
  for (const { line, value } of parseJsonl(readFileSync(file, 'utf8')).lines) {
    const named = recordId((value as { id?: unknown } | null)?.id, line);
    if ('id' in named && !lines.has(named.id)) lines.set(named.id, line);
  }
  return lines;
}

/** The refusal when the evaluated file is not what the kept predictions were made on. */
function changedSince(file: string, record: RecordHead): Error {
  return new Error(`${file} changed since the evaluation of ${record.finishedAt}: its examples no longer match the kept predictions; run eval again`);
}

/**
 * Looks up every prediction's example, by id, and checks that it is the example evaluated: the
 * same gold answer (an older record keeps no digest of its file, and an edit can give an id, such
 * as "line 3", to another example). A missing or different one means the file changed since.
 */
function joined<P extends { id: string; gold: unknown }, R>(predictions: P[], byId: Map<string, R>, record: RecordHead, gold: (r: R) => unknown): [P, R][] {
  return predictions.map((p) => {
    const found = byId.get(p.id);
    if (!found) throw new Error(`example ${p.id} of the last evaluation is no longer in ${record.file}: the file changed since; evaluate the task again`);
    if (JSON.stringify(gold(found)) !== JSON.stringify(p.gold)) throw changedSince(evaluatedPath(record.file), record);
    return [p, found];
  });
}

function firstWrongLevel(gold: readonly string[], labels: readonly string[]): number {
  const at = gold.findIndex((label, d) => labels[d] !== label);
  return at < 0 ? 0 : at + 1;
}

/** The task's kept evaluation: its record, and the file of per-example predictions beside it. */
export interface KeptEvaluation {
  record: RecordHead;
  kind: 'classify' | 'thoughtThenAnswer';
  predictionsFile: string;
}

/** Finds the task's last evaluation and its predictions, refusing with what to do when either is missing or stale. */
export function keptEvaluation(task: TaskDefinition): KeptEvaluation {
  const recordFile = join(task.headsDir, EVALUATION_FILE);
  if (!existsSync(recordFile)) throw new Error(`${task.name} has no evaluation yet (${recordFile}): evaluate it first`);
  // Checked whole (evaluationRecordShape.ts): a damaged record is refused naming the file and
  // field. Its file then resolved (recordFile.ts): relative to the heads folder, wherever the
  // project now is.
  const checked = readEvaluationRecord(recordFile);
  const kind = checked.kind;
  const record = withResolvedFiles(task.headsDir, checked.record as RecordHead, taskDatasets(task));
  if (kind !== task.kind) throw new Error(`${recordFile} is a ${kind} evaluation but ${task.path} is now a ${task.kind} task: evaluate it again`);
  const predictionsFile = join(task.headsDir, PREDICTIONS_FILE);
  if (!existsSync(predictionsFile)) throw new Error(noPredictions(task, record, predictionsFile));
  return { record, kind, predictionsFile };
}

/**
 * Why mistakes and the report cannot be read, and the command that makes them readable. The
 * usual cause is a fresh clone: the predictions are not tracked in git (2.7 MB for the WordNet
 * test split), so the shipped record comes without them; a record older than kept predictions
 * has none either. Either way one evaluation of the same file writes them.
 */
function noPredictions(task: TaskDefinition, record: RecordHead, predictionsFile: string): string {
  const quote = (path: string): string => (/[\s"'$`\\]/.test(path) ? JSON.stringify(path) : path);
  // The record's file, unless it is what eval picks by itself (the task's test or dev file, or the dev split).
  const byItself = task.dataset.test ?? task.dataset.dev;
  const file = isDevSplitRecord(record.file) || (byItself !== undefined && samePath(record.file, byItself)) ? '' : ` --file ${quote(record.file)}`;
  return (
    `the evaluation of ${task.name} (${record.finishedAt}, ${record.examples} examples) has no per-example predictions beside it: ${predictionsFile} is missing ` +
    `(they are not tracked in git, so a fresh clone has none, and an evaluation from before they were kept wrote none); ` +
    `run the evaluation once more to write them: hdlm eval --task ${quote(task.path)}${file} (in the editor: Evaluate Task)`
  );
}

/**
 * The task's last evaluation's mistakes, those of one gold label or thought when `filter` says so.
 * A filter that could match no evaluated example is refused (MistakeFilterError): "wrong on 0"
 * would read as no mistakes, when the label was mistyped or the level is not the task's.
 */
export function readMistakes(task: TaskDefinition, filter?: MistakeFilter): EvaluationMistakes {
  if (filter) checkFilterLevel(task, filter);
  const all = allMistakes(task, filter);
  return filter ? mistakesOf(all, filter) : all;
}

/** Every mistake of the last evaluation; `filter`'s label is checked against all its examples' gold. */
function allMistakes(task: TaskDefinition, filter: MistakeFilter | undefined): EvaluationMistakes {
  const { record, kind, predictionsFile } = keptEvaluation(task);
  if (kind === 'thoughtThenAnswer') {
    const { dataset, byId } = evaluatedRecords(task, record, readGuidedDataset);
    const head = { task: task.name, kind, file: record.file, dataset, examples: record.examples, finishedAt: record.finishedAt } as const;
    const rows = joined(readPredictions<ThoughtPrediction>(predictionsFile), byId, record, (r) => ({ thought: r.thought, answer: r.answer }));
    if (filter) checkFilterLabel(filter, rows.map(([p]) => [p.gold.thought]), 'gold thought', sameText);
    const wrong = rows.filter(([p]) => !p.hdlm.thoughtRight || !p.hdlm.answerRight);
    // Wrong thoughts first (the answer followed a wrong category), the surest of them first.
    wrong.sort(([a], [b]) => Number(a.hdlm.thoughtRight) - Number(b.hdlm.thoughtRight) || b.hdlm.thoughtProbability - a.hdlm.thoughtProbability);
    return { ...head, mistakes: wrong.map(([p, r]) => ({ id: p.id, line: r.line, input: r.input, gold: p.gold, hdlm: p.hdlm, flat: p.flat })) };
  }
  const { dataset, byId } = evaluatedRecords(task, record, readHierarchicalDataset);
  const head = { task: task.name, kind, file: record.file, dataset, examples: record.examples, finishedAt: record.finishedAt } as const;
  const rows = joined(readPredictions<ExamplePrediction>(predictionsFile), byId, record, (r) => r.labels);
  if (filter) checkFilterLabel(filter, rows.map(([p]) => p.gold), 'gold label', (a, b) => a === b);
  const mistakes: ClassifyMistake[] = rows
    .map(([p, r]) => ({ id: p.id, line: r.line, text: r.text, gold: p.gold, hdlm: p.hdlm, flat: p.flat, wrongAt: firstWrongLevel(p.gold, p.hdlm.labels), flatRight: firstWrongLevel(p.gold, p.flat.labels) === 0 }))
    .filter((m) => m.wrongAt > 0);
  const sureness = (m: ClassifyMistake): number => m.hdlm.probabilities[m.wrongAt - 1] ?? 0;
  mistakes.sort((a, b) => a.wrongAt - b.wrongAt || sureness(b) - sureness(a));
  return { ...head, mistakes };
}

/** Which mistakes to keep: those whose gold label (at `level`, else at any level) or gold thought is `label`. */
export interface MistakeFilter {
  label: string;
  /** 1-based; absent: any level. Not for a thought-then-answer task (a thought has no level): readMistakes refuses it. */
  level?: number;
}

/** A mistake filter that could match no evaluated example: a label none has, a level the task lacks. */
export class MistakeFilterError extends Error {}

function checkFilterLevel(task: TaskDefinition, filter: MistakeFilter): void {
  if (filter.level === undefined) return;
  if (task.kind === 'thoughtThenAnswer') throw new MistakeFilterError(`${task.name} is a thought-then-answer task: a thought has no level; give the gold thought alone`);
  if (!Number.isInteger(filter.level) || filter.level < 1 || filter.level > task.levels.length) throw new MistakeFilterError(`level ${filter.level}: ${task.name} has levels 1 to ${task.levels.length}`);
}

/** Refuses a label that no evaluated example has as its gold (at the filter's level), naming a few that some have. */
function checkFilterLabel(filter: MistakeFilter, golds: readonly (readonly string[])[], what: string, same: (a: string, b: string) => boolean): void {
  const level = filter.level;
  const candidates = level === undefined ? golds.flat() : golds.flatMap((g) => (g[level - 1] === undefined ? [] : [g[level - 1]!]));
  if (candidates.some((l) => same(l, filter.label))) return;
  const known = [...new Set(candidates)].sort();
  // Those that contain what was typed first: the likeliest to be what was meant.
  const typed = filter.label.trim().toLowerCase();
  const shown = [...known.filter((l) => l.toLowerCase().includes(typed)), ...known.filter((l) => !l.toLowerCase().includes(typed))].slice(0, 8);
  const more = known.length > shown.length ? `, … (${known.length} in all)` : '';
  throw new MistakeFilterError(`no evaluated example has the ${what} ${JSON.stringify(filter.label)}${level === undefined ? '' : ` at level ${level}`}; ${level === undefined ? 'there are' : 'that level has'} ${shown.join(', ')}${more}`);
}

/** The mistakes of one gold label (or thought), in the same order; `examples` stays the evaluation's. */
function mistakesOf(result: EvaluationMistakes, filter: MistakeFilter): EvaluationMistakes {
  if (result.kind === 'thoughtThenAnswer') {
    return { ...result, mistakes: (result.mistakes as ThoughtMistake[]).filter((m) => sameText(m.gold.thought, filter.label)) };
  }
  const at = (m: ClassifyMistake): boolean => (filter.level === undefined ? m.gold.includes(filter.label) : m.gold[filter.level - 1] === filter.label);
  return { ...result, mistakes: (result.mistakes as ClassifyMistake[]).filter(at) };
}
