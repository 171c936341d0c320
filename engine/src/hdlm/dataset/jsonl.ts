// JSON Lines in and out. Writing is one JSON.stringify per record, so key order is the order in
// which the record object was built; builders construct records with a fixed key order to keep
// outputs byte-identical between runs.
import { notValidJson } from '../../jsonFile';
import { withoutBom } from '../../textFile';

export function toJsonl(records: readonly object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
}

export interface JsonlLine {
  /** 1-based line number in the source text. */
  line: number;
  value: unknown;
}

export interface JsonlIssue {
  /** 1-based line number, or 0 for an issue about the file as a whole. */
  line: number;
  message: string;
}

/** Parses every non-blank line; a line that is not JSON becomes an issue instead of an exception. */
export function parseJsonl(text: string): { lines: JsonlLine[]; issues: JsonlIssue[] } {
  const lines: JsonlLine[] = [];
  const issues: JsonlIssue[] = [];
  withoutBom(text).split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    try {
      lines.push({ line: index + 1, value: JSON.parse(raw) as unknown });
    } catch (err) {
      issues.push({ line: index + 1, message: notValidJson(err instanceof Error ? err.message : String(err)) });
    }
  });
  return { lines, issues };
}

export function formatIssues(source: string, issues: readonly JsonlIssue[]): string {
  return issues.map((i) => (i.line > 0 ? `${source}:${i.line}: ${i.message}` : `${source}: ${i.message}`)).join('\n');
}
