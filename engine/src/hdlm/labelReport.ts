// The per-label report of a task's last evaluation: for each level, every label's examples,
// precision, recall and F1 (HdLM's, and flat's F1 beside it), the worst labels first, and the
// confusions HdLM makes most. For a hierarchy it also tells the misses a level makes itself from
// those it inherits: an example whose path went wrong above cannot be right below, and a label
// with a poor recall for that reason needs its parent level mended, not its own head.
// A thought-then-answer task gets the same per gold thought, with the answers' accuracy beside.
// When the evaluation replaced an earlier one, the report opens with what changed since: HdLM's
// measures then and now (paired, from the record) and the labels whose F1 moved most.
// It reads only the predictions kept beside the evaluation record: no model runs, and the
// dataset is not needed (a file changed since still has its report).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PREVIOUS_PREDICTIONS_FILE, readHistoryResolved, type HistoryEntry, type SincePrevious } from './evaluationHistory';
import { keptEvaluation, readPredictions } from './evaluationMistakes';
import type { ExamplePrediction, ThoughtPrediction } from './evaluationPredictions';
import { sameText } from './evaluateThought';
import { labelCounts, labelScores, macroF1 } from './metrics';
import { taskDatasets } from './recordFile';
import type { TaskDefinition } from './taskFile';

/** One label at one level. */
export interface LabelRow {
  label: string;
  /** Examples whose gold label this is. */
  examples: number;
  /** Examples HdLM gave this label. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
  /** The flat baseline's F1 for the label. */
  flatF1: number;
  /** Examples of this label HdLM missed. */
  missed: number;
  /** Of those, the ones whose path was already wrong at a level above (always 0 at level 1). */
  missedAbove: number;
}

/** Gold label → what HdLM said instead, over the examples of that gold label. */
export interface Confusion {
  gold: string;
  predicted: string;
  count: number;
  /** Share of the gold label's examples. */
  share: number;
}

export interface LevelReport {
  level: number;
  accuracy: number;
  /** Accuracy over the examples whose path was right at every level above (level 1: all of them). */
  accuracyGivenAbove: number;
  /** Examples whose path was right above. */
  examplesGivenAbove: number;
  macroF1: number;
  flatMacroF1: number;
  /** Worst F1 first; among equals, the label with more examples first. */
  labels: LabelRow[];
  /** The most frequent confusions, most first. */
  confusions: Confusion[];
}

/** A label whose F1 moved since the previous evaluation, on the examples both measured. */
interface LabelChange {
  /** The level (absent for a thought). */
  level?: number;
  label: string;
  /** Its examples among those both measured. */
  examples: number;
  previousF1: number;
  f1: number;
}

/** The record's change since the evaluation it replaced, and the labels that moved most. */
export interface ReportSincePrevious extends SincePrevious {
  /** The LABEL_CHANGES largest F1 changes (either way), largest first; empty without the previous predictions. */
  labels: LabelChange[];
}

/** What every report carries. */
interface ReportHead {
  task: string;
  file: string;
  examples: number;
  finishedAt: string;
  /** Absent for a first evaluation, or one from before 2026-12-06. */
  sincePrevious?: ReportSincePrevious;
  /** Every kept evaluation's headline, oldest first (empty before 2026-12-06). */
  history: HistoryEntry[];
}

export interface ClassifyLabelReport extends ReportHead {
  kind: 'classify';
  levels: LevelReport[];
}

/** One gold thought of a thought-then-answer task. */
export interface ThoughtRow {
  thought: string;
  examples: number;
  /** Examples where HdLM thought this. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
  /** Examples of this thought where HdLM thought another. */
  missed: number;
  /** HdLM's answer accuracy over this thought's examples, and flat's. */
  answerAccuracy: number;
  flatAnswerAccuracy: number;
}

export interface ThoughtLabelReport extends ReportHead {
  kind: 'thoughtThenAnswer';
  thoughtAccuracy: number;
  thoughtMacroF1: number;
  answerAccuracy: number;
  flatAnswerAccuracy: number;
  /** Worst thought F1 first. */
  thoughts: ThoughtRow[];
  confusions: Confusion[];
}

export type LabelReport = ClassifyLabelReport | ThoughtLabelReport;

/** Confusions listed per level: enough to see the pattern, few enough to read. */
const TOP_CONFUSIONS = 10;
/** Labels listed as having moved most since the previous evaluation. */
const LABEL_CHANGES = 10;

const share = (count: number, of: number): number => (of === 0 ? 0 : count / of);

/** Worst F1 first, then more examples first, then by name (a stable order for equal rows). */
function worstFirst<R extends { f1: number; examples: number }>(key: (r: R) => string): (a: R, b: R) => number {
  return (a, b) => a.f1 - b.f1 || b.examples - a.examples || key(a).localeCompare(key(b));
}

/** The TOP_CONFUSIONS most frequent (gold, predicted) pairs where they differ. */
function confusions(gold: readonly string[], predicted: readonly string[]): Confusion[] {
  const pairs = new Map<string, Confusion>();
  const support = new Map<string, number>();
  gold.forEach((g, i) => {
    support.set(g, (support.get(g) ?? 0) + 1);
    const p = predicted[i]!;
    if (p === g) return;
    const key = `${g}\u0000${p}`;
    const pair = pairs.get(key) ?? { gold: g, predicted: p, count: 0, share: 0 };
    pair.count++;
    pairs.set(key, pair);
  });
  return [...pairs.values()]
    .map((c) => ({ ...c, share: share(c.count, support.get(c.gold)!) }))
    .sort((a, b) => b.count - a.count || a.gold.localeCompare(b.gold) || a.predicted.localeCompare(b.predicted))
    .slice(0, TOP_CONFUSIONS);
}

function levelReport(rows: readonly ExamplePrediction[], d: number): LevelReport {
  const gold = rows.map((r) => r.gold[d]!);
  const hdlm = rows.map((r) => r.hdlm.labels[d] ?? '');
  const flat = rows.map((r) => r.flat.labels[d] ?? '');
  const rightAbove = rows.map((r) => r.gold.slice(0, d).every((label, above) => r.hdlm.labels[above] === label));
  const missedAbove = new Map<string, number>();
  rows.forEach((_, i) => {
    // Missed here and already wrong above (a label under two parents could be right below a wrong one).
    if (!rightAbove[i] && hdlm[i] !== gold[i]) missedAbove.set(gold[i]!, (missedAbove.get(gold[i]!) ?? 0) + 1);
  });
  const flatCounts = labelCounts(gold, flat);
  const labels = [...labelCounts(gold, hdlm)].map(([label, c]): LabelRow => ({
    label,
    examples: c.tp + c.fn,
    predicted: c.tp + c.fp,
    ...labelScores(c),
    flatF1: labelScores(flatCounts.get(label) ?? { tp: 0, fp: 0, fn: 0 }).f1,
    missed: c.fn,
    missedAbove: missedAbove.get(label) ?? 0,
  }));
  const given = rows.map((_, i) => i).filter((i) => rightAbove[i]);
  return {
    level: d + 1,
    accuracy: share(gold.filter((g, i) => g === hdlm[i]).length, rows.length),
    accuracyGivenAbove: share(given.filter((i) => gold[i] === hdlm[i]).length, given.length),
    examplesGivenAbove: given.length,
    macroF1: macroF1(gold, hdlm).f1,
    flatMacroF1: macroF1(gold, flat).f1,
    labels: labels.sort(worstFirst((r) => r.label)),
    confusions: confusions(gold, hdlm),
  };
}

/** The report of a classification evaluation's predictions. */
export function classifyLabelReport(rows: readonly ExamplePrediction[]): LevelReport[] {
  const depth = rows.reduce((deepest, r) => Math.max(deepest, r.gold.length), 0);
  return Array.from({ length: depth }, (_, d) => levelReport(rows, d));
}

/**
 * Thoughts are compared as the evaluation compares them (trimmed, case-folded): each is named by
 * the first spelling a gold thought used, so "Animal" and "animal " count as one.
 */
export function thoughtLabelReport(rows: readonly ThoughtPrediction[]): Omit<ThoughtLabelReport, keyof ReportHead | 'kind'> {
  const spelling = new Map<string, string>();
  const key = (text: string): string => {
    const k = text.trim().toLowerCase();
    if (!spelling.has(k)) spelling.set(k, text.trim());
    return k;
  };
  const gold = rows.map((r) => key(r.gold.thought));
  const said = rows.map((r) => key(r.hdlm.thought));
  const answers = new Map<string, { hdlm: number; flat: number }>();
  rows.forEach((r, i) => {
    const a = answers.get(gold[i]!) ?? { hdlm: 0, flat: 0 };
    a.hdlm += Number(r.hdlm.answerRight);
    a.flat += Number(r.flat.answerRight);
    answers.set(gold[i]!, a);
  });
  const thoughts = [...labelCounts(gold, said)].map(([k, c]): ThoughtRow => {
    const examples = c.tp + c.fn;
    const right = answers.get(k) ?? { hdlm: 0, flat: 0 };
    return { thought: spelling.get(k)!, examples, predicted: c.tp + c.fp, ...labelScores(c), missed: c.fn, answerAccuracy: share(right.hdlm, examples), flatAnswerAccuracy: share(right.flat, examples) };
  });
  const named = (ks: string[]): string[] => ks.map((k) => spelling.get(k)!);
  return {
    thoughtAccuracy: share(rows.filter((r) => sameText(r.hdlm.thought, r.gold.thought)).length, rows.length),
    thoughtMacroF1: macroF1(gold, said).f1,
    answerAccuracy: share(rows.filter((r) => r.hdlm.answerRight).length, rows.length),
    flatAnswerAccuracy: share(rows.filter((r) => r.flat.answerRight).length, rows.length),
    thoughts: thoughts.sort(worstFirst((r) => r.thought)),
    confusions: confusions(named(gold), named(said)),
  };
}

type Prediction = ExamplePrediction | ThoughtPrediction;

/** Each label's F1 on some examples: by level for a classification, by thought (no level) for a thought task. */
function f1s(rows: readonly Prediction[]): Map<string, { level?: number; label: string; examples: number; f1: number }> {
  const out = new Map<string, { level?: number; label: string; examples: number; f1: number }>();
  if (rows.length === 0) return out;
  if (Array.isArray(rows[0]!.gold)) {
    for (const level of classifyLabelReport(rows as ExamplePrediction[])) for (const l of level.labels) out.set(`${level.level}\u0000${l.label}`, { level: level.level, label: l.label, examples: l.examples, f1: l.f1 });
  } else {
    for (const t of thoughtLabelReport(rows as ThoughtPrediction[]).thoughts) out.set(t.thought.toLowerCase(), { label: t.thought, examples: t.examples, f1: t.f1 });
  }
  return out;
}

/**
 * The labels whose F1 moved most between the previous predictions and these, over the examples
 * both measured with the same gold (as the record's paired changes are); labels without an
 * example there are left out (their F1 moves with a single stray prediction).
 */
export function labelChanges(before: readonly Prediction[], now: readonly Prediction[]): LabelChange[] {
  const then = new Map(before.map((p) => [p.id, p]));
  const paired = now.filter((p) => JSON.stringify(then.get(p.id)?.gold) === JSON.stringify(p.gold));
  const previous = f1s(paired.map((p) => then.get(p.id)!));
  return [...f1s(paired)]
    .filter(([, l]) => l.examples > 0)
    .map(([key, l]): LabelChange => ({ ...(l.level === undefined ? {} : { level: l.level }), label: l.label, examples: l.examples, previousF1: previous.get(key)?.f1 ?? 0, f1: l.f1 }))
    .filter((c) => c.f1 !== c.previousF1)
    .sort((a, b) => Math.abs(b.f1 - b.previousF1) - Math.abs(a.f1 - a.previousF1) || b.examples - a.examples || a.label.localeCompare(b.label))
    .slice(0, LABEL_CHANGES);
}

/**
 * The record's change since the previous evaluation, with the labels that moved when the previous
 * predictions are there and readable (they only add detail: without them the report still stands).
 */
function sincePrevious(headsDir: string, since: SincePrevious | undefined, now: readonly Prediction[]): { sincePrevious?: ReportSincePrevious } {
  if (!since) return {};
  const file = join(headsDir, PREVIOUS_PREDICTIONS_FILE);
  let labels: LabelChange[] = [];
  try {
    if (existsSync(file)) labels = labelChanges(readPredictions<Prediction>(file), now);
  } catch {
    labels = [];
  }
  return { sincePrevious: { ...since, labels } };
}

/** The per-label report of the task's last evaluation. */
export function readLabelReport(task: TaskDefinition): LabelReport {
  const { record, kind, predictionsFile } = keptEvaluation(task);
  const predictions = readPredictions<Prediction>(predictionsFile);
  const head = { task: task.name, file: record.file, examples: record.examples, finishedAt: record.finishedAt, ...sincePrevious(task.headsDir, record.sincePrevious, predictions), history: readHistoryResolved(task.headsDir, taskDatasets(task)) };
  if (kind === 'thoughtThenAnswer') return { ...head, kind, ...thoughtLabelReport(predictions as ThoughtPrediction[]) };
  return { ...head, kind, levels: classifyLabelReport(predictions as ExamplePrediction[]) };
}
