// Find References and Rename on a label of a hierarchical dataset, or on the thought of a
// thought-then-answer dataset (its categories: a one-level taxonomy). A label is one node of the
// taxonomy: the same string at the same level (the tree check makes the level and the parent
// part of its identity). Both read every line, not just the first MAX_LINES_CHECKED that live
// features index, because a rename that missed the tail of a file would break the tree it
// renames in; and both cover the task's other split files beside the dataset (`x.train.jsonl`,
// `x.dev.jsonl`, `x.test.jsonl`, as New Task from Dataset reads them), because a label renamed in
// the training file alone would leave dev and test with labels no head can predict. Each file's
// labels come from its index (labelUses.ts), read once per version, so that a large training
// file is not read again on every request.
import { ResponseError, ErrorCodes, type Location, type Position, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { datasetLayout } from '../../engine/src/hdlm/taskCreation';
import { datasetKind, lineText } from './datasetKind';
import { TooLargeToIndexError, lineLabels, lineThought, type LabelField, type LabelIndex, type LineLabels } from './labelUses';

export { lineLabels, type LineLabels };

/** A label under the cursor: its string, its level (0 = coarsest) and the range of its JSON string. */
export interface LabelAtCursor {
  label: string;
  level: number;
  range: Range;
  /** Which field of this dataset's lines carries their labels. */
  field: LabelField;
  /** The labels of the cursor's line, coarse to fine (the label's parent is the one before it). */
  path: string[];
}

/** A dataset file's label index, from the editor's text when it is open there (unsaved edits count), else from disk. */
export type ReadIndex = (uri: string) => Promise<LabelIndex>;

/** Reads the labels of one line of a dataset of some kind (see `readerForKind`). */
export type LineReader = (line: string, row: number) => LineLabels | undefined;

/** Which field carries a dataset's labels: a `labels` path, or (thought-then-answer) the `thought`. */
function fieldForKind(kind: ReturnType<typeof datasetKind>): LabelField | undefined {
  return kind === 'hierarchical' ? 'labels' : kind === 'guided' ? 'thought' : undefined;
}

/** How a dataset's lines carry labels: a `labels` path, or (thought-then-answer) the `thought`. */
export function readerForKind(kind: ReturnType<typeof datasetKind>): LineReader | undefined {
  const field = fieldForKind(kind);
  return field === 'labels' ? lineLabels : field === 'thought' ? lineThought : undefined;
}

/** The label string under the cursor (a `labels` entry, or a `thought`), or undefined elsewhere. */
export function labelUnderCursor(doc: TextDocument, position: Position): LabelAtCursor | undefined {
  const field = fieldForKind(datasetKind(doc.getText()));
  if (!field) return undefined;
  const found = (field === 'labels' ? lineLabels : lineThought)(lineText(doc, position.line), position.line);
  const level = found?.ranges.findIndex((r) => r.start.character <= position.character && position.character < r.end.character) ?? -1;
  if (!found || level < 0) return undefined;
  return { label: found.labels[level]!, level, range: found.ranges[level]!, field, path: found.labels };
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

/** The indexes of the files a label lives in; a file too large to index is refused by name. */
async function indexesOf(uri: string, read: ReadIndex): Promise<{ uri: string; index: LabelIndex }[]> {
  try {
    return await Promise.all(labelFiles(uri).map(async (file) => ({ uri: file, index: await read(file) })));
  } catch (err) {
    if (err instanceof TooLargeToIndexError) throw new ResponseError(ErrorCodes.InvalidRequest, err.message);
    throw err;
  }
}

export async function labelReferences(doc: TextDocument, position: Position, read: ReadIndex): Promise<Location[]> {
  const at = labelUnderCursor(doc, position);
  if (!at) return [];
  const files = await indexesOf(doc.uri, read);
  return files.flatMap(({ uri, index }) => index.uses(at.field, at.level, at.label).map((range) => ({ uri, range })));
}

const NOT_A_LABEL = 'only a label in a dataset line\'s "labels" (or a thought-then-answer line\'s "thought") can be renamed here';

/** `textDocument/prepareRename`: the label's range and text, or an error saying what can be renamed. */
export function prepareLabelRename(doc: TextDocument, position: Position): { range: Range; placeholder: string } {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, NOT_A_LABEL);
  return { range: at.range, placeholder: at.label };
}

/**
 * Renaming to a label that exists merges the two, which keeps the taxonomy a tree only when the
 * existing one sits at the same level under the same parent; anything else is refused, named.
 */
function checkMerge(indexes: readonly LabelIndex[], at: LabelAtCursor, newName: string, parent: string | undefined): void {
  for (const index of indexes) {
    for (const [level, parents] of index.placesOf(at.field, newName)) {
      if (level !== at.level) throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a level-${level + 1} label; '${at.label}' is at level ${at.level + 1}, and a label may sit at one level only`);
      const other = [...parents].find((p) => p !== parent);
      if (other !== undefined) {
        throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already a label under '${other}', and '${at.label}' is under '${parent}': merging them would give one label two parents`);
      }
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
export async function renameLabel(doc: TextDocument, position: Position, newName: unknown, read: ReadIndex): Promise<WorkspaceEdit> {
  const at = labelUnderCursor(doc, position);
  if (!at) throw new ResponseError(ErrorCodes.InvalidRequest, NOT_A_LABEL);
  if (typeof newName !== 'string') throw new ResponseError(ErrorCodes.InvalidParams, `the new name must be text, got ${JSON.stringify(newName)}`);
  if (newName.trim() === '') throw new ResponseError(ErrorCodes.InvalidParams, 'a label cannot be empty');
  const padding = paddingOf(newName);
  if (padding) throw new ResponseError(ErrorCodes.InvalidParams, `${JSON.stringify(newName)} ${padding}; labels are matched exactly, so write it without`);
  const files = await indexesOf(doc.uri, read);
  const parent = at.level === 0 ? undefined : at.path[at.level - 1];
  if (newName !== at.label) checkMerge(files.map((f) => f.index), at, newName, parent);
  const newText = JSON.stringify(newName);
  const changes: Record<string, TextEdit[]> = {};
  for (const { uri, index } of files) {
    const edits = index.uses(at.field, at.level, at.label).map((range) => ({ range, newText }));
    if (edits.length > 0) changes[uri] = edits;
  }
  return { changes };
}
