// Reading a workspace dataset file for training or evaluation. The rule: lines that are not
// JSON, lack a field, have an empty text or a label path of the wrong depth are skipped and
// reported with file and line; a label hierarchy that is not a tree refuses the whole file
// (which of the conflicting lines is wrong cannot be known); a file with no usable line is
// refused. Repeated texts (under other labels, or in training and test alike) are said, not
// refused. Nothing is ever written back.
import { formatIssues, type JsonlIssue } from './jsonl';
import { GuidedRecord, HierarchicalRecord, validateGuided, validateHierarchical } from './formats';
import { inputText } from '../sequenceFormat';
import { closeSync, readSync, statSync } from 'node:fs';
import { decodeUtf8, openRegularFile, readProblem, readTextFile, TextFileError, withoutBom } from '../../textFile';

export interface DatasetIssues {
  file: string;
  skipped: JsonlIssue[];
}

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly issues: JsonlIssue[],
    summary: string,
  ) {
    super([summary, ...issueLines(file, issues, 20)].join('\n'));
    this.name = 'DatasetError';
  }
}

/** The first `shown` issues as `file:line: reason`, then how many more: how every command names skipped or refused lines. */
function issueLines(file: string, issues: readonly JsonlIssue[], shown: number): string[] {
  const lines = issues.slice(0, shown).map((i) => formatIssues(file, [i]));
  return issues.length > shown ? [...lines, `… and ${issues.length - shown} more`] : lines;
}

/** What training and new-task say about a file's skipped lines: a count, then the first few named; none when none. */
export function describeSkipped({ file, skipped }: DatasetIssues, shown = 5): string | undefined {
  if (skipped.length === 0) return undefined;
  return listIssues(`${skipped.length} line${skipped.length === 1 ? '' : 's'} of ${file} skipped:`, file, skipped, shown);
}

/** A heading, then the first `shown` issues indented (issueLines). */
function listIssues(heading: string, file: string, issues: readonly JsonlIssue[], shown: number): string {
  return [heading, ...issueLines(file, issues, shown).map((l) => `  ${l}`)].join('\n');
}

/**
 * The file's text, decoded strictly: a byte that is not UTF-8 refuses the file, naming its line
 * (decodeUtf8). With `maxBytes`, a larger file gives only its whole lines within its first
 * `maxBytes` bytes (`head`), unless its first line alone is longer: then all of it.
 */
export function readDatasetText(file: string, maxBytes?: number): { text: string; head?: { fileBytes: number } } {
  try {
    const fileBytes = maxBytes === undefined ? 0 : statSync(file).size;
    if (maxBytes === undefined || fileBytes <= maxBytes) return { text: readTextFile(file) };
    const bytes = Buffer.allocUnsafe(maxBytes);
    const fd = openRegularFile(file);
    let length = 0;
    try {
      for (let got = -1; got !== 0 && length < maxBytes; length += got) got = readSync(fd, bytes, length, maxBytes - length, length);
    } finally {
      closeSync(fd);
    }
    // Cut after the last whole line (a newline byte is never inside a UTF-8 character).
    const end = bytes.subarray(0, length).lastIndexOf(0x0a);
    if (end < 0) return { text: readTextFile(file) };
    return { text: withoutBom(decodeUtf8(bytes.subarray(0, end + 1), file)), head: { fileBytes } };
  } catch (err) {
    if (err instanceof TextFileError && err.code === 'EILSEQ') throw new DatasetError(file, [], err.message);
    const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? '; build it (npm run data) or fix the path in the task file' : '';
    throw new DatasetError(file, [], `${file}: cannot read the dataset (${readProblem(err)})${hint}`);
  }
}

/** Why a file has no usable example: its lines' issues follow (DatasetError), or it has no line with text at all. */
function noExamples(file: string, issues: readonly JsonlIssue[], line: string): string {
  const why = issues.length > 0 ? ':' : ': the file is empty (or only blank lines)';
  return `${file}: no usable examples (each line needs ${line})${why}`;
}

/** A dataset file as read: its usable records, the line of each (1-based), and the lines skipped. */
export interface DatasetRead<R> {
  records: R[];
  lines: number[];
  issues: DatasetIssues;
  /** Only the file's first lines were read (a reader given maxBytes, on a larger file). */
  head?: DatasetHead;
}

/** How much of a file a reader given `maxBytes` read: its first `lines` lines, of a file of `fileBytes` bytes. */
export interface DatasetHead {
  lines: number;
  fileBytes: number;
}

/** Read only the first lines of a file larger than `maxBytes` (DatasetRead.head says how many). */
interface DatasetReadOptions {
  maxBytes?: number;
}

export function readHierarchicalDataset(file: string, { maxBytes }: DatasetReadOptions = {}): DatasetRead<HierarchicalRecord> {
  const { text, head } = readDatasetText(file, maxBytes);
  const { records, lines, issues, treeViolations: tree } = validateHierarchical(text);
  if (tree.length > 0) throw new DatasetError(file, tree, `${file}: the label paths do not form a tree, so the dataset is refused:`);
  if (records.length === 0) throw new DatasetError(file, issues, noExamples(file, issues, '{"text": "...", "labels": ["coarse", …, "fine"]}'));
  return { records, lines, issues: { file, skipped: issues }, ...headOf(text, head) };
}

/** A thought-then-answer dataset ({"input", "thought", "answer"} lines), by the same rules. */
export function readGuidedDataset(file: string, { maxBytes }: DatasetReadOptions = {}): DatasetRead<GuidedRecord> {
  const { text, head } = readDatasetText(file, maxBytes);
  const { records, lines, issues } = validateGuided(text);
  if (records.length === 0) throw new DatasetError(file, issues, noExamples(file, issues, '{"input": "...", "thought": "...", "answer": "..."}'));
  return { records, lines, issues: { file, skipped: issues }, ...headOf(text, head) };
}

/** The `head` of a read that stopped early: the lines it read (the text ends with a newline). */
function headOf(text: string, head: { fileBytes: number } | undefined): { head?: DatasetHead } {
  if (!head) return {};
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return { head: { lines, fileBytes: head.fileBytes } };
}

/** A record of either kind. */
export type DatasetRecord = HierarchicalRecord | GuidedRecord;

/**
 * The text as the duplicate checks compare it: as an input is prepared (inputText: trimmed),
 * runs of white space as one space. Most texts have no run to collapse, and are kept as they
 * are rather than copied (a 100,000-line file makes as many keys).
 */
function textKey(record: DatasetRecord): string {
  const text = inputText('text' in record ? record.text : record.input);
  return /\s\s|[^\S ]/.test(text) ? text.replace(/\s+/g, ' ') : text;
}

/** What a record says about its text, in one string: the label path, or the thought and the answer. */
function labelOf(record: DatasetRecord): string {
  return 'labels' in record ? record.labels.join('/') : `${record.thought}: ${record.answer}`;
}

/** A text in a few words, for a message. */
function preview(key: string): string {
  return key.length > 40 ? `'${key.slice(0, 40)}…'` : `'${key}'`;
}

/**
 * Each text's first record in a file (by index: labels are only compared when a text comes
 * again, which is rare), and, once per text, a later line that labels it otherwise.
 */
function textsOf({ records, lines }: DatasetRead<DatasetRecord>): { first: Map<string, number>; conflicts: JsonlIssue[] } {
  const first = new Map<string, number>();
  const reported = new Set<string>();
  const conflicts: JsonlIssue[] = [];
  records.forEach((record, i) => {
    const key = textKey(record);
    const j = first.get(key);
    if (j === undefined) {
      first.set(key, i);
      return;
    }
    const [there, here] = [labelOf(records[j]!), labelOf(record)];
    if (there === here || reported.has(key)) return;
    reported.add(key);
    conflicts.push({ line: lines[i] ?? 0, message: `the text of line ${lines[j] ?? 0} with other labels (${preview(key)} → ${there} there, ${here} here)` });
  });
  return { first, conflicts };
}

/**
 * What training and new-task say about repeated texts, without refusing anything: in each file,
 * texts that appear with different labels (at most one of them can be right, and the heads learn
 * both); and dev or test examples whose text is a training example's (the heads have seen it, so
 * that split's accuracy overstates what they do on new text). The first few named by file and
 * line, as skipped lines are, then a count. One pass and a Map per file: about 50 ms for the
 * WordNet split's 76,000 lines.
 */
export function describeDuplicateTexts(train: DatasetRead<DatasetRecord>, others: readonly { part: 'dev' | 'test'; read: DatasetRead<DatasetRecord> }[], shown = 3): string[] {
  const trainTexts = textsOf(train);
  const notices: string[] = [];
  const sayConflicts = (file: string, conflicts: readonly JsonlIssue[]): void => {
    const n = conflicts.length;
    if (n > 0) notices.push(listIssues(`${n} text${n === 1 ? '' : 's'} of ${file} appear${n === 1 ? 's' : ''} more than once with different labels:`, file, conflicts, shown));
  };
  sayConflicts(train.issues.file, trainTexts.conflicts);
  for (const { part, read } of others) {
    sayConflicts(read.issues.file, textsOf(read).conflicts);
    const repeats = read.records.flatMap((record, i): JsonlIssue[] => {
      const key = textKey(record);
      const j = trainTexts.first.get(key);
      return j === undefined ? [] : [{ line: read.lines[i] ?? 0, message: `the text of ${train.issues.file}:${train.lines[j] ?? 0} (${preview(key)})` }];
    });
    const n = repeats.length;
    if (n > 0) notices.push(listIssues(`${n} ${part} example${n === 1 ? ' has' : 's have'} the same text as a training example: the ${part} accuracy overstates what the heads do on new text`, read.issues.file, repeats, shown));
  }
  return notices;
}
