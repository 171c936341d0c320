// Reading a workspace dataset file for training or evaluation. The rule: lines that are not
// JSON, lack a field, have an empty text or a label path of the wrong depth are skipped and
// reported with file and line; a label hierarchy that is not a tree refuses the whole file
// (which of the conflicting lines is wrong cannot be known); a file with no usable line is
// refused. Nothing is ever written back.
import { readFileSync } from 'node:fs';
import { formatIssues, type JsonlIssue } from './jsonl';
import { GuidedRecord, HierarchicalRecord, validateGuided, validateHierarchical } from './formats';

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
export function issueLines(file: string, issues: readonly JsonlIssue[], shown: number): string[] {
  const lines = issues.slice(0, shown).map((i) => formatIssues(file, [i]));
  return issues.length > shown ? [...lines, `… and ${issues.length - shown} more`] : lines;
}

/** What training and new-task say about a file's skipped lines: a count, then the first few named; none when none. */
export function describeSkipped({ file, skipped }: DatasetIssues, shown = 5): string | undefined {
  if (skipped.length === 0) return undefined;
  return [`${skipped.length} line${skipped.length === 1 ? '' : 's'} of ${file} skipped:`, ...issueLines(file, skipped, shown).map((l) => `  ${l}`)].join('\n');
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'ENOENT' ? '; build it (npm run data) or fix the path in the task file' : '';
    throw new DatasetError(file, [], `${file}: cannot read the dataset (${(err as Error).message})${hint}`);
  }
}

export function readHierarchicalDataset(file: string): { records: HierarchicalRecord[]; issues: DatasetIssues } {
  const text = readText(file);
  const { records, issues, treeViolations: tree } = validateHierarchical(text);
  if (tree.length > 0) throw new DatasetError(file, tree, `${file}: the label paths do not form a tree, so the dataset is refused:`);
  if (records.length === 0) throw new DatasetError(file, issues, `${file}: no usable examples (each line needs {"text": "...", "labels": ["coarse", …, "fine"]}):`);
  return { records, issues: { file, skipped: issues } };
}

/** A thought-then-answer dataset ({"input", "thought", "answer"} lines), by the same rules. */
export function readGuidedDataset(file: string): { records: GuidedRecord[]; issues: DatasetIssues } {
  const { records, issues } = validateGuided(readText(file));
  if (records.length === 0) throw new DatasetError(file, issues, `${file}: no usable examples (each line needs {"input": "...", "thought": "...", "answer": "..."}):`);
  return { records, issues: { file, skipped: issues } };
}
