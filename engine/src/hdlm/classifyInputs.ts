// Inputs for classifying a whole file (`hdlm classify --file`): a JSON Lines file gives one input
// per line with a `text` (and, when present, an `id` and its gold `labels`); any other file one
// input per non-empty line. Lines that cannot be an input are reported with their line number and
// skipped, as dataset lines are; nothing is read from the user's file but these.
import { readTextFile } from '../textFile';
import { recordId } from './dataset/formats';
import { parseJsonl, type JsonlIssue } from './dataset/jsonl';
import { inputText } from './sequenceFormat';
import type { Taxonomy } from './taxonomy';

interface ClassifyInput {
  /** 1-based line in the file. */
  line: number;
  /** The line's `id` (a whole number as its digits), else `line N`. */
  id: string;
  text: string;
  /** The gold path, when the line carries `labels`. */
  labels?: string[];
  /** Why the line's `labels` cannot be a gold path (not a list of strings), when it has one that cannot. */
  unusableLabels?: string;
}

export function readClassifyInputs(file: string): { inputs: ClassifyInput[]; skipped: JsonlIssue[] } {
  return classifyInputsOf(readTextFile(file), file.toLowerCase().endsWith('.jsonl'));
}

/**
 * The inputs of `text` and the lines skipped, by line: `classify --file` reads a file with it and
 * Classify Each Line an editor's lines (the selection's, whose first is line `firstLine` of the
 * document), so that a line means the same and is reported alike in both.
 */
export function classifyInputsOf(text: string, jsonl: boolean, firstLine = 1): { inputs: ClassifyInput[]; skipped: JsonlIssue[] } {
  const at = (index: number): number => firstLine + index;
  if (!jsonl) {
    const inputs = text.split('\n').flatMap((line, i) => (inputText(line) ? [{ line: at(i), id: `line ${at(i)}`, text: inputText(line) }] : []));
    return { inputs, skipped: [] };
  }
  const { lines, issues } = parseJsonl(text);
  const skipped = issues.map((issue) => ({ ...issue, line: at(issue.line - 1) }));
  const inputs: ClassifyInput[] = [];
  for (const { line: index, value } of lines) {
    const line = at(index - 1);
    const fields = inputFields(value, line);
    if ('problem' in fields) skipped.push({ line, message: fields.problem });
    else inputs.push({ line, ...fields });
  }
  skipped.sort((a, b) => a.line - b.line);
  return { inputs, skipped };
}

/**
 * What is wrong with the gold labels that inputs carry, for the task's taxonomy, by line: a path
 * of another depth than the task's (left out of the accuracy against the labels), or a label the
 * taxonomy does not have where the path puts it (never seen in training: no path the classifier
 * can decode reaches it, so the input counts as wrong there), or `labels` that is not a list of
 * strings at all (`"labels": "noun.act"`). Inputs without labels are fine. Without `taxonomy`
 * (Classify Each Line, in the editor, which has no task's taxonomy at hand) only the last.
 */
export function goldIssues(inputs: readonly ClassifyInput[], taxonomy?: Taxonomy): JsonlIssue[] {
  return inputs.flatMap(({ line, labels, unusableLabels }): JsonlIssue[] => {
    if (unusableLabels !== undefined) return [{ line, message: `${unusableLabels}: left out of the accuracy against the labels` }];
    if (!labels || !taxonomy) return [];
    if (labels.length !== taxonomy.depth) return [{ line, message: `${labels.length} labels, but the task has ${taxonomy.depth} levels: left out of the accuracy against the labels` }];
    const away = taxonomy.departure(labels);
    if (!away) return [];
    const where = away.level === 1 ? 'at level 1' : `at level ${away.level} under '${labels[away.level - 2]!}'`;
    const elsewhere = away.knownUnder === undefined ? 'never seen in training' : `seen in training under '${away.knownUnder}' only`;
    return [{ line, message: `label '${away.label}' ${where} is not in the task's taxonomy (${elsewhere}): it cannot be predicted there, so it counts as wrong` }];
  });
}

/**
 * JSON Lines value on `line` as an input: its `text` as inputs are prepared (inputText), its id as the dataset readers name
 * it (recordId: a whole number as its digits, else `line N`), and its gold `labels` when it has
 * them; or why it cannot be one (no text, an id of another type). (Classify Each Line reads
 * editor lines with it too.)
 */
export function inputFields(value: unknown, line: number): Omit<ClassifyInput, 'line'> | { problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: NO_TEXT };
  const { text, id, labels } = value as Record<string, unknown>;
  if (typeof text !== 'string' || !inputText(text)) return { problem: NO_TEXT };
  const named = recordId(id, line);
  if ('problem' in named) return named;
  return { text: inputText(text), id: named.id, ...goldFields(labels) };
}

/**
 * A line's `labels` as a gold path, or why it cannot be one. Absent or null is no gold; anything
 * else that is not a list of strings is said (classified all the same): counted silently as
 * "without labels", a typo such as `"labels": "noun.act"` would shrink the accuracy's sample unseen.
 */
function goldFields(labels: unknown): Pick<ClassifyInput, 'labels' | 'unusableLabels'> {
  if (labels === undefined || labels === null) return {};
  if (Array.isArray(labels) && labels.every((l) => typeof l === 'string')) return { labels: labels as string[] };
  const shown = JSON.stringify(labels);
  const got = shown.length > 60 ? `${shown.slice(0, 60)}…` : shown;
  const items: unknown[] = Array.isArray(labels) ? labels : [];
  const bad = items.findIndex((l) => typeof l !== 'string');
  const which = bad >= 0 ? ` (item ${bad + 1} is ${JSON.stringify(items[bad])})` : '';
  return { unusableLabels: `"labels" must be a list of label strings, got ${got}${which}` };
}

const NO_TEXT = 'expected an object with a non-empty "text"';
