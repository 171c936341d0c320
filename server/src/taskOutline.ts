// The outline of a task file (document symbols): its fields, each with what it is set to; the
// levels as "level 1", "level 2", … with their layer and, where trained, the head's dev accuracy;
// the dataset splits and training settings as children. A task file's language is hdlm-task, not
// JSON, so without this the editor's Outline view and breadcrumbs would be empty.
import type { Node } from 'jsonc-parser';
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import { percent, taskFolders, trainedHead, trainingSummary, type FeatureContext, type HeadsOf } from './taskFacts';

/** Longest value shown as a symbol's detail; a long system prompt is cut. */
const MAX_DETAIL = 60;

function detailOf(node: Node | undefined): string {
  if (!node) return '';
  if (node.type === 'object') return `${node.children?.length ?? 0} fields`;
  if (node.type === 'array') return `${node.children?.length ?? 0} entries`;
  const text = typeof node.value === 'string' ? node.value : String(node.value);
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}

function kindOf(node: Node | undefined): SymbolKind {
  switch (node?.type) {
    case 'object':
      return SymbolKind.Object;
    case 'array':
      return SymbolKind.Array;
    case 'number':
      return SymbolKind.Number;
    case 'boolean':
      return SymbolKind.Boolean;
    case 'string':
      return SymbolKind.String;
    default:
      return SymbolKind.Property;
  }
}

/** A symbol spanning `node`, selected (revealed, highlighted) at `selected`: a property's key, or a level itself. */
function symbolFor(doc: TextDocument, node: Node, selected: Node, name: string, detail: string, kind: SymbolKind, children?: DocumentSymbol[]): DocumentSymbol {
  return {
    name,
    detail,
    kind,
    range: { start: doc.positionAt(node.offset), end: doc.positionAt(node.offset + node.length) },
    selectionRange: { start: doc.positionAt(selected.offset), end: doc.positionAt(selected.offset + selected.length) },
    ...(children ? { children } : {}),
  };
}

/** The symbol of a property: the key is what is selected. */
function propertySymbol(doc: TextDocument, property: Node, detail: string, kind: SymbolKind, children?: DocumentSymbol[]): DocumentSymbol {
  const key = property.children![0]!;
  return symbolFor(doc, property, key, key.value as string, detail, kind, children);
}

/** "layer 4 · trained head at layer 4, dev 90.9%" for one entry of `levels`. */
function levelDetail(level: Node, index: number, heads: HeadsOf): string {
  const layer = level.type === 'object' ? taskNodeAt(level, ['layer']) : level;
  const parts = [`layer ${detailOf(layer) || '?'}`];
  const manifest = trainedHead(heads, index + 1);
  if (manifest) {
    const accuracy = trainingSummary(manifest).bestDevAccuracy;
    parts.push(`trained head at layer ${manifest.layer}${accuracy !== undefined ? `, dev ${percent(accuracy)}` : ''}`);
  }
  return parts.join(' · ');
}

export function taskFileSymbols(doc: TextDocument, context: FeatureContext): DocumentSymbol[] {
  const root = taskTree(doc.getText());
  if (root?.type !== 'object') return [];
  const folders = taskFolders(root, doc.uri, context);
  return (root.children ?? []).flatMap((property) => {
    const [key, value] = property.children ?? [];
    if (typeof key?.value !== 'string') return [];
    // A field given twice: only its last value is read (the diagnostics say so at the repeat), so
    // an earlier one gets no layers or heads, which would be those of the value the task runs with.
    if (taskNodeAt(root, [key.value]) !== value) return [propertySymbol(doc, property, 'ignored: given again below', kindOf(value))];
    if (key.value === 'levels' && value?.type === 'array') {
      const levels = (value.children ?? []).map((level, i) => symbolFor(doc, level, level, `level ${i + 1}`, levelDetail(level, i, folders), SymbolKind.Field));
      return [propertySymbol(doc, property, `${levels.length} level${levels.length === 1 ? '' : 's'}`, SymbolKind.Array, levels)];
    }
    if (value?.type === 'object') {
      const children = (value.children ?? []).flatMap((p) => (typeof p.children?.[0]?.value === 'string' ? [propertySymbol(doc, p, detailOf(p.children[1]), kindOf(p.children[1]))] : []));
      return [propertySymbol(doc, property, detailOf(value), SymbolKind.Object, children)];
    }
    return [propertySymbol(doc, property, detailOf(value), kindOf(value))];
  });
}
