// The two record shapes of HdLM datasets (workspace JSON Lines files and the built datasets),
// and their validators: every problem is reported with its line, and a label hierarchy must be a
// tree. The data builders in tools/ and the engine's trainer share them.
import { JsonlIssue, parseJsonl } from './jsonl';

/** Hierarchical classification: labels[0] is the coarsest level, labels[n-1] the finest. */
export interface HierarchicalRecord {
  id: string;
  text: string;
  labels: string[];
}

/** Thought-then-answer and classification-guided generation: input → thought → answer. */
export interface GuidedRecord {
  id: string;
  input: string;
  thought: string;
  answer: string;
}

interface Validated<T> {
  records: T[];
  /** The line of each record (1-based), for messages that name where a record is. */
  lines: number[];
  issues: JsonlIssue[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A malformed field; caught per line and turned into an issue. */
class FieldError extends Error {}

/**
 * "missing field 'labels'", with the key the line has in its place when it is a near miss (the
 * same but for case or a final s: 'label', 'Text'): the slip is then named, not just the absence.
 */
function missingField(obj: Record<string, unknown>, name: string): FieldError {
  const bare = (key: string): string => key.toLowerCase().replace(/s$/, '');
  const near = Object.keys(obj).find((key) => key !== name && bare(key) === bare(name));
  return new FieldError(`missing field '${name}'${near !== undefined ? ` (found '${near}'; the field is '${name}')` : ''}`);
}

/** A non-blank string field; throws a FieldError naming the field otherwise. */
function stringField(obj: Record<string, unknown>, name: string): string {
  const value = obj[name];
  if (value === undefined) throw missingField(obj, name);
  if (typeof value !== 'string') throw new FieldError(`field '${name}' must be a string`);
  if (value.trim() === '') throw new FieldError(`field '${name}' is empty`);
  return value;
}

function labelsField(obj: Record<string, unknown>): string[] {
  const value = obj['labels'];
  if (value === undefined) throw missingField(obj, 'labels');
  if (!Array.isArray(value) || value.length === 0) throw new FieldError(`field 'labels' must be a non-empty array`);
  return value.map((label, i) => {
    if (typeof label !== 'string' || label.trim() === '') throw new FieldError(`labels[${i}] must be a non-empty string`);
    return label;
  });
}

/**
 * A line's id, as every reader names its examples: its `id` field, a non-blank string or a whole
 * number (exported data often numbers its lines) as its decimal string, so that 17 and "17" are
 * one id (and one split); or "line N" for workspace files that have none (people rarely number
 * their examples; the line number is what an error has to name anyway). Any other `id` is a
 * problem, said in the words of the other fields' problems.
 */
export function recordId(value: unknown, line: number): { id: string } | { problem: string } {
  if (value === undefined) return { id: `line ${line}` };
  if (typeof value === 'number' && Number.isSafeInteger(value)) return { id: String(value) };
  // Past 2^53 the number read is not the one written (two ids could become one): it must be quoted.
  if (Number.isInteger(value)) return { problem: `field 'id' is a whole number too large to read exactly (beyond 2^53): write it as a string` };
  if (typeof value !== 'string') return { problem: `field 'id' must be a string or a whole number, got ${describeValue(value)}` };
  if (value.trim() === '') return { problem: `field 'id' is empty` };
  return { id: value };
}

/** A JSON value in a few characters: numbers and booleans as written, containers by kind. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' && value !== null ? 'an object' : JSON.stringify(value);
}

function idField(obj: Record<string, unknown>, line: number): string {
  const id = recordId(obj['id'], line);
  if ('problem' in id) throw new FieldError(id.problem);
  return id.id;
}

/** Shared loop: parse, convert each line, collect per-line issues, reject duplicate ids. */
function validateLines<T extends { id: string }>(text: string, convert: (obj: Record<string, unknown>, line: number) => T): Validated<T> {
  const { lines, issues } = parseJsonl(text);
  const records: T[] = [];
  const lineOf: number[] = [];
  const seen = new Map<string, number>();
  for (const { line, value } of lines) {
    if (!isObject(value)) {
      issues.push({ line, message: 'expected a JSON object' });
      continue;
    }
    try {
      const record = convert(value, line);
      const first = seen.get(record.id);
      if (first !== undefined) {
        issues.push({ line, message: `duplicate id '${record.id}' (first on line ${first})` });
        continue;
      }
      seen.set(record.id, line);
      records.push(record);
      lineOf.push(line);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      issues.push({ line, message: err.message });
    }
  }
  issues.sort((a, b) => a.line - b.line);
  return { records, lines: lineOf, issues };
}

export function validateGuided(text: string): Validated<GuidedRecord> {
  return validateLines(text, (obj, line) => ({
    id: idField(obj, line),
    input: stringField(obj, 'input'),
    thought: stringField(obj, 'thought'),
    answer: stringField(obj, 'answer'),
  }));
}

/**
 * The depth most records have (the earliest seen among equally common ones): one odd line,
 * first or not, is the one skipped, rather than every line that disagrees with it.
 */
function commonDepth(records: readonly HierarchicalRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.labels.length, (counts.get(r.labels.length) ?? 0) + 1);
  let best = 0;
  for (const [depth, n] of counts) if (n > (counts.get(best) ?? 0)) best = depth;
  return best;
}

/**
 * Checks the record shape, that every record has the same depth (the most common one), and that the labels form a
 * tree: each label sits at one level only and has one parent. Constrained decoding picks a
 * level-d label among the children of the chosen level-(d-1) label, which is only well defined
 * on a tree.
 */
export function validateHierarchical(text: string): Validated<HierarchicalRecord> & { treeViolations: TreeViolation[] } {
  const { records, issues, lines: lineOf } = validateLines(text, (obj, line) => ({
    id: idField(obj, line),
    text: stringField(obj, 'text'),
    labels: labelsField(obj),
  }));
  const depth = commonDepth(records);
  const kept: HierarchicalRecord[] = [];
  const keptLines: number[] = [];
  records.forEach((record, i) => {
    if (record.labels.length !== depth) {
      issues.push({ line: lineOf[i] ?? 0, message: `${record.labels.length} label${record.labels.length === 1 ? '' : 's'}, but most lines have ${depth}` });
      return;
    }
    kept.push(record);
    keptLines.push(lineOf[i] ?? 0);
  });
  const treeViolations = findTreeViolations(kept.map((r) => r.labels), keptLines);
  for (const v of treeViolations) issues.push({ line: v.line, message: v.message });
  issues.sort((a, b) => a.line - b.line);
  return { records: kept, lines: keptLines, issues, treeViolations };
}

/**
 * A line that contradicts the tree the earlier lines spell. Besides the message it says which
 * label, where it was first seen and (for a second parent) under which parent, so that the editor
 * can offer to make this line agree with the first one.
 */
interface TreeViolation {
  line: number;
  message: string;
  label: string;
  /** The label's level on this line, 0 = the coarsest. */
  level: number;
  /** The line that first used the label (1-based, like `line`). */
  firstLine: number;
  /** 'level': first seen at another level; 'parent': first seen under another parent. */
  kind: 'level' | 'parent';
  /** For 'parent': the parent on the first line that used the label. */
  firstParent?: string;
}

/**
 * Every label must appear at one level only and, below level 1, under one parent. The first
 * occurrence defines the label; each later contradicting line is reported once per label.
 */
export function findTreeViolations(paths: readonly (readonly string[])[], lines?: readonly number[]): TreeViolation[] {
  const firstSeen = new Map<string, { level: number; parent: string | undefined; line: number }>();
  const reported = new Set<string>();
  const violations: TreeViolation[] = [];
  paths.forEach((path, i) => {
    const line = lines?.[i] ?? i + 1;
    path.forEach((label, level) => {
      const parent = level === 0 ? undefined : path[level - 1];
      const first = firstSeen.get(label);
      if (first === undefined) {
        firstSeen.set(label, { level, parent, line });
        return;
      }
      if (reported.has(label)) return;
      const at = { line, label, level, firstLine: first.line };
      if (first.level !== level) {
        reported.add(label);
        violations.push({ ...at, kind: 'level', message: `label '${label}' is at level ${level + 1} here but at level ${first.level + 1} on line ${first.line}` });
      } else if (first.parent !== parent) {
        reported.add(label);
        violations.push({ ...at, kind: 'parent', firstParent: first.parent, message: `label '${label}' has parent '${parent}' here but '${first.parent}' on line ${first.line}; the hierarchy must be a tree` });
      }
    });
  });
  return violations;
}
