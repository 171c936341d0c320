// "Did my change help?": each evaluation that replaces the kept one keeps that one as the
// previous evaluation (its record and predictions, copied beside them), and, when both measured
// the same file, HdLM now against HdLM then on the examples both evaluated (same id, same gold;
// another file's ids, "line 3" for a line without one, name other examples), paired: only the
// examples one got right and the other wrong tell the two apart, so a few tenths of a point on
// a few thousand examples is shown as the noise it often is. Every kept evaluation's headline
// also joins the task's history (evaluation.history.jsonl), the log of a tuning session.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../checkpoint/safetensors';
import type { ExamplePrediction, ThoughtPrediction } from './evaluationPredictions';
import { pairedDifference, type PairedDifference } from './metrics';
import { evaluatedPath, portableRecordFile, resolveRecordFile } from './recordFile';
import { samePath } from '../samePath';
import { errorMessage } from '../errorMessage';

/** The replaced evaluation's record and predictions, beside the current ones. */
export const PREVIOUS_EVALUATION_FILE = 'evaluation.previous.json';
export const PREVIOUS_PREDICTIONS_FILE = 'evaluation.previous.predictions.jsonl';

/** One of HdLM's measures now against the previous evaluation, on the examples both measured. */
export interface MeasureChange {
  /** "level 1" … "joint" for a classification; "thought", "answer" for a thought-then-answer task. */
  measure: string;
  /** The share right then and now, over those examples. */
  previous: number;
  now: number;
  /** Now minus previous: `aOnly` examples fixed, `bOnly` broken. */
  difference: PairedDifference;
}

/** What changed since the evaluation this one replaced. */
export interface SincePrevious {
  /** When the previous evaluation ended, and the file it measured. */
  finishedAt: string;
  file: string;
  /** Examples both evaluations measured, with the same gold: the pairs the changes are over. */
  examples: number;
  changes: MeasureChange[];
}

type Prediction = ExamplePrediction | ThoughtPrediction;

/**
 * The kept predictions in a file's text, one per evaluated example, in file order. A line that
 * is not JSON, or not a prediction (a field missing or of the wrong type), throws, naming the
 * file, the line (blank lines counted) and the field: a reader must not trip over it later.
 */
export function parsePredictions<T extends Prediction>(text: string, file: string): T[] {
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON line; evaluate the task again to rewrite it`);
    }
    const problem = predictionProblem(value);
    if (problem) throw new Error(`${file}:${i + 1}: not a kept prediction (${problem}); evaluate the task again to rewrite it`);
    return [value as T];
  });
}

/** The SHA-256 of a file's bytes, hex; undefined when it is not a file. */
export function fileDigest(file: string): string | undefined {
  if (!existsSync(file) || !statSync(file).isFile()) return undefined;
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * `{ fileDigest }` of the file a record evaluated, kept in the record: the kept predictions name
 * examples by id (or line), so Show Mistakes pairs them with the file's texts only while the file
 * is as it was (a line inserted at the top renames every "line N" after it).
 */
export function evaluatedFileDigest(recordFile: string): { fileDigest?: string } {
  const digest = fileDigest(evaluatedPath(recordFile));
  return digest === undefined ? {} : { fileDigest: digest };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isNumbers = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Each field a reader relies on, by kind: where it is and what it must hold. */
const CLASSIFY_FIELDS: [string, (v: unknown) => boolean, string][] = [
  ['gold', isStrings, 'a list of labels'],
  ['hdlm.labels', isStrings, 'a list of labels'],
  ['hdlm.probabilities', isNumbers, 'a list of numbers'],
  ['flat.labels', isStrings, 'a list of labels'],
  ['flat.probabilities', isNumbers, 'a list of numbers'],
];
const THOUGHT_FIELDS: [string, (v: unknown) => boolean, string][] = [
  ['gold.thought', (v) => typeof v === 'string', 'a string'],
  ['gold.answer', (v) => typeof v === 'string', 'a string'],
  ['hdlm.thought', (v) => typeof v === 'string', 'a string'],
  ['hdlm.answer', (v) => typeof v === 'string', 'a string'],
  ['hdlm.thoughtProbability', (v) => typeof v === 'number', 'a number'],
  ['hdlm.thoughtRight', (v) => typeof v === 'boolean', 'true or false'],
  ['hdlm.answerRight', (v) => typeof v === 'boolean', 'true or false'],
  ['flat.answer', (v) => typeof v === 'string', 'a string'],
  ['flat.answerRight', (v) => typeof v === 'boolean', 'true or false'],
];

/** Why a parsed line is not a prediction of either kind ("field hdlm.labels missing"), or undefined. */
function predictionProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (typeof value['id'] !== 'string') return value['id'] === undefined ? 'field "id" missing' : 'field "id" is not a string';
  // A classification's gold is its label path; a thought-then-answer task's an object.
  const fields = isObject(value['gold']) ? THOUGHT_FIELDS : CLASSIFY_FIELDS;
  for (const [path, check, what] of fields) {
    const found = path.split('.').reduce<unknown>((v, key) => (isObject(v) ? v[key] : undefined), value);
    if (found === undefined) return `field "${path}" missing`;
    if (!check(found)) return `field "${path}" is not ${what}`;
  }
  return undefined;
}

const isThought = (p: Prediction): p is ThoughtPrediction => !Array.isArray(p.gold);

/** Per measure, whether HdLM got one example right. */
function rightness(p: Prediction): [string, boolean][] {
  if (isThought(p)) return [['thought', p.hdlm.thoughtRight], ['answer', p.hdlm.answerRight]];
  const levels = p.gold.map((label, d): [string, boolean] => [`level ${d + 1}`, p.hdlm.labels[d] === label]);
  return [...levels, ['joint', levels.every(([, right]) => right)]];
}

/**
 * HdLM now against HdLM then, paired by example id where the gold answer is the same (a file
 * edited in between keeps its unchanged examples); undefined when none pair up.
 */
export function compareWithPrevious(previous: { finishedAt: string; file: string }, before: readonly Prediction[], now: readonly Prediction[]): SincePrevious | undefined {
  const then = new Map(before.map((p) => [p.id, p]));
  const pairs = now.flatMap((p) => {
    const q = then.get(p.id);
    return q && isThought(q) === isThought(p) && JSON.stringify(q.gold) === JSON.stringify(p.gold) ? [[rightness(q), rightness(p)] as const] : [];
  });
  if (pairs.length === 0) return undefined;
  const measures = pairs[0]![1].map(([name]) => name);
  const changes = measures.map((measure, m): MeasureChange => {
    const previousRight = pairs.map(([q]) => q[m]?.[1] === true);
    const nowRight = pairs.map(([, p]) => p[m]![1]);
    const share = (rights: boolean[]): number => rights.filter(Boolean).length / rights.length;
    return { measure, previous: share(previousRight), now: share(nowRight), difference: pairedDifference(nowRight, previousRight) };
  });
  return { finishedAt: previous.finishedAt, file: previous.file, examples: pairs.length, changes };
}

/** The kept evaluation as written: its record's text and what it says, and its predictions' bytes. */
interface Kept {
  recordText: Buffer;
  record: { kind?: string; finishedAt: string; file: string };
  predictionsBytes?: Buffer;
}

/** The kept evaluation, or undefined when there is none or it cannot be read (a new one is better than none). */
function readKept(recordFile: string, predictionsFile: string): Kept | undefined {
  if (!existsSync(recordFile)) return undefined;
  try {
    const recordText = readFileSync(recordFile);
    const record = JSON.parse(recordText.toString('utf8')) as Kept['record'];
    if (typeof record.finishedAt !== 'string' || typeof record.file !== 'string') return undefined;
    if (!existsSync(predictionsFile)) return { recordText, record };
    return { recordText, record, predictionsBytes: readFileSync(predictionsFile) };
  } catch {
    return undefined;
  }
}

/** The new evaluation's change since the one it replaced, or why there is none (said, not stored: `hdlm eval` prints it). */
type SinceOrWhy = { since: SincePrevious; why?: undefined } | { since?: undefined; why: string };

/**
 * Before a new evaluation replaces the kept one in `headsDir`: copies the kept record and its
 * predictions to the previous files (atomically, each whole or not at all) and returns the new
 * evaluation's change since it, when the kept one measured the same `file`, for the same kind of
 * task, and kept its predictions; otherwise why it cannot be compared.
 */
export function keepAsPrevious(
  headsDir: string,
  current: { recordFile: string; predictionsFile: string },
  now: { kind: string; file: string },
  predictions: readonly Prediction[],
  datasets: readonly string[] = [],
): SinceOrWhy {
  if (!existsSync(current.recordFile)) return { why: 'no evaluation was kept here before' };
  const kept = readKept(current.recordFile, current.predictionsFile);
  if (!kept) return { why: `the kept record ${current.recordFile} could not be read` };
  // The predictions first: a previous record is never newer than the predictions beside it. A
  // kept record without predictions (made before they were kept) must not pair with older ones.
  if (kept.predictionsBytes) writeAtomically(join(headsDir, PREVIOUS_PREDICTIONS_FILE), [kept.predictionsBytes]);
  else rmSync(join(headsDir, PREVIOUS_PREDICTIONS_FILE), { force: true });
  writeAtomically(join(headsDir, PREVIOUS_EVALUATION_FILE), [kept.recordText]);
  const why = notComparable(headsDir, kept, now, current.predictionsFile, datasets);
  if (typeof why === 'string') return { why };
  const since = compareWithPrevious({ finishedAt: kept.record.finishedAt, file: portableRecordFile(headsDir, why.keptFile) }, why.before, predictions);
  return since ? { since } : { why: `no example of the previous evaluation (${kept.record.finishedAt}) pairs with one now (the same id with the same gold answer)` };
}

/** Why the kept evaluation cannot be compared with the new one, or what to compare with: its file (resolved) and predictions. */
function notComparable(headsDir: string, kept: Kept, now: { kind: string; file: string }, predictionsFile: string, datasets: readonly string[]): string | { keptFile: string; before: Prediction[] } {
  const previous = `the previous evaluation (${kept.record.finishedAt})`;
  if (!kept.predictionsBytes) return `${previous} kept no per-example predictions (${predictionsFile} was missing: they are not tracked in git, so a fresh clone has none)`;
  if ((kept.record.kind ?? 'classify') !== now.kind) return `${previous} was of the other kind of task`;
  // The kept record's file as read here (relative to the heads folder, or an older absolute path
  // recognised after a move: recordFile.ts) against the absolute path just evaluated; another
  // file's predictions name other examples, so they are never parsed.
  const keptFile = resolveRecordFile(headsDir, kept.record.file, datasets);
  if (!samePath(keptFile, now.file)) return `${previous} measured another file (${keptFile})`;
  try {
    return { keptFile, before: parsePredictions<Prediction>(kept.predictionsBytes.toString('utf8'), predictionsFile) };
  } catch (err) {
    // Damaged: kept as the previous evaluation all the same, but nothing to pair.
    return `${previous}'s predictions could not be read (${errorMessage(err)})`;
  }
}

/** Every kept evaluation's headline, one JSON line each, oldest first (the newest HISTORY_LIMIT). */
export const HISTORY_FILE = 'evaluation.history.jsonl';
/** Entries kept: a long tuning session's worth, a few kilobytes. */
export const HISTORY_LIMIT = 50;

/** One evaluation in the task's history: what it measured and its headline figures. */
export interface HistoryEntry {
  finishedAt: string;
  file: string;
  examples: number;
  /** When a sample was measured: how many examples the file had. */
  sampledFrom?: number;
  kind: 'classify' | 'thoughtThenAnswer';
  /** The layer that decided each level (HdLM). */
  layers: number[];
  /** When the newest head was saved: tells evaluations of the same heads from those of retrained ones. */
  headsTrainedAt?: string;
  /** HdLM's share right per measure ("level 1" … "joint", or "thought", "answer"), and flat's (joint or answer). */
  hdlm: Record<string, number>;
  flat: Record<string, number>;
}

/** The part of either record kind a history entry reads. */
interface HeadlineRecord {
  finishedAt: string;
  file: string;
  examples: number;
  sampledFrom?: number;
  kind?: string;
  variants: { name: string; layers: number[]; levels?: { level: number; accuracy: number }[]; jointAccuracy?: number; thoughtAccuracy?: number; answerAccuracy?: number }[];
}

/** A record's headline: per-level and joint accuracy, or thought and answer accuracy. */
function historyEntry(record: HeadlineRecord, headsTrainedAt: string | undefined): HistoryEntry {
  const hdlm = record.variants.find((v) => v.name === 'hdlm');
  const flat = record.variants.find((v) => v.name === 'flat');
  const thought = record.kind === 'thoughtThenAnswer';
  const figures = (entries: [string, number | undefined][]): Record<string, number> => Object.fromEntries(entries.filter((e): e is [string, number] => typeof e[1] === 'number'));
  return {
    finishedAt: record.finishedAt,
    file: record.file,
    examples: record.examples,
    ...(record.sampledFrom === undefined ? {} : { sampledFrom: record.sampledFrom }),
    kind: thought ? 'thoughtThenAnswer' : 'classify',
    layers: hdlm?.layers ?? [],
    ...(headsTrainedAt === undefined ? {} : { headsTrainedAt }),
    hdlm: thought
      ? figures([['thought', hdlm?.thoughtAccuracy], ['answer', hdlm?.answerAccuracy]])
      : figures([...(hdlm?.levels ?? []).map((l): [string, number] => [`level ${l.level}`, l.accuracy]), ['joint', hdlm?.jointAccuracy]]),
    flat: figures([thought ? ['answer', flat?.answerAccuracy] : ['joint', flat?.jointAccuracy]]),
  };
}

/** The task's history, oldest first; a damaged line is skipped (the history is a log, not a record to trust whole). */
export function readHistory(headsDir: string): HistoryEntry[] {
  const file = join(headsDir, HISTORY_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as HistoryEntry;
        return typeof entry?.finishedAt === 'string' && typeof entry.hdlm === 'object' ? [entry] : [];
      } catch {
        return [];
      }
    });
}

/** The history with each entry's file resolved against the heads folder (recordFile.ts), for showing; readHistory keeps them as written. */
export function readHistoryResolved(headsDir: string, datasets: readonly string[] = []): HistoryEntry[] {
  return readHistory(headsDir).map((entry) => (typeof entry.file === 'string' ? { ...entry, file: resolveRecordFile(headsDir, entry.file, datasets) } : entry));
}

/** Adds a kept evaluation to the history (rewritten atomically, the newest HISTORY_LIMIT entries). */
export function appendHistory(headsDir: string, record: HeadlineRecord, headsTrainedAt: string | undefined): void {
  const entries = [...readHistory(headsDir), historyEntry(record, headsTrainedAt)].slice(-HISTORY_LIMIT);
  writeAtomically(join(headsDir, HISTORY_FILE), entries.map((e) => Buffer.from(`${JSON.stringify(e)}\n`)));
}
