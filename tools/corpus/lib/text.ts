// Shared plain-text machinery for the markup cleaners. Every cleaner turns its markup into a list
// of blocks: prose (hard-wrapped paragraphs that we unwrap into one line, because the model
// should learn sentences, not the 72-column habit of the source) or code (kept line for line,
// because indentation and line breaks carry meaning there). renderBlocks then writes them out
// separated by blank lines, and normalizeText makes the whitespace uniform across sources.

export interface Block {
  kind: 'prose' | 'code';
  text: string;
}

export function prose(text: string): Block {
  return { kind: 'prose', text };
}

export function code(text: string): Block {
  return { kind: 'code', text };
}

/** Joins a hard-wrapped paragraph into one line with single spaces. */
export function unwrap(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const LIST_ITEM = /^\s*(?:[-*+•]\s+|\(?(?:\d+|[a-zA-Z]|#)[.)]\s+)/;

/**
 * Unwraps prose but keeps each list item on a line of its own, so "- a\n- b" stays a list
 * while the wrapped lines inside one item are joined.
 */
export function unwrapProse(text: string): string {
  const items: string[] = [];
  for (const line of text.split('\n')) {
    if (items.length === 0 || LIST_ITEM.test(line)) items.push(line);
    else items[items.length - 1] += ` ${line}`;
  }
  return items.map(unwrap).filter((item) => item !== '').join('\n');
}

/** Expands tabs to the next multiple of `width` columns, as reST and roff read them. */
export function expandTabs(line: string, width = 8): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(width - (out.length % width)) : ch;
  return out;
}

/** Removes the indentation that every non-blank line shares; tabs count as one column each. */
export function dedent(lines: readonly string[]): string[] {
  let common = Infinity;
  for (const line of lines) {
    if (line.trim() === '') continue;
    common = Math.min(common, line.length - line.trimStart().length);
  }
  if (!Number.isFinite(common) || common === 0) return [...lines];
  return lines.map((line) => line.slice(Math.min(common, line.length - line.trimStart().length)));
}

/** Drops blank lines at both ends of a list of lines. */
export function trimBlankLines(lines: readonly string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  return lines.slice(start, end);
}

/** Writes blocks as paragraphs separated by one blank line; empty blocks vanish. */
export function renderBlocks(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    const text = block.kind === 'prose' ? unwrapProse(block.text) : trimBlankLines(dedent(block.text.split('\n'))).join('\n');
    if (text.trim() !== '') out.push(text);
  }
  return out.join('\n\n');
}

/** Splits lines into runs of non-blank lines (paragraphs), keeping each run's lines. */
export function paragraphs(lines: readonly string[]): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (line.trim() === '') {
      if (current.length > 0) groups.push(current);
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Whether a paragraph of plain text reads as wrapped prose rather than a table, a diagram or
 * code: every line starts at the same column (the first may be a list item), no line has a run
 * of three spaces inside it (column alignment), and most characters are letters or spaces.
 */
export function looksLikeProse(lines: readonly string[]): boolean {
  if (lines.length === 0) return false;
  const indentOf = (line: string): number => line.length - line.trimStart().length;
  const bodyIndent = lines.length > 1 ? indentOf(lines[1]!) : indentOf(lines[0]!);
  let letters = 0;
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (/\S {3,}\S|\t/.test(trimmed)) return false;
    if (i > 0 && indentOf(line) !== bodyIndent) return false;
    if (i === 0 && indentOf(line) !== bodyIndent && !LIST_ITEM.test(line)) return false;
    letters += (trimmed.match(/[\p{L} ]/gu) ?? []).length;
    total += trimmed.length;
  }
  return total > 0 && letters / total >= 0.75;
}

/** A line that only draws a rule or underlines a title: "=====", "-----". */
const RULE_LINE = /^\s*([=\-~*#^])\1{3,}\s*$/;

/**
 * Plain text with no markup (kernel .txt files): prose paragraphs are unwrapped, the rest kept
 * line for line. Rule lines go, so a title underlined with "====" becomes a paragraph of its own.
 */
export function plainTextBlocks(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n').map((line) => (RULE_LINE.test(line) ? '' : line));
  return paragraphs(lines).map((group) => (looksLikeProse(group) ? prose(group.join('\n')) : code(group.join('\n'))));
}

/**
 * The special-token spellings the tokenizer reserves look like <|name|>. A document that
 * contained one would be split on it by the tokenizer and teach the model a control token in
 * the wrong place, so we break the spelling apart.
 */
export function defuseSpecialTokens(text: string): string {
  return text.replace(/<\|(?=[A-Za-z0-9_]+\|>)/g, '< |');
}

/**
 * The whitespace and character normal form of every document: Unicode NFC, LF line ends, no
 * control characters except tab and newline, no zero-width or byte-order marks, no-break spaces
 * as spaces, no trailing spaces, at most one blank line in a row, nothing at either end.
 */
export function normalizeText(text: string): string {
  return defuseSpecialTokens(
    text
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      .replace(/[\u00a0\u2007\u202f]/g, ' ')
      .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
      // Control characters other than tab and newline are noise in every source we read.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
      .replace(/[ \t]+$/gm, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim(),
  );
}
