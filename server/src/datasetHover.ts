// Hover on a label of a hierarchical dataset line: its level, how many lines use it, its parent
// and how many children it has, from the document's label index (built once per version).
import type { Hover } from 'vscode-languageserver';
import type { Position, TextDocument } from 'vscode-languageserver-textdocument';
import { datasetIndex, labelPositionAt } from './datasetIndex';

export function datasetHover(doc: TextDocument, position: Position): Hover | null {
  const at = labelPositionAt(doc, position);
  // The cursor must be on the label string itself, not just after it.
  if (!at?.node || typeof at.node.value !== 'string' || at.column >= at.node.offset + at.node.length) return null;
  const label = at.node.value;
  const index = datasetIndex(doc);
  const depth = index.levels.length;
  const stats = index.levels[at.level]?.get(label);
  const lines = [`**\`${label}\`** · level ${at.level + 1}${depth > 0 ? ` of ${depth}` : ''}`];
  if (!stats) {
    lines.push('not used at this level on any line that parses');
  } else {
    lines.push(`used on ${stats.count} line${stats.count === 1 ? '' : 's'}`);
    lines.push(at.level === 0 ? 'top level: no parent' : `parent: \`${stats.parent ?? '?'}\``);
    const children = stats.children.size;
    lines.push(at.level + 1 >= depth ? 'finest level: no children' : `${children} child${children === 1 ? '' : 'ren'} at level ${at.level + 2}`);
  }
  const start = doc.positionAt(at.lineStart + at.node.offset);
  const end = doc.positionAt(at.lineStart + at.node.offset + at.node.length);
  return { contents: { kind: 'markdown', value: lines.map((l, i) => (i === 0 ? l : `- ${l}`)).join('\n') }, range: { start, end } };
}
