// JSON Lines in and out. Writing is one JSON.stringify per record, so key order is the order in
// which the record object was built; builders construct records with a fixed key order to keep
// outputs byte-identical between runs.
import { notValidJson } from '../../jsonFile';
import { withoutBom } from '../../textFile';
import { errorMessage } from '../../errorMessage';

export function toJsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

interface JsonlLine {
  /** 1-based line number in the source text. */
  line: number;
  value: unknown;
}

export interface JsonlIssue {
  /** 1-based line number, or 0 for an issue about the file as a whole. */
  line: number;
  message: string;
}

/** What every reader of datasets says of a file that is not one (new-task, train, eval, classify --file). */
export const DATASET_IS_JSONL = 'a dataset is a JSON Lines file (*.jsonl): one JSON object a line';

/** How many first non-blank lines, none of them JSON, make a file clearly not JSON Lines (a CSV, a text). */
const NOT_JSONL_LINES = 3;

/**
 * Parses every non-blank line; a line that is not JSON becomes an issue instead of an exception.
 * A file whose first lines are none of them JSON is no JSON Lines file with a few bad lines but
 * another kind of file: one issue for the whole file says so, not one per line.
 */
export function parseJsonl(text: string): { lines: JsonlLine[]; issues: JsonlIssue[] } {
  const lines: JsonlLine[] = [];
  const issues: JsonlIssue[] = [];
  withoutBom(text).split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    try {
      lines.push({ line: index + 1, value: JSON.parse(raw) as unknown });
    } catch (err) {
      issues.push({ line: index + 1, message: notValidJson(errorMessage(err)) });
    }
  });
  const first = issues.slice(0, NOT_JSONL_LINES);
  const firstJson = lines[0]?.line ?? Infinity;
  if (first.length === NOT_JSONL_LINES && first.every((i) => i.line < firstJson)) {
    return { lines: [], issues: [{ line: 0, message: `not a JSON Lines file (line ${first[0]!.line} is ${first[0]!.message}); ${DATASET_IS_JSONL}` }] };
  }
  return { lines, issues };
}

export function formatIssues(source: string, issues: readonly JsonlIssue[]): string {
  return issues.map((i) => (i.line > 0 ? `${source}:${i.line}: ${i.message}` : `${source}: ${i.message}`)).join('\n');
}
