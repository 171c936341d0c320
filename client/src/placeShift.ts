// Where a range of a document is after edits, without `vscode` (unit-tested). Insert answer and
// Insert as comment write beside the text the command ran on; the user may add or remove lines
// above it while the model works, or before choosing the action, so the range is carried through
// every content change instead of being kept as the line numbers it had when the command started.

export interface Pos {
  line: number;
  character: number;
}

export interface Span {
  start: Pos;
  end: Pos;
}

/** One content change as VS Code reports it: `range` (in the text before it) replaced by `text`. */
export interface Change {
  range: Span;
  text: string;
}

function before(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

/** Where the end of `text`, inserted at `at`, lands. */
function endOfInserted(at: Pos, text: string): Pos {
  const lines = text.split(/\r\n|\r|\n/);
  const last = lines[lines.length - 1]!;
  return lines.length === 1 ? { line: at.line, character: at.character + last.length } : { line: at.line + lines.length - 1, character: last.length };
}

/**
 * Where `p` is after `change`. A position before the change stays; one after it moves with the
 * text between (on the change's last line, its column too). `insertedBefore`: whether text
 * inserted exactly at `p` goes before it (a range's start keeps to the text it starts) or after
 * it (its end does not grow to take in what is typed just past it). A position inside the
 * replaced text is gone; it is put at the replacement's start, so that a range whose text was
 * replaced shrinks to nothing or to the new text, and no longer reads as it did.
 */
export function shiftPosition(p: Pos, change: Change, insertedBefore: boolean): Pos {
  const { start, end } = change.range;
  if (before(p, start)) return p;
  const atInsertion = start.line === end.line && start.character === end.character && p.line === start.line && p.character === start.character;
  if (atInsertion && !insertedBefore) return p;
  if (before(p, end)) return start;
  const newEnd = endOfInserted(start, change.text);
  if (p.line > end.line) return { line: p.line + newEnd.line - end.line, character: p.character };
  return { line: newEnd.line, character: newEnd.character + p.character - end.character };
}

/** The span after `changes`, applied in the order given (VS Code's order: each in the text the earlier ones left). */
export function shiftSpan(span: Span, changes: readonly Change[]): Span {
  let { start, end } = span;
  for (const change of changes) {
    start = shiftPosition(start, change, true);
    end = shiftPosition(end, change, false);
    if (before(end, start)) end = start;
  }
  return { start, end };
}
