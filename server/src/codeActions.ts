// Quick fixes for the project's own diagnostics. Each diagnostic that has a fix carries what the
// fix needs in its `data` (diagnostics.ts, FixData); the edits are computed here against the
// document as it is now, and a diagnostic that no longer matches the text gets no fix.
//   - a level deeper than the model: use "last", or the model's last layer by number;
//   - an unknown task-file field: rename it to the field it most likely meant, or remove it;
//   - a model folder that is missing or unreadable: use the default model;
//   - a dataset label under a second parent: give this line the path the first line gave it.
import { modify, type JSONPath, type Node } from 'jsonc-parser';
import { taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import { CodeAction, CodeActionKind, type CodeActionParams, type Diagnostic, type TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { keysFor } from './completion';
import type { FixData } from './diagnostics';
import { lineText } from './datasetKind';
import { lineLabels } from './labelEdits';

export function codeActions(doc: TextDocument, params: CodeActionParams): CodeAction[] {
  const only = params.context.only;
  if (only && !only.some((kind) => CodeActionKind.QuickFix.startsWith(kind))) return [];
  return params.context.diagnostics.flatMap((diagnostic) => fixesFor(doc, diagnostic));
}

function fixesFor(doc: TextDocument, diagnostic: Diagnostic): CodeAction[] {
  const data = diagnostic.data as FixData | undefined;
  if (diagnostic.source !== 'hdlm' || typeof data?.fix !== 'string') return [];
  const there = doc.getText(diagnostic.range);
  switch (data.fix) {
    case 'layerBeyondModel':
      if (!/^\d+$/.test(there) || Number(there) <= data.layers) return [];
      return [
        quickFix('Use the last layer ("last")', doc, diagnostic, [{ range: diagnostic.range, newText: '"last"' }], true),
        quickFix(`Use layer ${data.layers}, the model's last`, doc, diagnostic, [{ range: diagnostic.range, newText: String(data.layers) }]),
      ];
    case 'modelFolder':
      if (!there.startsWith('"')) return [];
      return [quickFix('Use the default model', doc, diagnostic, [{ range: diagnostic.range, newText: '"default"' }])];
    case 'unknownField':
      return unknownFieldFixes(doc, diagnostic, data.path);
    case 'treeParent':
      return treeParentFix(doc, diagnostic, data);
  }
}

function quickFix(title: string, doc: TextDocument, diagnostic: Diagnostic, edits: TextEdit[], isPreferred = false): CodeAction {
  return { title, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred, edit: { changes: { [doc.uri]: edits } } };
}

/** Rename to the nearest known key not already in the object (when one is near), and remove. */
function unknownFieldFixes(doc: TextDocument, diagnostic: Diagnostic, path: JSONPath): CodeAction[] {
  const text = doc.getText();
  const root = taskTree(text);
  const value = root && taskNodeAt(root, path);
  const key = value?.parent?.type === 'property' ? value.parent.children?.[0] : undefined;
  const name = path.at(-1);
  if (!key || typeof name !== 'string' || key.value !== name) return [];
  const siblings = new Set((value!.parent!.parent?.children ?? []).map((p) => p.children?.[0]?.value as string));
  const meant = nearestKey(name, keysFor(path.slice(0, -1)).filter((k) => !siblings.has(k)));
  const property = value!.parent!;
  // jsonc-parser's modify removes the first copy of a key given twice; the diagnostic is on the
  // copy that is read (the last), so a repeated key loses that copy itself, with its comma.
  const repeated = (property.parent?.children ?? []).filter((p) => p.children?.[0]?.value === name).length > 1;
  const edits = repeated ? [propertyRemoval(property)] : modify(text, path, undefined, { formattingOptions: { insertSpaces: true, tabSize: 2, eol: text.includes('\r\n') ? '\r\n' : '\n' } });
  const removal = edits.map((e) => ({
    range: { start: doc.positionAt(e.offset), end: doc.positionAt(e.offset + e.length) },
    newText: e.content,
  }));
  const fixes: CodeAction[] = [];
  if (meant !== undefined) fixes.push(quickFix(`Rename to "${meant}"`, doc, diagnostic, [{ range: { start: doc.positionAt(key.offset), end: doc.positionAt(key.offset + key.length) }, newText: JSON.stringify(meant) }], true));
  fixes.push(quickFix(`Remove field "${name}"`, doc, diagnostic, removal));
  return fixes;
}

/** Removing one property of an object with the comma that separates it from a neighbour. */
function propertyRemoval(property: Node): { offset: number; length: number; content: string } {
  const siblings = property.parent?.children ?? [property];
  const i = siblings.indexOf(property);
  const next = siblings[i + 1];
  if (next) return { offset: property.offset, length: next.offset - property.offset, content: '' };
  const previous = siblings[i - 1];
  const start = previous ? previous.offset + previous.length : property.offset;
  return { offset: start, length: property.offset + property.length - start, content: '' };
}

/** The known key a typo most likely meant: same letters ignoring case, or at most 2 edits away (a third of the name for short ones). */
export function nearestKey(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = key.toLowerCase() === lower ? 0 : editDistance(lower, key.toLowerCase());
    if (distance <= Math.min(2, Math.ceil(key.length / 3)) && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * The line's labels above `label` become those of the first line that used it, so the label keeps
 * the one parent (and the parent its ancestors) that the rest of the file gives it.
 */
function treeParentFix(doc: TextDocument, diagnostic: Diagnostic, data: Extract<FixData, { fix: 'treeParent' }>): CodeAction[] {
  const row = diagnostic.range.start.line;
  const here = lineLabels(lineText(doc, row), row);
  const first = lineLabels(lineText(doc, data.firstLine - 1), data.firstLine - 1)?.labels;
  if (!here || !first || here.labels[data.level] !== data.label || first[data.level] !== data.label || first[data.level - 1] !== data.firstParent) return [];
  const edits: TextEdit[] = [];
  for (let level = 0; level < data.level; level++) {
    if (here.labels[level] !== first[level]) edits.push({ range: here.ranges[level]!, newText: JSON.stringify(first[level]) });
  }
  // Nothing to change: the line was mended since the diagnostic was made.
  if (edits.length === 0) return [];
  const path = first.slice(0, data.level).join(' › ');
  return [quickFix(`Put '${data.label}' under '${data.firstParent}', as on line ${data.firstLine} (${path} › ${data.label})`, doc, diagnostic, edits, true)];
}
