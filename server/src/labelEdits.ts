// Find References and Rename on a label of a hierarchical dataset, or on the thought of a
// thought-then-answer dataset (its categories: a one-level taxonomy). A label is one node of the
// taxonomy: the same string at the same level (the tree check makes the level and the parent
// part of its identity). Both read every line, not just the first MAX_LINES_CHECKED that live
// features index, because a rename that missed the tail of a file would break the tree it
// renames in; and both cover the task's other split files beside the dataset (`x.train.jsonl`,
// `x.dev.jsonl`, `x.test.jsonl`, as New Task from Dataset reads them), because a label renamed in
// the training file alone would leave dev and test with labels no head can predict.
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import { ResponseError, ErrorCodes, type Location, type Position, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { datasetLayout } from '../../engine/src/hdlm/taskCreation';
import { datasetKind, lineText } from './datasetKind';

/** A label under the cursor: its string, its level (0 = coarsest) and the range of its JSON string. */
export interface LabelAtCursor {
  label: string;
  level: number;
  range: Range;
  /** How the lines of this dataset carry their labels. */
  read: LineReader;
  /** The labels of the cursor's line, coarse to fine (the label's parent is the one before it). */
  path: string[];
}

/** A dataset file's text, from the editor when it is open there (unsaved edits count), else from disk. */
export type ReadText = (uri: string) => string;

/** One line's labels with the character range of each JSON string, or undefined for other lines. */
export interface LineLabels {
  labels: string[];
  ranges: Range[];
}

/** Reads the labels of one line of a dataset of some kind (see `readerForKind`). */
export type LineReader = (line: string, row: number) => LineLabels | undefined;

function rangeOf(node: Node, row: number): Range {
  return { start: { line: row, character: node.offset }, end: { line: row, character: node.offset + node.length } };
}

/** The labels of dataset line `row`, when its `labels` is an array of strings. */
export function lineLabels(line: string, row: number): LineLabels | undefined {
  const root = parseTree(line);
  const array = root && findNodeAtLocation(root, ['labels']);
  if (array?.type !== 'array' || !array.children?.every((n) => n.type === 'string')) return undefined;
  return { labels: array.children.map((n) => n.value as string), ranges: array.children.map((n) => rangeOf(n, row)) };
}

/** The thought of a thought-then-answer line, as its only label. */
function lineThought(line: string, row: number): LineLabels | undefined {
  const root = parseTree(line);
  const thought = root && findNodeAtLocation(root, ['thought']);
  return thought?.type === 'string' ? { labels: [thought.value as string], ranges: [rangeOf(thought, row)] } : undefined;
}

/** How a dataset's lines carry labels: a `labels` path, or (thought-then-answer) the `thought`. */
export function readerForKind(kind: ReturnType<typeof datasetKind>): LineReader | undefined {
  return kind === 'hierarchical' ? lineLabels : kind === 'guided' ? lineThought : undefined;
}

function readerFor(doc: TextDocument): LineReader | undefined {
  return readerForKind(datasetKind(doc.getText()));
}

/** The label string under the cursor (a `labels` entry, or a `thought`), or undefined elsewhere. */
export function labelUnderCursor(doc: TextDocument, position: Position): LabelAtCursor | undefined {
  const read = readerFor(doc);
  if (!read) return undefined;
  const found = read(lineText(doc, position.line), position.line);
  const level = found?.ranges.findIndex((r) => r.start.character <= position.character && position.character < r.end.character) ?? -1;
  if (!found || level < 0) return undefined;
  return { label: found.labels[level]!, level, range: found.ranges[level]!, read, path: found.labels };
}

/**
 * Calls `visit` for every line that carries one of `labels`. Lines that cannot contain them are
 * skipped before parsing, which keeps a 60,000-line file to a fraction of a second (a label JSON
 * would escape is looked for without that shortcut).
 */
function scanLines(text: string, labels: readonly string[], read: LineReader, visit: (found: LineLabels) => void): void {
  const raw = labels.every((l) => JSON.stringify(l) === `"${l}"`);
  text.split('\n').forEach((line, row) => {
    if (raw && !labels.some((l) => line.includes(l))) return;
    const found = read(line, row);
    if (found) visit(found);
  });
}

/** The ranges of `label` used at `level` in `text` (a hierarchical dataset's unless `read` says otherwise). */
export function labelOccurrences(text: string, level: number, label: string, read: LineReader = lineLabels): Range[] {
  const ranges: Range[] = [];
  scanLines(text, [label], read, (found) => {
    if (found.labels[level] === label) ranges.push(found.ranges[level]!);
  });
  return ranges;
}

/** The dataset files a label lives in: the document and its sibling splits, by URI. */
export function labelFiles(uri: string): string[] {
  if (!uri.startsWith('file:')) return [uri];
  const path = fileURLToPath(uri);
  const layout = datasetLayout(path);
  // The document keeps the URI the editor gave it (its encoding may differ from Node's).
  const files = [layout.train, layout.dev, layout.test].filter((f): f is string => f !== undefined).map((f) => (f === path ? uri : pathToFileURL(f).href));
  return files.includes(uri) ? files : [uri, ...files];
}

export function labelReferences(doc: TextDocument, position: Position, read: ReadText): Location[] {
  const at = labelUnderCursor(doc, position);
  if (!at) return [];
  return labelFiles(doc.uri).flatMap((uri) => labelOccurrences(read(uri), at.level, at.label, at.read).map((range) => ({ uri, range })));
}

const NOT_A_LABEL = 'only a label in a dataset line\'s "labels" (or a thought-then-answer line\'s "thought") can be renamed here';

/** `textDocument/prepareRename`: the label's range and text, or an error saying what can be renamed. */
export function prepareLabelRename(doc: TextDocument, position: Position): { range: Range; placeholder: string } {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, NOT_A_LABEL);
  return { range: at.range, placeholder: at.label };
}

/** Where a label is used in the files: the levels it sits at and, per level, its parents. */
function whereUsed(texts: readonly string[], label: string, read: LineReader): Map<number, Set<string | undefined>> {
  const used = new Map<number, Set<string | undefined>>();
  for (const text of texts) {
    scanLines(text, [label], read, (found) => {
      found.labels.forEach((l, level) => {
        if (l !== label) return;
        const parents = used.get(level) ?? new Set<string | undefined>();
        parents.add(level === 0 ? undefined : found.labels[level - 1]);
        used.set(level, parents);
      });
    });
  }
  return used;
}

/**
 * Renaming to a label that exists merges the two, which keeps the taxonomy a tree only when the
 * existing one sits at the same level under the same parent; anything else is refused, named.
 */
function checkMerge(texts: readonly string[], at: LabelAtCursor, newName: string, parent: string | undefined): void {
  for (const [level, parents] of whereUsed(texts, newName, at.read)) {
    if (level !== at.level) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a level-${level + 1} label; '${at.label}' is at level ${at.level + 1}, and a label may sit at one level only`);
    const other = [...parents].find((p) => p !== parent);
    if (other !== undefined) {
      throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a label under '${other}', and '${at.label}' is under '${parent}': merging them would give one label two parents`);
    }
  }
}

/** "begins with a tab", "ends with a line break"…: white space at an end of `name`, named; else undefined. */
function paddingOf(name: string): string | undefined {
  const [end, char] = /^\s/.test(name) ? ['begins', name[0]!] : /\s$/.test(name) ? ['ends', name.at(-1)!] : [];
  if (!end) return undefined;
  const what = char === ' ' ? 'a space' : char === '\t' ? 'a tab' : char === '\n' || char === '\r' ? 'a line break' : 'white space';
  return `${end} with ${what}`;
}

/**
 * `textDocument/rename` on a label: every use at its level in the dataset and its sibling splits
 * gets the new name; nothing else on the lines changes. Renaming to an existing sibling merges
 * the two labels.
 */
export function renameLabel(doc: TextDocument, position: Position, newName: unknown, read: ReadText): WorkspaceEdit {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, NOT_A_LABEL);
  if (typeof newName !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, `the new name must be text, got ${JSON.stringify(newName)}`);
  if (newName.trim() === '') throw new ResponseError(ErrorCodes.InvalidParams, 'a label cannot be empty');
  const padding = paddingOf(newName);
  if (padding) throw new ResponseError(ErrorCodes.InvalidParams, `${JSON.stringify(newName)} ${padding}; labels are matched exactly, so write it without`);
  const files = labelFiles(doc.uri).map((uri) => ({ uri, text: read(uri) }));
  const parent = at.level === 0 ? undefined : at.path[at.level - 1];
  if (newName !== at.label) checkMerge(files.map((f) => f.text), at, newName, parent);
  const newText = JSON.stringify(newName);
  const changes: Record<string, TextEdit[]> = {};
  for (const { uri, text } of files) {
    const edits = labelOccurrences(text, at.level, at.label, at.read).map((range) => ({ range, newText }));
    if (edits.length > 0) changes[uri] = edits;
  }
  return { changes };
}
