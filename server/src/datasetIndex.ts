// The label taxonomy of an open hierarchical dataset as its text says now: for every level, the
// labels used there, on how many lines, under which parent and with which children; and each
// line's text and labels. For a thought-then-answer dataset, its thoughts and their counts. Completion, hover and code lenses read it; it is built once per
// document version, because a completion request comes on nearly every keystroke and a dataset
// can have tens of thousands of lines.
import { findNodeAtLocation, getLocation, parseTree, type Node } from 'jsonc-parser';
import type { Position, TextDocument } from 'vscode-languageserver-textdocument';
import { MAX_LINES_CHECKED } from './diagnostics';
import { lineText } from './datasetKind';
import { DocumentCache } from './documentCache';

export interface LabelStats {
  /** Lines that use this label at this level. */
  count: number;
  /** The label above it on the first line that uses it (undefined at level 1). */
  parent: string | undefined;
  /** Labels of the next level seen under this one, with the lines that use each. */
  children: Map<string, number>;
}

/** A line that parsed as an object with a string `text`; `labels` only when they are all strings. */
export interface LineRecord {
  text: string;
  labels: string[] | undefined;
}

export interface DatasetIndex {
  /** Per level (0 = coarsest): label → its statistics. */
  levels: Map<string, LabelStats>[];
  /** Thought → the lines that use it (thought-then-answer datasets). */
  thoughts: Map<string, number>;
  /** Per line of the document (0-based), up to the indexed limit. */
  records: (LineRecord | undefined)[];
}

/** Documents whose index is kept; an editor rarely has more datasets open at once. */
const cache = new DocumentCache<DatasetIndex>(8);

/** The index of `doc` at its current version, built at most once per version. */
export function datasetIndex(doc: TextDocument): DatasetIndex {
  return cache.get(doc, buildIndex);
}

/** Drops a closed document's index. */
export function forgetDataset(uri: string): void {
  cache.forget(uri);
}

/** Builds the index; like live validation, it reads at most MAX_LINES_CHECKED lines. */
export function buildIndex(text: string): DatasetIndex {
  const lines = text.split('\n', MAX_LINES_CHECKED);
  const index: DatasetIndex = { levels: [], thoughts: new Map(), records: new Array<LineRecord | undefined>(lines.length) };
  lines.forEach((line, i) => {
    const value = parseObject(line);
    const thought = value?.['thought'];
    if (typeof thought === 'string') index.thoughts.set(thought, (index.thoughts.get(thought) ?? 0) + 1);
    const record = value && lineRecord(value);
    index.records[i] = record;
    if (record?.labels) addPath(index, record.labels);
  });
  return index;
}

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.trimStart().startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function lineRecord(value: Record<string, unknown>): LineRecord | undefined {
  const { text, labels } = value;
  if (typeof text !== 'string') return undefined;
  const valid = Array.isArray(labels) && labels.length > 0 && labels.every((l) => typeof l === 'string' && l.trim() !== '');
  return { text, labels: valid ? (labels as string[]) : undefined };
}

function addPath(index: DatasetIndex, labels: readonly string[]): void {
  labels.forEach((label, level) => {
    const atLevel = index.levels[level] ?? (index.levels[level] = new Map());
    const parent = level === 0 ? undefined : labels[level - 1];
    const stats = atLevel.get(label) ?? { count: 0, parent, children: new Map<string, number>() };
    stats.count++;
    atLevel.set(label, stats);
    if (parent !== undefined) {
      const parentStats = index.levels[level - 1]!.get(parent)!;
      parentStats.children.set(label, (parentStats.children.get(label) ?? 0) + 1);
    }
  });
}

/**
 * The labels a line may use at `level`: the children of `parent` when the line has one, else
 * every label of that level. A parent nobody used before has no children to offer.
 */
export function candidateLabels(index: DatasetIndex, level: number, parent: string | undefined): Map<string, number> {
  if (level > 0 && parent !== undefined) return index.levels[level - 1]?.get(parent)?.children ?? new Map<string, number>();
  return new Map([...(index.levels[level] ?? new Map<string, LabelStats>())].map(([label, stats]) => [label, stats.count]));
}

/** Where in a dataset line's `labels` array (or on its `thought`) the cursor is. */
export interface LabelPosition {
  /** A label of the `labels` path, or a thought-then-answer line's `thought` (level 0). */
  field: 'labels' | 'thought';
  /** Index in the labels array: the level, 0 = coarsest. */
  level: number;
  /** The label string the cursor is in or just after, if any. */
  node: Node | undefined;
  /** The labels written on this line so far (undefined where an entry is not a string). */
  written: (string | undefined)[];
  /** The line's text, without its line break. */
  line: string;
  /** Offset of the line's start in the document. */
  lineStart: number;
  /** The cursor's offset within the line. */
  column: number;
}

/** The labels-array position under the cursor, or undefined when the cursor is elsewhere. */
export function labelPositionAt(doc: TextDocument, position: Position): LabelPosition | undefined {
  const lineStart = doc.offsetAt({ line: position.line, character: 0 });
  const line = lineText(doc, position.line);
  const column = Math.min(position.character, line.length);
  const location = getLocation(line, column);
  const [key, level] = location.path;
  if (location.isAtPropertyKey) return undefined;
  const onThought = location.path.length === 1 && key === 'thought';
  if (!onThought && (location.path.length !== 2 || key !== 'labels' || typeof level !== 'number')) return undefined;
  const root = parseTree(line);
  const labels = root && findNodeAtLocation(root, ['labels']);
  const written = (labels?.type === 'array' ? (labels.children ?? []) : []).map((n) => (n.type === 'string' && typeof n.value === 'string' ? n.value : undefined));
  const previous = location.previousNode;
  const node = previous?.type === 'string' && column >= previous.offset && column <= previous.offset + previous.length ? previous : undefined;
  return { field: onThought ? 'thought' : 'labels', level: onThought ? 0 : (level as number), node, written, line, lineStart, column };
}
