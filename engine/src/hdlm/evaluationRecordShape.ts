// The shape of the evaluation record kept beside a task's heads (`evaluation.json`), checked in
// one place for every reader: `hdlm mistakes` and `hdlm report` (and their LSP requests, through
// evaluationMistakes.ts), the task panel and the hover (server/src/taskSummary.ts). The file is
// the engine's to write, but a hand edit, a bad merge or another version can leave anything
// there; read unchecked, `null` or `[]` came out as "Cannot read properties of null" or a report
// half built from undefined fields. A record that is not what this version writes is refused
// whole, naming the file and the first field that is wrong.
import { readFileSync } from 'node:fs';
import type { EvaluationRecord } from './evaluateTask';
import type { ThoughtEvaluationRecord } from './evaluateThought';

/** A kept record of either kind; old classification records have no `kind`. */
type RecordOfEitherKind = { kind: 'classify'; record: EvaluationRecord } | { kind: 'thoughtThenAnswer'; record: ThoughtEvaluationRecord };

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
const shown = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60) ?? String(v));

/**
 * What is wrong with `value` as a kept evaluation record ("field … must be …, got …"), or
 * undefined when it is one: the fields every reader uses, then the kind's own.
 */
function recordProblem(value: unknown): string | undefined {
  if (!isObject(value)) return `the record must be a JSON object, got ${shown(value)}`;
  const { kind } = value;
  if (kind !== undefined && kind !== 'thoughtThenAnswer') return `field "kind" must be "thoughtThenAnswer" or absent, got ${shown(kind)}`;
  return commonProblem(value) ?? (kind === 'thoughtThenAnswer' ? thoughtProblem(value) : classifyProblem(value));
}

function commonProblem(r: Fields): string | undefined {
  if (typeof r.file !== 'string') return `field "file" must be the path evaluated on, got ${shown(r.file)}`;
  if (!Number.isInteger(r.examples) || (r.examples as number) < 0) return `field "examples" must be a whole number ≥ 0, got ${shown(r.examples)}`;
  if (typeof r.finishedAt !== 'string') return `field "finishedAt" must be an ISO time, got ${shown(r.finishedAt)}`;
  if (r.fileDigest !== undefined && typeof r.fileDigest !== 'string') return `field "fileDigest" must be a string or absent, got ${shown(r.fileDigest)}`;
  if (!Array.isArray(r.variants) || !r.variants.every(isObject)) return `field "variants" must be a list of objects, got ${shown(r.variants)}`;
  return sinceProblem(r.sincePrevious);
}

/** `sincePrevious`, when present: what the report's "since the previous evaluation" section reads. */
function sinceProblem(since: unknown): string | undefined {
  if (since === undefined) return undefined;
  const field = 'field "sincePrevious"';
  if (!isObject(since) || typeof since.file !== 'string' || typeof since.finishedAt !== 'string' || typeof since.examples !== 'number') {
    return `${field} must be an object with "file", "finishedAt" and "examples", got ${shown(since)}`;
  }
  const ok = (c: unknown): boolean => isObject(c) && typeof c.measure === 'string' && typeof c.previous === 'number' && typeof c.now === 'number' && isObject(c.difference);
  if (!Array.isArray(since.changes) || !since.changes.every(ok)) return `${field}.changes must be a list of measures, got ${shown(since.changes)}`;
  return undefined;
}

/** A classification record: per-level metrics in every variant (the panel indexes them by level). */
function classifyProblem(r: Fields): string | undefined {
  for (const [i, v] of (r.variants as Fields[]).entries()) {
    const field = `field "variants[${i}]`;
    if (!Array.isArray(v.levels) || !v.levels.every((l) => isObject(l) && typeof l.accuracy === 'number')) return `${field}.levels" must be a list of per-level metrics, got ${shown(v.levels)}`;
    if (!isExitShares(v.exitWhenSure, v.levels.length)) return `${field}.exitWhenSure" must hold a share per level and exit layer, got ${shown(v.exitWhenSure)}`;
  }
  return undefined;
}

/** A variant's exitWhenSure, when present: a share per level and exit layer (the panel and hover index them so). */
function isExitShares(value: unknown, levels: number): boolean {
  if (value === undefined) return true;
  if (!isObject(value) || typeof value.threshold !== 'number' || !isNumbers(value.layers) || !Array.isArray(value.decidedAt)) return false;
  const width = value.layers.length;
  const fits = (rows: unknown[], cell: (x: unknown) => boolean): boolean => rows.length === levels && rows.every((row) => Array.isArray(row) && row.length === width && row.every(cell));
  const right = value.accuracyAt;
  return fits(value.decidedAt, (x) => typeof x === 'number') && (right === undefined || (Array.isArray(right) && fits(right, (x) => x === null || typeof x === 'number')));
}

/** A thought-then-answer record: an answer accuracy in every variant, and its samples. */
function thoughtProblem(r: Fields): string | undefined {
  const i = (r.variants as Fields[]).findIndex((v) => typeof v.answerAccuracy !== 'number');
  if (i >= 0) return `field "variants[${i}].answerAccuracy" must be a number, got ${shown((r.variants as Fields[])[i]!.answerAccuracy)}`;
  if (!Array.isArray(r.samples)) return `field "samples" must be a list, got ${shown(r.samples)}`;
  return undefined;
}

/** `value` read from `file` as a kept record, or an error naming the file and the field. */
function parseEvaluationRecord(value: unknown, file: string): RecordOfEitherKind {
  const problem = recordProblem(value);
  if (problem) throw new Error(`${file}: not an evaluation record this version can read: ${problem}; evaluate the task again`);
  const r = value as Fields;
  return r.kind === 'thoughtThenAnswer' ? { kind: 'thoughtThenAnswer', record: r as unknown as ThoughtEvaluationRecord } : { kind: 'classify', record: r as unknown as EvaluationRecord };
}

/** The kept record in `file` (which must exist), or an error naming the file and what is wrong (its JSON, or a field). */
export function readEvaluationRecord(file: string): RecordOfEitherKind {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read the evaluation record (${(err as Error).message})`, { cause: err });
  }
  return parseEvaluationRecord(value, file);
}
