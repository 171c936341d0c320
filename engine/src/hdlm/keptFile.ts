// The records a run keeps in a task's heads folder (evaluation.json and its predictions and
// history, layer-scan.json, train-report.json) are files HdLM rewrites whole. But "heads" is the
// user's to choose, and a folder they chose ("heads": ".") can already hold a file of their own by
// one of those names: their notes in evaluation.json, their log in evaluation.history.jsonl. Such
// a file, or one of ours damaged past reading (a merge conflict, a hand edit), must not be
// replaced or truncated silently. The rule, one for every writer: before a run writes, a kept
// file that exists but is not in the shape HdLM writes is moved aside, renamed to
// `<name>.unreadable-<time>` beside it, and the run says so. Moved, not refused: its bytes are kept
// whole either way, but a refusal would contradict the readers' own advice for a damaged record
// ("evaluate the task again to rewrite it") and waste nothing less than a rerun; moved, not
// overwritten: the user finds their file, by its old name and the time, where they left it.
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a JSON value is a record of the kind a file holds: the few fields that say HdLM wrote it (the readers check the rest). */
export type KeptShape = (value: unknown) => boolean;

/** An evaluation record (evaluation.json, evaluation.previous.json): evaluationRecordShape.ts checks it fully when read. */
const evaluationShape: KeptShape = (v) => isObject(v) && typeof v.finishedAt === 'string' && typeof v.file === 'string' && Array.isArray(v.variants);
/** A line of kept predictions: evaluationHistory.ts's parsePredictions checks the rest. */
const predictionShape: KeptShape = (v) => isObject(v) && typeof v.id === 'string';
/** A line of the evaluation history. */
const historyShape: KeptShape = (v) => isObject(v) && typeof v.finishedAt === 'string' && isObject(v.hdlm);
const layerScanShape: KeptShape = (v) => isObject(v) && typeof v.format === 'string' && v.format.startsWith('hdlm-layer-scan/') && Array.isArray(v.levels);
const trainReportShape: KeptShape = (v) => isObject(v) && typeof v.task === 'string' && Array.isArray(v.heads);

/** Each kept file HdLM writes in a heads folder: its name, whether it is one JSON value or JSON lines, and its shape. */
export const KEPT_FILES = {
  evaluation: { name: 'evaluation.json', lines: false, shape: evaluationShape },
  previousEvaluation: { name: 'evaluation.previous.json', lines: false, shape: evaluationShape },
  predictions: { name: 'evaluation.predictions.jsonl', lines: true, shape: predictionShape },
  previousPredictions: { name: 'evaluation.previous.predictions.jsonl', lines: true, shape: predictionShape },
  history: { name: 'evaluation.history.jsonl', lines: true, shape: historyShape },
  layerScan: { name: 'layer-scan.json', lines: false, shape: layerScanShape },
  trainReport: { name: 'train-report.json', lines: false, shape: trainReportShape },
} as const;

export type KeptFile = (typeof KEPT_FILES)[keyof typeof KEPT_FILES];

/** The files an evaluation writes (saveEvaluationRecord and keepAsPrevious). */
export const EVALUATION_KEPT_FILES: readonly KeptFile[] = [KEPT_FILES.evaluation, KEPT_FILES.previousEvaluation, KEPT_FILES.predictions, KEPT_FILES.previousPredictions, KEPT_FILES.history];

/** Why the file at `path` is not a `kept` file HdLM wrote ("line 2 is not JSON"), or undefined when it is one, or is absent. */
export function keptFileProblem(path: string, kept: KeptFile): string | undefined {
  if (!existsSync(path)) return undefined;
  if (!statSync(path).isFile()) return 'not a file';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot be read (${(err as Error).message})`;
  }
  const values = kept.lines ? text.split('\n').map((line, i) => ({ line, at: `line ${i + 1} ` })).filter((l) => l.line.trim() !== '') : [{ line: text, at: '' }];
  for (const { line, at } of values) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return `${at}is not JSON`.trim();
    }
    if (!kept.shape(value)) return `${at}is not what HdLM writes there`.trim();
  }
  return undefined;
}

/**
 * Moves aside each of `files` in `headsDir` that exists but is not in the shape HdLM writes (the
 * rule above), before a run writes them; returns what it did, one sentence a file, for the run
 * to tell. A directory by one of those names is left where it is: a rename would not make the
 * write safe, and the write names it when it fails.
 */
export function setAsideForeignKeptFiles(headsDir: string, files: readonly KeptFile[], now: Date = new Date()): string[] {
  const said: string[] = [];
  for (const kept of files) {
    const path = join(headsDir, kept.name);
    const problem = keptFileProblem(path, kept);
    if (problem === undefined || problem === 'not a file') continue;
    const aside = `${path}.unreadable-${now.toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, aside);
    said.push(`${path} ${problem}: it is not a record HdLM wrote, so it was moved to ${aside} (kept as it was) instead of being replaced; a heads folder of its own ("heads") keeps HdLM's records apart from other files`);
  }
  return said;
}
