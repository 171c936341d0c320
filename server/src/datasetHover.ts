// Hover on a label of a hierarchical dataset line: its level, how many lines use it, its parent
// and how many children it has, from the document's label index (built once per version); on
// the thought of a thought-then-answer line, how many lines use it. Labels are the dataset's
// text, shown as code spans (inlineCode): a label is never markup.
import type { Hover } from 'vscode-languageserver';
import type { Position, TextDocument } from 'vscode-languageserver-textdocument';
import type { Node } from 'jsonc-parser';
import { datasetIndex, labelPositionAt } from './datasetIndex';
import { inlineCode } from '../../engine/src/markdownText';

export function datasetHover(doc: TextDocument, position: Position): Hover | null {
  const at = labelPositionAt(doc, position);
  // The cursor must be on the label string itself, not just after it.
  if (!at?.node || typeof at.node.value !== 'string' || at.column >= at.node.offset + at.node.length) return null;
  const label = at.node.value;
  const index = datasetIndex(doc);
  if (at.field === 'thought') return hoverOver(doc, at.lineStart, at.node, thoughtLines(label, index.thoughts.get(label) ?? 0, index.thoughts.size));
  const depth = index.levels.length;
  const stats = index.levels[at.level]?.get(label);
  const lines = [`**${inlineCode(label)}** · level ${at.level + 1}${depth > 0 ? ` of ${depth}` : ''}`];
  if (!stats) {
    lines.push('not used at this level on any line that parses');
  } else {
    lines.push(`used on ${stats.count} line${stats.count === 1 ? '' : 's'}`);
    lines.push(at.level === 0 ? 'top level: no parent' : `parent: ${inlineCode(stats.parent ?? '?')}`);
    const children = stats.children.size;
    lines.push(at.level + 1 >= depth ? 'finest level: no children' : `${children} child${children === 1 ? '' : 'ren'} at level ${at.level + 2}`);
  }
  return hoverOver(doc, at.lineStart, at.node, lines);
}

function thoughtLines(thought: string, count: number, distinct: number): string[] {
  return [`**${inlineCode(thought)}** · thought`, `used on ${count} line${count === 1 ? '' : 's'}`, `one of ${distinct} thought${distinct === 1 ? '' : 's'} in this file`];
}

/** The hover over the string under the cursor: a title line, then a bullet per fact. */
function hoverOver(doc: TextDocument, lineStart: number, node: Node, lines: string[]): Hover {
  const start = doc.positionAt(lineStart + node.offset);
  const end = doc.positionAt(lineStart + node.offset + node.length);
  return { contents: { kind: 'markdown', value: lines.map((l, i) => (i === 0 ? l : `- ${l}`)).join('\n') }, range: { start, end } };
}
