// Where each label of a dataset is used, over every line of it: Find References, Rename and the
// split checks need that for the task's other split files too, and a training file can be
// hundreds of megabytes. Read whole and parsed on every request, a 300 MB one held the server for
// 9–16 s per request; so a file on disk is read once, as a stream (the server keeps answering
// between chunks), into only what those features need (per label and level: its parents, and per
// use the line and the range of its JSON string), and kept until its size or mtime changes. An
// open document is indexed from the editor's text, once per version. Files above
// MAX_INDEXED_BYTES are refused by name rather than read in part: a rename that missed lines
// would break the tree it renames in.
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TextDecoder } from 'node:util';
import type { Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { checkRegularFile, decodeUtf8Part, openRegularFile, readProblem, readTextFile, TextFileError, withoutBom } from '../../engine/src/textFile';
import { DocumentCache } from './documentCache';

/** One line's labels with the character range of each JSON string, or undefined for other lines. */
export interface LineLabels {
  labels: string[];
  ranges: Range[];
}

function rangeOf(node: Node, row: number): Range {
  return { start: { line: row, character: node.offset }, end: { line: row, character: node.offset + node.length } };
}

/**
 * The labels of dataset line `row`, when its `labels` is an array of strings. This tolerant
 * reader is the reference: the index reads valid JSON lines faster, to the same result.
 */
export function lineLabels(line: string, row: number): LineLabels | undefined {
  const root = parseTree(line);
  const array = root && findNodeAtLocation(root, ['labels']);
  if (array?.type !== 'array' || !array.children?.every((n) => n.type === 'string')) return undefined;
  return { labels: array.children.map((n) => n.value as string), ranges: array.children.map((n) => rangeOf(n, row)) };
}

/** The thought of a thought-then-answer line, as its only label. */
export function lineThought(line: string, row: number): LineLabels | undefined {
  const root = parseTree(line);
  const thought = root && findNodeAtLocation(root, ['thought']);
  return thought?.type === 'string' ? { labels: [thought.value as string], ranges: [rangeOf(thought, row)] } : undefined;
}

/** Which field of a line carries its labels: the `labels` path, or a thought-then-answer line's `thought`. */
export type LabelField = 'labels' | 'thought';

/** Labels with their spans on the line: `[start, end]` per label, flattened. */
interface Spans {
  labels: string[];
  spans: number[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(line: string, at: number): number {
  while (at < line.length && ' \t\r\n'.includes(line[at]!)) at++;
  return at;
}

/** The end (exclusive) of the JSON string that opens at `at`, in valid JSON. */
function stringEnd(line: string, at: number): number {
  for (let from = at + 1; ; ) {
    const quote = line.indexOf('"', from);
    let slash = quote - 1;
    while (line.charCodeAt(slash) === BACKSLASH) slash--;
    if ((quote - 1 - slash) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function stringValue(line: string, start: number, end: number): string {
  const raw = line.slice(start + 1, end - 1);
  return raw.includes('\\') ? (JSON.parse(line.slice(start, end)) as string) : raw;
}

/** The end (exclusive) of the JSON value that starts at `at`, in valid JSON. */
function valueEnd(line: string, at: number): number {
  const first = line[at];
  if (first === '"') return stringEnd(line, at);
  if (first !== '{' && first !== '[') {
    while (at < line.length && !',}] \t\r\n'.includes(line[at]!)) at++;
    return at;
  }
  let depth = 0;
  for (let i = at; ; ) {
    const c = line[i];
    if (c === '"') {
      i = stringEnd(line, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
    i++;
  }
}

/** Where the values of the top-level object's `labels` and `thought` start (the first of each, as jsonc-parser finds). */
function memberStarts(line: string): Partial<Record<LabelField, number>> {
  const found: Partial<Record<LabelField, number>> = {};
  let at = skipSpace(line, skipSpace(line, 0) + 1);
  while (line[at] === '"') {
    const keyEnd = stringEnd(line, at);
    const key = stringValue(line, at, keyEnd);
    const value = skipSpace(line, skipSpace(line, keyEnd) + 1);
    if ((key === 'labels' || key === 'thought') && found[key] === undefined) found[key] = value;
    at = skipSpace(line, valueEnd(line, value));
    if (line[at] === ',') at = skipSpace(line, at + 1);
  }
  return found;
}

/** The strings of the array at `at`, or undefined when it is not an array of strings. */
function stringsAt(line: string, at: number): Spans | undefined {
  if (line[at] !== '[') return undefined;
  const read: Spans = { labels: [], spans: [] };
  for (at = skipSpace(line, at + 1); line[at] !== ']'; ) {
    if (line.charCodeAt(at) !== QUOTE) return undefined;
    const end = stringEnd(line, at);
    read.labels.push(stringValue(line, at, end));
    read.spans.push(at, end);
    at = skipSpace(line, end);
    if (line[at] === ',') at = skipSpace(line, at + 1);
  }
  return read;
}

function spansOf(found: LineLabels | undefined): Spans | undefined {
  return found && { labels: found.labels, spans: found.ranges.flatMap((r) => [r.start.character, r.end.character]) };
}

/**
 * A line's labels and thought, as lineLabels and lineThought read them. A line that is valid JSON
 * is read with JSON.parse and a scan of its top level (a tenth of the time); any other goes to
 * the tolerant reader, so that a line being typed still has its labels found (and is counted as
 * one that training skips).
 */
function readLine(line: string): LineRead {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return mayNameKeys(line) ? { object: false, labels: spansOf(lineLabels(line, 0)), thought: spansOf(lineThought(line, 0)) } : { object: false };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { object: false };
  if (!mayNameKeys(line)) return { object: true };
  const starts = memberStarts(line);
  const thought = starts.thought;
  const thoughtEnd = thought !== undefined && line[thought] === '"' ? stringEnd(line, thought) : undefined;
  return {
    object: true,
    labels: starts.labels === undefined ? undefined : stringsAt(line, starts.labels),
    thought: thoughtEnd === undefined ? undefined : { labels: [stringValue(line, thought!, thoughtEnd)], spans: [thought!, thoughtEnd] },
  };
}

/** Whether a line may name `labels` or `thought`: only a `\u` escape can spell a key without its plain text. */
function mayNameKeys(line: string): boolean {
  return line.includes('"labels"') || line.includes('"thought"') || line.includes('\\u');
}

/** What one line holds: whether it is a JSON object (an example training reads), and its labels and thought. */
interface LineRead extends Partial<Record<LabelField, Spans>> {
  object: boolean;
}

/** A growing list of 32-bit integers (a 300 MB file has millions of label uses). */
class IntList {
  private data = new Int32Array(6);
  length = 0;

  push3(a: number, b: number, c: number): void {
    if (this.length + 3 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = a;
    this.data[this.length++] = b;
    this.data[this.length++] = c;
  }

  at(i: number): number {
    return this.data[i]!;
  }
}

/** One label's uses at one level. */
interface LabelUses {
  /** The labels it sits under (undefined at level 1 and for thoughts). */
  parents: Set<string | undefined>;
  /** Per use: row, start and end character of its JSON string, flattened. */
  spans: IntList;
}

/** Where each label of one dataset text is used. */
export class LabelIndex {
  /** Per level (0 = coarsest) of the `labels` path: label → its uses. */
  readonly levels: Map<string, LabelUses>[] = [];
  /** Thought → its uses (thought-then-answer datasets; level 0 only). */
  readonly thoughts = new Map<string, LabelUses>();
  /**
   * Per level, the labels of lines that are JSON objects: the examples training reads (`levels`
   * also holds those of lines being typed, for references and rename).
   */
  readonly exampleLabels: Set<string>[] = [];
  /** Lines that are JSON objects (examples, whatever their shape). */
  rows = 0;
  /** Lines that are neither blank nor a JSON object: training skips them. */
  malformed = 0;

  add(line: string, row: number): void {
    if (!/\S/.test(line)) return;
    const read = readLine(line);
    if (read.object) this.rows++;
    else this.malformed++;
    if (read.labels) this.record(read.labels, row, (level) => (this.levels[level] ??= new Map()));
    if (read.labels && read.object) read.labels.labels.forEach((label, level) => (this.exampleLabels[level] ??= new Set()).add(label));
    if (read.thought) this.record(read.thought, row, () => this.thoughts);
  }

  private record({ labels, spans }: Spans, row: number, levelMap: (level: number) => Map<string, LabelUses>): void {
    labels.forEach((label, level) => {
      const map = levelMap(level);
      let uses = map.get(label);
      if (!uses) map.set(label, (uses = { parents: new Set(), spans: new IntList() }));
      uses.parents.add(level === 0 ? undefined : labels[level - 1]);
      uses.spans.push3(row, spans[2 * level]!, spans[2 * level + 1]!);
    });
  }

  private levelsOf(field: LabelField): Map<string, LabelUses>[] {
    return field === 'labels' ? this.levels : [this.thoughts];
  }

  /** The labels used at `level`, or undefined when no line reaches it. */
  labelsAt(field: LabelField, level: number): ReadonlyMap<string, unknown> | undefined {
    return this.levelsOf(field)[level];
  }

  /** The ranges of `label`'s JSON string wherever it is used at `level`, in line order. */
  uses(field: LabelField, level: number, label: string): Range[] {
    const spans = this.levelsOf(field)[level]?.get(label)?.spans;
    const ranges: Range[] = [];
    for (let i = 0; spans && i < spans.length; i += 3) {
      const line = spans.at(i);
      ranges.push({ start: { line, character: spans.at(i + 1) }, end: { line, character: spans.at(i + 2) } });
    }
    return ranges;
  }

  /** The levels `label` is used at and, per level, the labels it sits under. */
  placesOf(field: LabelField, label: string): Map<number, ReadonlySet<string | undefined>> {
    const places = new Map<number, ReadonlySet<string | undefined>>();
    this.levelsOf(field).forEach((map, level) => {
      const uses = map.get(label);
      if (uses) places.set(level, uses.parents);
    });
    return places;
  }
}

/** Lines indexed between turns of the event loop when an open document's text is indexed. */
const LINES_PER_TURN = 5000;

function indexTextNow(text: string): LabelIndex {
  const index = new LabelIndex();
  text.split('\n').forEach((line, row) => index.add(line, row));
  return index;
}

async function indexText(text: string): Promise<LabelIndex> {
  const index = new LabelIndex();
  const lines = text.split('\n');
  for (let row = 0; row < lines.length; row++) {
    index.add(lines[row]!, row);
    if (row % LINES_PER_TURN === LINES_PER_TURN - 1) await nextTurn();
  }
  return index;
}

/** Reads a file in chunks of this size; each chunk is indexed in one turn of the event loop (about 10 ms). */
const CHUNK_BYTES = 1 << 18;

/**
 * Decoded strictly, as readTextFile decodes a small file (and training reads every file): bad bytes
 * are the file's problem, named by line, never U+FFFD in the editor's facts while the engine
 * refuses the same file.
 */
async function indexStream(path: string): Promise<LabelIndex> {
  const index = new LabelIndex();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let rest: string | undefined;
  let row = 0;
  // Opened as readTextFile opens: a file swapped for a pipe since statOf is refused, not waited on.
  for await (const bytes of createReadStream(path, { fd: openRegularFile(path), highWaterMark: CHUNK_BYTES })) {
    const chunk = decodeUtf8Part(bytes as Buffer, path, { decoder, start: rest === undefined, linesBefore: row, stream: true });
    // A byte order mark is hidden by the editor, so line 1's positions are counted without it.
    const lines = (rest === undefined ? withoutBom(chunk) : rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) index.add(line, row++);
  }
  index.add(rest ?? '', row);
  return index;
}

/** Files larger than this are not indexed: references and rename refuse them by name. */
export const MAX_INDEXED_BYTES = 1024 * 2 ** 20;
/** Files up to this size are indexed at once when the split checks ask (tens of milliseconds). */
const INDEX_NOW_BYTES = 4 * 2 ** 20;
/** Files whose index is kept: a task's three splits, and a second task's. */
const CACHED_FILES = 6;

/** A dataset file too large to index in the editor; its message says what to do instead. */
export class TooLargeToIndexError extends Error {
  constructor(
    readonly path: string,
    readonly bytes: number,
  ) {
    super(`${basename(path)} is ${megabytes(bytes)}: references and rename across splits cover files up to ${megabytes(MAX_INDEXED_BYTES)}; rename its labels outside the editor (every split alike)`);
    this.name = 'TooLargeToIndexError';
  }
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MB`;
}

interface FileEntry {
  stamp: string;
  index: Promise<LabelIndex>;
  ready?: LabelIndex;
  /** Why the background read failed (not UTF-8, unreadable): kept while the file is unchanged, so it is said, not read again and again. */
  failed?: unknown;
}

const files = new Map<string, FileEntry>();
const listeners: (() => void)[] = [];

/** The file's stamp and size; a pipe or a device is refused by name (checkRegularFile): reading one would block or never end, and reports size 0. */
function statOf(path: string): { stamp: string; bytes: number } {
  const stat = statSync(path);
  checkRegularFile(path, stat);
  return { stamp: `${stat.mtimeMs}:${stat.size}`, bytes: stat.size };
}

/** Reads until the file stays unchanged through a read, so that no index mixes two versions. */
async function indexFile(path: string, stamp: string): Promise<LabelIndex> {
  for (;;) {
    const index = await indexStream(path);
    const now = statOf(path).stamp;
    if (now === stamp) return index;
    stamp = now;
  }
}

function cache(path: string, entry: FileEntry): FileEntry {
  files.delete(path);
  files.set(path, entry);
  // Maps iterate in insertion order, so the first key is the least recently used.
  if (files.size > CACHED_FILES) files.delete(files.keys().next().value!);
  return entry;
}

/** The file's cache entry, read anew when its stamp changed; throws TooLargeToIndexError, or a file system error. */
function entryOf(path: string, now: boolean): FileEntry {
  const { stamp, bytes } = statOf(path);
  if (bytes > MAX_INDEXED_BYTES) throw new TooLargeToIndexError(path, bytes);
  const cached = files.get(path);
  if (cached?.stamp === stamp) return cache(path, cached);
  if (now && bytes <= INDEX_NOW_BYTES) {
    const ready = indexTextNow(readTextFile(path));
    return cache(path, { stamp, index: Promise.resolve(ready), ready });
  }
  const entry: FileEntry = { stamp, index: indexFile(path, stamp) };
  entry.index.then(
    (index) => {
      entry.ready = index;
      for (const listener of listeners) listener();
    },
    (err: unknown) => {
      entry.failed = err;
      // The documents that said "being read" are checked again, and now say why it cannot be.
      for (const listener of listeners) listener();
    },
  );
  return cache(path, entry);
}

/** The index of a dataset file on disk: read once per stamp, shared by concurrent callers. */
export function fileIndex(path: string): Promise<LabelIndex> {
  try {
    return entryOf(path, false).index;
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The index of a file when it can be had now: cached, or small enough to read at once. Otherwise
 * undefined, and the file is being read: `onFileIndexed` listeners are called when it is.
 */
export function fileIndexNow(path: string): LabelIndex | undefined {
  const now = fileIndexOrReason(path);
  return now instanceof LabelIndex ? now : undefined;
}

/** Why a file that exists has no index now: `why` completes "the file is …"; `broken` when it cannot be read at all. */
export interface NoIndex {
  why: string;
  broken: boolean;
}

/**
 * As fileIndexNow, but saying why there is no index: undefined when the file does not exist;
 * else being read, too large to index, or unreadable (a folder, no permission).
 */
export function fileIndexOrReason(path: string): LabelIndex | NoIndex | undefined {
  try {
    const entry = entryOf(path, true);
    if (entry.failed !== undefined) return { why: `unreadable: ${lineOf(entry.failed)}${readProblem(entry.failed)}`, broken: true };
    return entry.ready ?? { why: 'being read', broken: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof TooLargeToIndexError) return { why: `${megabytes(err.bytes)}, too large to read in the editor`, broken: false };
    return { why: `unreadable: ${readProblem(err)}`, broken: true };
  }
}

/** "line 7: " for a problem on a line of the file, else nothing. */
function lineOf(err: unknown): string {
  return err instanceof TextFileError && err.line !== undefined ? `line ${err.line}: ` : '';
}

/** Calls `listener` whenever a file read in the background has been indexed (or could not be). */
export function onFileIndexed(listener: () => void): void {
  listeners.push(listener);
}

/** Open documents' indexes; an editor rarely has more than 8 datasets open at once. */
const documents = new DocumentCache<Promise<LabelIndex>>(8);

/** The index of an open document at its current version (its unsaved edits count). */
export function documentIndex(doc: TextDocument): Promise<LabelIndex> {
  return documents.get(doc, indexText);
}

/** Drops a closed document's index. */
export function forgetDocumentIndex(uri: string): void {
  documents.forget(uri);
}
