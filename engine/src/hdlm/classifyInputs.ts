// Inputs for classifying a whole file (`hdlm classify --file`): a JSON Lines file gives one input
// per line with a `text` (and, when present, an `id` and its gold `labels`); any other file one
// input per non-empty line. Lines that cannot be an input are reported with their line number and
// skipped, as dataset lines are; nothing is read from the user's file but these.
import { readFileSync } from 'node:fs';
import { parseJsonl, type JsonlIssue } from './dataset/jsonl';

export interface ClassifyInput {
  /** 1-based line in the file. */
  line: number;
  /** The line's `id`, else `line N`. */
  id: string;
  text: string;
  /** The gold path, when the line carries `labels`. */
  labels?: string[];
}

export function readClassifyInputs(file: string): { inputs: ClassifyInput[]; skipped: JsonlIssue[] } {
  const text = readFileSync(file, 'utf8');
  if (!file.endsWith('.jsonl')) {
    const inputs = text.split('\n').flatMap((line, i) => (line.trim() ? [{ line: i + 1, id: `line ${i + 1}`, text: line.trim() }] : []));
    return { inputs, skipped: [] };
  }
  const { lines, issues } = parseJsonl(text);
  const skipped = [...issues];
  const inputs: ClassifyInput[] = [];
  for (const { line, value } of lines) {
    const obj = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    const input = obj?.['text'];
    if (typeof input !== 'string' || !input.trim()) {
      skipped.push({ line, message: 'expected an object with a non-empty "text"' });
      continue;
    }
    const labels = obj!['labels'];
    const gold = Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? (labels as string[]) : undefined;
    inputs.push({ line, id: typeof obj!['id'] === 'string' ? (obj!['id'] as string) : `line ${line}`, text: input.trim(), ...(gold ? { labels: gold } : {}) });
  }
  skipped.sort((a, b) => a.line - b.line);
  return { inputs, skipped };
}
