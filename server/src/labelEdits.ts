// Find References and Rename on a label of a hierarchical dataset. A label is one node of the
// taxonomy: the same string at the same level (the tree check makes the level and the parent
// part of its identity). Both read every line, not just the first MAX_LINES_CHECKED that live
// features index, because a rename that missed the tail of a file would break the tree it
// renames in; and both cover the task's other split files beside the dataset (`x.train.jsonl`,
// `x.dev.jsonl`, `x.test.jsonl`, as New Task from Dataset reads them), because a label renamed in
// the training file alone would leave dev and test with labels no head can predict.
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { ResponseError, ErrorCodes, type Location, type Position, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { datasetLayout } from '../../engine/src/hdlm/taskCreation';
import { labelPositionAt } from './datasetIndex';
import { datasetKind } from './diagnostics';

/** A label under the cursor: its string, its level (0 = coarsest) and the range of its JSON string. */
export interface LabelAtCursor {
  label: string;
  level: number;
  range: Range;
}

/** A dataset file's text, from the editor when it is open there (unsaved edits count), else from disk. */
export type ReadText = (uri: string) => string;

/** The label string under the cursor in a hierarchical dataset, or undefined elsewhere. */
export function labelUnderCursor(doc: TextDocument, position: Position): LabelAtCursor | undefined {
  if (datasetKind(doc.getText()) !== 'hierarchical') return undefined;
  const at = labelPositionAt(doc, position);
  if (!at?.node || typeof at.node.value !== 'string' || at.column >= at.node.offset + at.node.length) return undefined;
  const start = doc.positionAt(at.lineStart + at.node.offset);
  return { label: at.node.value, level: at.level, range: { start, end: doc.positionAt(at.lineStart + at.node.offset + at.node.length) } };
}

/** One line's labels with the character range of each JSON string, or undefined for other lines. */
export interface LineLabels {
  labels: string[];
  ranges: Range[];
}

/** The labels of dataset line `row`, when its `labels` is an array of strings. */
export function lineLabels(line: string, row: number): LineLabels | undefined {
  const root = parseTree(line);
  const array = root && findNodeAtLocation(root, ['labels']);
  if (array?.type !== 'array' || !array.children?.every((n) => n.type === 'string')) return undefined;
  return {
    labels: array.children.map((n) => n.value as string),
    ranges: array.children.map((n) => ({ start: { line: row, character: n.offset }, end: { line: row, character: n.offset + n.length } })),
  };
}

/**
 * Calls `visit` for every line whose labels array mentions one of `labels`. Lines that cannot
 * contain them are skipped before parsing, which keeps a 60,000-line file to a fraction of a
 * second (a label JSON would escape is looked for without that shortcut).
 */
function scanLines(text: string, labels: readonly string[], visit: (found: LineLabels) => void): void {
  const raw = labels.every((l) => JSON.stringify(l) === `"${l}"`);
  text.split('\n').forEach((line, row) => {
    if (raw && !labels.some((l) => line.includes(l))) return;
    const found = lineLabels(line, row);
    if (found) visit(found);
  });
}

/** The ranges of `label` used at `level` in `text`. */
export function labelOccurrences(text: string, level: number, label: string): Range[] {
  const ranges: Range[] = [];
  scanLines(text, [label], (found) => {
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
  return labelFiles(doc.uri).flatMap((uri) => labelOccurrences(read(uri), at.level, at.label).map((range) => ({ uri, range })));
}

/** `textDocument/prepareRename`: the label's range and text, or an error saying what can be renamed. */
export function prepareLabelRename(doc: TextDocument, position: Position): { range: Range; placeholder: string } {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, 'only a label in a dataset line\'s "labels" can be renamed here');
  return { range: at.range, placeholder: at.label };
}

/** Where a label is used in the files: the levels it sits at and, per level, its parents. */
function whereUsed(texts: readonly string[], label: string): Map<number, Set<string | undefined>> {
  const used = new Map<number, Set<string | undefined>>();
  for (const text of texts) {
    scanLines(text, [label], (found) => {
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
  for (const [level, parents] of whereUsed(texts, newName)) {
    if (level !== at.level) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a level-${level + 1} label; '${at.label}' is at level ${at.level + 1}, and a label may sit at one level only`);
    const other = [...parents].find((p) => p !== parent);
    if (other !== undefined) {
      throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a label under '${other}', and '${at.label}' is under '${parent}': merging them would give one label two parents`);
    }
  }
}

/**
 * `textDocument/rename` on a label: every use at its level in the dataset and its sibling splits
 * gets the new name; nothing else on the lines changes. Renaming to an existing sibling merges
 * the two labels.
 */
export function renameLabel(doc: TextDocument, position: Position, newName: string, read: ReadText): WorkspaceEdit {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, 'only a label in a dataset line\'s "labels" can be renamed here');
  if (newName.trim() === '') throw new ResponseError(ErrorCodes.InvalidParams, 'a label cannot be empty');
  if (newName !== newName.trim()) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' begins or ends with a space; labels are matched exactly, so write it without`);
  const files = labelFiles(doc.uri).map((uri) => ({ uri, text: read(uri) }));
  const line = doc.getText({ start: { line: at.range.start.line, character: 0 }, end: { line: at.range.start.line + 1, character: 0 } }).replace(/\r?\n$/, '');
  const parent = at.level === 0 ? undefined : lineLabels(line, 0)?.labels[at.level - 1];
  if (newName !== at.label) checkMerge(files.map((f) => f.text), at, newName, parent);
  const newText = JSON.stringify(newName);
  const changes: Record<string, TextEdit[]> = {};
  for (const { uri, text } of files) {
    const edits = labelOccurrences(text, at.level, at.label).map((range) => ({ range, newText }));
    if (edits.length > 0) changes[uri] = edits;
  }
  return { changes };
}
