// The per-label report of a task's last evaluation: for each level, every label's examples,
// precision, recall and F1 (HdLM's, and flat's F1 beside it), the worst labels first, and the
// confusions HdLM makes most. For a hierarchy it also tells the misses a level makes itself from
// those it inherits: an example whose path went wrong above cannot be right below, and a label
// with a poor recall for that reason needs its parent level mended, not its own head.
// A thought-then-answer task gets the same per gold thought, with the answers' accuracy beside.
// It reads only the predictions kept beside the evaluation record: no model runs, and the
// dataset is not needed (a file changed since still has its report).
import { keptEvaluation, readPredictions } from './evaluationMistakes';
import type { ExamplePrediction } from './evaluateTask';
import { sameText, type ThoughtPrediction } from './evaluateThought';
import { labelCounts, labelScores, macroF1 } from './metrics';
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

export interface ClassifyLabelReport {
  task: string;
  kind: 'classify';
  file: string;
  examples: number;
  finishedAt: string;
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
  /** HdLM's answer accuracy over this thought's examples, and flat's. */
  answerAccuracy: number;
  flatAnswerAccuracy: number;
}

export interface ThoughtLabelReport {
  task: string;
  kind: 'thoughtThenAnswer';
  file: string;
  examples: number;
  finishedAt: string;
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
export const TOP_CONFUSIONS = 10;

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
    if (!rightAbove[i]) missedAbove.set(gold[i]!, (missedAbove.get(gold[i]!) ?? 0) + 1);
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
export function thoughtLabelReport(rows: readonly ThoughtPrediction[]): Omit<ThoughtLabelReport, 'task' | 'kind' | 'file' | 'examples' | 'finishedAt'> {
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
    return { thought: spelling.get(k)!, examples, predicted: c.tp + c.fp, ...labelScores(c), answerAccuracy: share(right.hdlm, examples), flatAnswerAccuracy: share(right.flat, examples) };
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

/** The per-label report of the task's last evaluation. */
export function readLabelReport(task: TaskDefinition): LabelReport {
  const { record, kind, predictionsFile } = keptEvaluation(task);
  const head = { task: task.name, file: record.file, examples: record.examples, finishedAt: record.finishedAt };
  if (kind === 'thoughtThenAnswer') return { ...head, kind, ...thoughtLabelReport(readPredictions<ThoughtPrediction>(predictionsFile)) };
  return { ...head, kind, levels: classifyLabelReport(readPredictions<ExamplePrediction>(predictionsFile)) };
}
