// Completion in the project's own files. In task files: the fields (from taskFile.ts, so the
// parser and the editor never disagree), `kind`, `train.headKind`, `train.headNorm` and `train.lastLevelHead` values, the layer of a
// level, 1..L and "last" for the task's model, marking layers that already have a trained head,
// and paths: the JSON Lines files for `dataset`, the model folders for `model` (workspaceFiles.ts).
// In hierarchical datasets: the labels of a level, restricted to the children of the label
// written before them on the line, with how many lines use each; in thought-then-answer
// datasets, the thoughts used so far.
import { getLocation, type JSONPath, type Node } from 'jsonc-parser';
import { CompletionItem, CompletionItemKind, MarkupKind, type Position, type Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DATASET_FIELDS, DEFAULT_TRAIN, LEVEL_FIELDS, TASK_FIELDS, TASK_KINDS, taskNodeAt, taskTree } from '../../engine/src/hdlm/taskFile';
import { candidateLabels, datasetIndex, labelPositionAt } from './datasetIndex';
import { FIELD_HELP } from './hover';
import { modelLayers, percent, taskBaseDir, taskFolders, trainedHead, trainingSummary, type FeatureContext, type HeadsOf } from './taskFacts';
import { pathCandidates } from './workspaceFiles';
import { join } from 'node:path';

/** Keys each object of a task file may have, by the object's path. */
export function keysFor(objectPath: JSONPath): readonly string[] {
  if (objectPath.length === 0) return TASK_FIELDS;
  if (objectPath.length === 1 && objectPath[0] === 'train') return Object.keys(DEFAULT_TRAIN);
  if (objectPath.length === 1 && objectPath[0] === 'dataset') return DATASET_FIELDS;
  if (objectPath.length === 1 && objectPath[0] === 'exitWhenSure') return ['threshold', 'layers'];
  if (objectPath.length === 2 && objectPath[0] === 'levels' && typeof objectPath[1] === 'number') return LEVEL_FIELDS;
  return [];
}

export function completions(doc: TextDocument, position: Position, context: FeatureContext): CompletionItem[] {
  if (doc.languageId === 'hdlm-task') return taskFileCompletions(doc, position, context);
  if (doc.languageId === 'jsonl') return datasetCompletions(doc, position);
  return [];
}

export function taskFileCompletions(doc: TextDocument, position: Position, context: FeatureContext): CompletionItem[] {
  const text = doc.getText();
  const offset = doc.offsetAt(position);
  const location = getLocation(text, offset);
  const root = taskTree(text);
  const range = replacedRange(doc, text, location.previousNode, offset);
  const path = location.path;
  if (location.isAtPropertyKey) return keyCompletions(text, root, path, location.previousNode, range);
  if (isLayerValue(root, path)) return layerCompletions(root, doc.uri, context, range);
  if (path.length === 1 && path[0] === 'kind') return valueItems(TASK_KINDS, range);
  if (path.length === 2 && path[0] === 'train' && path[1] === 'headKind') return valueItems(['full', 'lowRank'], range);
  if (path.length === 2 && path[0] === 'train' && path[1] === 'headNorm') return valueItems(['copy', 'none'], range);
  if (path.length === 2 && path[0] === 'train' && path[1] === 'lastLevelHead') return valueItems(['allLevels', 'ownLevel'], range);
  if (path.length === 1 && path[0] === 'model') return [...valueItems(['default'], range), ...modelFolderItems(doc.uri, range)];
  if (isDatasetPath(path)) return datasetFileItems(doc.uri, range);
  return [];
}

/** `dataset` itself (one file), or its `train`, `dev` or `test` file. */
function isDatasetPath(path: JSONPath): boolean {
  return path[0] === 'dataset' && (path.length === 1 || (path.length === 2 && (path[1] === 'train' || path[1] === 'dev' || path[1] === 'test')));
}

/** The workspace's JSON Lines files under the task file's folder, nearest first, with their size. */
function datasetFileItems(uri: string, range: Range): CompletionItem[] {
  const base = taskBaseDir(uri);
  if (base === undefined) return [];
  return pathCandidates(base).datasets.map(({ path, bytes }, i) => ({
    label: path,
    kind: CompletionItemKind.File,
    detail: `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1)} MB`,
    sortText: String(i).padStart(5, '0'),
    filterText: JSON.stringify(path),
    textEdit: { range, newText: JSON.stringify(path) },
  }));
}

/** Folders under the task file's folder that hold a model (a config.json), after "default". */
function modelFolderItems(uri: string, range: Range): CompletionItem[] {
  const base = taskBaseDir(uri);
  if (base === undefined) return [];
  return pathCandidates(base).models.map((path, i) => {
    const model = modelLayers(join(base, path));
    return {
      label: path,
      kind: CompletionItemKind.Folder,
      detail: 'problem' in model ? model.problem : `${model.layers} layers`,
      sortText: String(i + 1).padStart(5, '0'),
      filterText: JSON.stringify(path),
      textEdit: { range, newText: JSON.stringify(path) },
    };
  });
}

/**
 * `levels[i].layer`, or `levels[i]` itself in a list of bare layers (the parser takes those
 * too); not between the objects of a list of `{ "layer": k }`, where a bare number would be out
 * of place.
 */
function isLayerValue(root: Node | undefined, path: JSONPath): boolean {
  if (path[0] !== 'levels' || typeof path[1] !== 'number') return false;
  if (path.length === 3) return path[2] === 'layer';
  const levels = root && taskNodeAt(root, ['levels']);
  return path.length === 2 && !(levels?.children ?? []).some((level) => level.type === 'object');
}

/**
 * The text a completion replaces: the string, number or key the cursor is in or just after, or
 * nothing at the cursor. An unterminated string is replaced only up to the cursor, so that what
 * follows it on the line survives. Node offsets index `text`, which starts at `base` in the document.
 */
function replacedRange(doc: TextDocument, text: string, node: Node | undefined, offset: number, base = 0): Range {
  const at = doc.positionAt(offset);
  if (!node || node.type === 'object' || node.type === 'array') return { start: at, end: at };
  const start = node.offset;
  const end = start + node.length;
  if (offset - base < start || offset - base > end) return { start: at, end: at };
  const closed = node.type !== 'string' && node.type !== 'property' ? true : /^"(?:[^"\\\n]|\\.)*"$/.test(text.slice(start, end));
  return { start: doc.positionAt(base + start), end: closed ? doc.positionAt(base + end) : at };
}

function keyCompletions(text: string, root: Node | undefined, path: JSONPath, keyNode: Node | undefined, range: Range): CompletionItem[] {
  const objectPath = path.slice(0, -1);
  const object = objectPath.length === 0 ? root : root && taskNodeAt(root, objectPath);
  const typed = keyNode?.type === 'property' ? keyNode.offset : undefined;
  const present = new Set((object?.type === 'object' ? (object.children ?? []) : []).map((p) => p.children?.[0]).filter((k) => k !== undefined && k.offset !== typed).map((k) => k!.value as string));
  // With a key string already there, replace just it; a colon is added only where none follows.
  const afterKey = keyNode?.type === 'property' ? text.slice(keyNode.offset + keyNode.length).trimStart() : '';
  const needsColon = keyNode?.type !== 'property' || !afterKey.startsWith(':');
  return keysFor(objectPath)
    .filter((key) => !present.has(key))
    .map((key, i) => {
      const item: CompletionItem = {
        label: key,
        kind: CompletionItemKind.Property,
        sortText: String(i).padStart(3, '0'),
        filterText: `"${key}"`,
        textEdit: { range, newText: needsColon ? `"${key}": ` : `"${key}"` },
      };
      const help = FIELD_HELP[key];
      if (help !== undefined) item.documentation = { kind: MarkupKind.Markdown, value: help };
      return item;
    });
}

function valueItems(values: readonly string[], range: Range): CompletionItem[] {
  return values.map((value, i) => ({
    label: value,
    kind: CompletionItemKind.EnumMember,
    sortText: String(i).padStart(3, '0'),
    filterText: JSON.stringify(value),
    textEdit: { range, newText: JSON.stringify(value) },
  }));
}

/** Per layer, what trained heads of this task's levels read it, e.g. "trained head: level 1 (dev 85.8%)". */
function trainedLayers(heads: HeadsOf, levels: number): Map<number, string> {
  const found = new Map<number, string>();
  for (let level = 1; level <= levels; level++) {
    const manifest = trainedHead(heads, level);
    if (!manifest) continue;
    const layer = manifest.layer;
    const accuracy = trainingSummary(manifest).bestDevAccuracy;
    const note = `level ${level}${accuracy !== undefined ? ` (dev ${percent(accuracy)})` : ''}`;
    found.set(layer, found.has(layer) ? `${found.get(layer)!}, ${note}` : `trained head: ${note}`);
  }
  return found;
}

function layerCompletions(root: Node | undefined, uri: string, context: FeatureContext, range: Range): CompletionItem[] {
  const folders = taskFolders(root, uri, context);
  const last: CompletionItem = { label: 'last', kind: CompletionItemKind.Value, sortText: '9999', filterText: '"last"', textEdit: { range, newText: '"last"' } };
  if (folders.modelDir === undefined) return [last];
  const model = modelLayers(folders.modelDir);
  if ('problem' in model) return [{ ...last, detail: model.problem }];
  const L = model.layers;
  const levels = root && taskNodeAt(root, ['levels']);
  const trained = trainedLayers(folders, levels?.children?.length ?? 0);
  const items: CompletionItem[] = [];
  for (let layer = 1; layer <= L; layer++) {
    const note = trained.get(layer);
    items.push({
      label: String(layer),
      kind: CompletionItemKind.Value,
      detail: `layer ${layer} of ${L}${note !== undefined ? ` · ${note}` : ''}`,
      sortText: String(layer).padStart(4, '0'),
      filterText: String(layer),
      textEdit: { range, newText: String(layer) },
    });
  }
  const lastNote = trained.get(L);
  items.push({ ...last, detail: `layer ${L} of ${L}, the model's own last layer${lastNote !== undefined ? ` · ${lastNote}` : ''}` });
  return items;
}

/** The file's thoughts without the one being typed on this line (counted once in the index). */
function othersThoughts(thoughts: Map<string, number>, typed: Node | undefined): Map<string, number> {
  const own = typeof typed?.value === 'string' ? typed.value : undefined;
  const others = new Map(thoughts);
  if (own !== undefined && others.has(own)) {
    const left = others.get(own)! - 1;
    if (left > 0) others.set(own, left);
    else others.delete(own);
  }
  return others;
}

export function datasetCompletions(doc: TextDocument, position: Position): CompletionItem[] {
  const at = labelPositionAt(doc, position);
  if (!at) return [];
  const parent = at.level > 0 ? at.written[at.level - 1] : undefined;
  const index = datasetIndex(doc);
  const candidates = at.field === 'thought' ? othersThoughts(index.thoughts, at.node) : candidateLabels(index, at.level, parent);
  const where = at.field === 'thought' ? 'thought' : `level ${at.level + 1}${parent !== undefined ? ` under ${parent}` : ''}`;
  const range = replacedRange(doc, at.line, at.node, at.lineStart + at.column, at.lineStart);
  return [...candidates].map(([label, count]) => ({
    label,
    kind: CompletionItemKind.EnumMember,
    detail: `${where} · used on ${count} line${count === 1 ? '' : 's'}`,
    // Most-used first: the usual label is the likely one.
    sortText: String(1e9 - count).padStart(10, '0'),
    filterText: JSON.stringify(label),
    textEdit: { range, newText: JSON.stringify(label) },
  }));
}
