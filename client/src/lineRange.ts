// Which lines a selection covers, without `vscode` (unit-tested). A selection made by dragging
// over the gutter, clicking a line number or Shift+Down ends at column 0 of the next line, which
// is not highlighted: that line is not part of it.

export interface SelectionLike {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** First and last line (0-based, inclusive) of a non-empty selection. */
export function selectedLines(selection: SelectionLike): [number, number] {
  const { start, end } = selection;
  const endsAtLineStart = end.character === 0 && end.line > start.line;
  return [start.line, endsAtLineStart ? end.line - 1 : end.line];
}
