// Diagnostics for the project's own files: task files (*.hdlm.json, JSON with comments) get
// JSON syntax errors and every task-file problem placed on the field it is about, plus the
// problems only the model folder shows (no such folder, no config.json, a level deeper than the
// model, one before "last" at its last layer, a system prompt that leaves the input too little
// of the model's context); JSON Lines datasets that look like HdLM datasets get one diagnostic per bad line, and a
// dev or test split one per label its training file never has (splitDiagnostics.ts). Those a
// quick fix can mend carry what it needs in `data` (FixData, read by codeActions.ts).
// Functions of the text and of small cached file reads, so the server can run them on every
// change and tests can call them directly.
import { Node, type JSONPath } from 'jsonc-parser';
import { Diagnostic, DiagnosticSeverity, Range } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath } from 'node:url';
import { validateGuided, validateHierarchical } from '../../engine/src/hdlm/dataset/formats';
import { DEFAULT_SYSTEM, levelDepthProblem, parseTask, parseTaskTree, TASK_KINDS, taskNodeAt, TaskFileError, type TaskKind } from '../../engine/src/hdlm/taskFile';
import { ClassificationLayout } from '../../engine/src/hdlm/classificationLayout';
import { sequenceFormat } from '../../engine/src/hdlm/sequenceFormat';
import { Taxonomy } from '../../engine/src/hdlm/taxonomy';
import { fixedPartMessage } from '../../engine/src/model/contextOverflow';
import type { ModelConfig } from '../../engine/src/checkpoint/types';
import { levelAtLastLayer } from '../../engine/src/hdlm/taskSession';
import { resolve } from 'node:path';
import { datasetKind, type DatasetKind } from './datasetKind';
import { splitDiagnostics } from './splitDiagnostics';
import { factsOf, modelLayers, modelTokenizer, taskBaseDir, taskFolders, type DatasetFacts, type FeatureContext, type LevelLabels } from './taskFacts';

/** Live validation reads at most this many dataset lines, so typing stays fast in huge files. */
export const MAX_LINES_CHECKED = 20000;

/**
 * What a quick fix needs to know about a diagnostic, kept in its `data` (LSP hands it back with
 * the code-action request, so codeActions.ts never parses messages).
 */
export type FixData =
  /** A level asks for a layer deeper than the model's `layers`. */
  | { fix: 'layerBeyondModel'; layers: number }
  /** A key the task file does not know, at `path`. */
  | { fix: 'unknownField'; path: JSONPath }
  /** The task's model folder is missing or unreadable; the default model would do. */
  | { fix: 'modelFolder' }
  /** A dataset line puts `label` (level `level`, 0-based) under another parent than line `firstLine` (1-based) does. */
  | { fix: 'treeParent'; label: string; level: number; firstLine: number; firstParent: string };

function rangeOf(doc: TextDocument, offset: number, length: number): Range {
  return { start: doc.positionAt(offset), end: doc.positionAt(offset + Math.max(length, 1)) };
}

/** "levels[2].layer must be …" → ['levels', 2, 'layer']; "unknown field levels[0].layr" → ['levels', 0, 'layr']. */
export function pathOfProblem(message: string): JSONPath {
  const unknown = /^unknown field ([\w.[\]]+)/.exec(message);
  const text = unknown ? unknown[1]! : (/^([A-Za-z]\w*(?:\[\d+\])?(?:\.\w+(?:\[\d+\])?)*)/.exec(message)?.[1] ?? '');
  const path: JSONPath = [];
  for (const part of text.split('.')) {
    const m = /^(\w+)(?:\[(\d+)\])?$/.exec(part);
    if (!m) break;
    path.push(m[1]!);
    if (m[2] !== undefined) path.push(Number(m[2]));
  }
  return path;
}

/** The node a problem is about: the deepest existing node on its path (for an unknown key, the key). */
function nodeFor(root: Node | undefined, path: JSONPath, unknownKey: boolean): Node | undefined {
  for (let n = path.length; n > 0; n--) {
    const node = root && taskNodeAt(root, path.slice(0, n));
    if (node) return unknownKey && n === path.length && node.parent?.type === 'property' ? node.parent.children?.[0] : node;
  }
  return root;
}

/** Without `context` only the text is checked; with it, the model folder too. */
export function taskFileDiagnostics(doc: TextDocument, context?: FeatureContext): Diagnostic[] {
  // The text's own problems (syntax, nesting, a key given twice) as the command line words them.
  const { root, problems } = parseTaskTree(doc.getText());
  const diagnostics: Diagnostic[] = problems.map((p) => ({ range: rangeOf(doc, p.offset, p.length), severity: DiagnosticSeverity.Error, source: 'hdlm', message: p.message }));
  if (!root) return diagnostics;
  const path = doc.uri.startsWith('file:') ? fileURLToPath(doc.uri) : doc.uri;
  try {
    parseTask(nodeValue(root), path);
  } catch (err) {
    if (!(err instanceof TaskFileError)) throw err;
    for (const problem of err.problems) {
      const unknown = problem.startsWith('unknown field');
      const problemPath = pathOfProblem(problem);
      const node = nodeFor(root, problemPath, unknown);
      // A missing field belongs to the whole object; mark its opening brace, not every line.
      const length = node === undefined || node === root ? 1 : node.length;
      const diagnostic: Diagnostic = { range: rangeOf(doc, node?.offset ?? 0, length), severity: DiagnosticSeverity.Error, source: 'hdlm', message: problem };
      if (unknown) diagnostic.data = { fix: 'unknownField', path: problemPath } satisfies FixData;
      diagnostics.push(diagnostic);
    }
  }
  if (context) diagnostics.push(...modelDiagnostics(doc, root, context), ...datasetFileDiagnostics(doc, root));
  return diagnostics;
}

/** Labels named in a message: a few, then how many more. */
function someLabels(labels: string[]): string {
  return labels.length <= 4 ? labels.join(', ') : `${labels.slice(0, 4).join(', ')} and ${labels.length - 4} more`;
}

/**
 * The dataset files must exist and hold the examples the task's kind trains on; the training
 * file's labels must be as deep as the task has levels (training refuses either, in the words
 * used here); a dev or test file may only use labels the training file has, since the heads can
 * never predict a label they were not trained on (its examples count as wrong, or, for the
 * taxonomy, the path cannot be decoded at all).
 */
function datasetFileDiagnostics(doc: TextDocument, root: Node): Diagnostic[] {
  const base = taskBaseDir(doc.uri);
  const dataset = taskNodeAt(root, ['dataset']);
  if (base === undefined || !dataset) return [];
  const files = dataset.type === 'string' ? [{ split: 'train', node: dataset }] : (['train', 'dev', 'test'] as const).map((split) => ({ split, node: taskNodeAt(dataset, [split]) }));
  const kind = taskKindOf(root);
  const diagnostics: Diagnostic[] = [];
  let train: LevelLabels | undefined;
  for (const { split, node } of files) {
    if (node?.type !== 'string' || typeof node.value !== 'string' || !node.value.trim()) continue;
    const path = resolve(base, node.value);
    const facts = factsOf(path);
    const range = rangeOf(doc, node.offset, node.length);
    const error = (message: string): Diagnostic => ({ range, severity: DiagnosticSeverity.Error, source: 'hdlm', message: `dataset ${split} file ${path} ${message}` });
    if (!facts) {
      diagnostics.push(error('does not exist'));
      continue;
    }
    if ('why' in facts) {
      if (facts.broken) diagnostics.push(error(`is ${facts.why}`));
      // A file still being read is checked when it has been (the server validates again then).
      continue;
    }
    const mismatch = kind && kindMismatch(kind, facts);
    if (mismatch) {
      diagnostics.push(error(mismatch));
      continue;
    }
    const labels = facts.levels;
    if (split === 'train') {
      train = labels;
      if (kind === 'classify') diagnostics.push(...levelDepthDiagnostics(doc, root, labels.length));
      continue;
    }
    if (!train) continue;
    const unknown = labels.map((set, d) => ({ level: d + 1, labels: [...set].filter((l) => !train![d]?.has(l)) })).filter((u) => u.labels.length > 0);
    if (unknown.length === 0) continue;
    const detail = unknown.map((u) => `level ${u.level}: ${someLabels(u.labels)}`).join('; ');
    diagnostics.push({ range, severity: DiagnosticSeverity.Warning, source: 'hdlm', message: `the ${split} file uses labels the training file never has (${detail}): no head can predict them` });
  }
  return diagnostics;
}

/** The task's kind as parseTask reads it (classify when unset); undefined when `kind` is not one (parseTask names it). */
function taskKindOf(root: Node): TaskKind | undefined {
  const value: unknown = taskNodeAt(root, ['kind'])?.value ?? 'classify';
  return (TASK_KINDS as readonly unknown[]).includes(value) ? (value as TaskKind) : undefined;
}

/** What each kind of dataset holds, in the words of its lines. */
const DATASET_WORDS: Record<DatasetKind, string> = {
  hierarchical: 'labelled examples ({"text", "labels"})',
  guided: 'thought-then-answer examples ({"input", "thought", "answer"})',
};

/** Why a dataset of the wrong kind is useless to the task: training reads none of its lines ("no usable examples"). */
function kindMismatch(kind: TaskKind, facts: DatasetFacts): string | undefined {
  const wanted: DatasetKind = kind === 'thoughtThenAnswer' ? 'guided' : 'hierarchical';
  if (facts.kind === undefined || facts.kind === wanted) return undefined;
  return `holds ${DATASET_WORDS[facts.kind]}, but a ${kind} task trains on ${DATASET_WORDS[wanted]}: training would find no usable examples in it`;
}

/** A classify task with more or fewer levels than its training labels have, on `levels`: checkLevelDepth's refusal, said before training. */
function levelDepthDiagnostics(doc: TextDocument, root: Node, depth: number): Diagnostic[] {
  const levels = taskNodeAt(root, ['levels']);
  // No labels at all, or no list of levels (parseTask names that), leaves nothing to compare.
  if (depth === 0 || levels?.type !== 'array' || !levels.children?.length) return [];
  const problem = levelDepthProblem(levels.children.length, depth, 'in the training data');
  return problem ? [{ range: rangeOf(doc, levels.offset, levels.length), severity: DiagnosticSeverity.Error, source: 'hdlm', message: problem }] : [];
}

/**
 * The model folder must exist and have a readable config.json, no level may ask for a layer
 * deeper than the model has, and none before "last" may sit at its last layer: the engine
 * refuses such a task when it loads it, so say so here.
 */
function modelDiagnostics(doc: TextDocument, root: Node, context: FeatureContext): Diagnostic[] {
  const folders = taskFolders(root, doc.uri, context);
  if (folders.modelDir === undefined) return [];
  const model = modelLayers(folders.modelDir);
  const error = (node: Node, length: number, message: string): Diagnostic => ({ range: rangeOf(doc, node.offset, length), severity: DiagnosticSeverity.Error, source: 'hdlm', message });
  // A task without a model field uses the default model; its problem belongs to the opening brace.
  if ('problem' in model) {
    if (!folders.modelNode) return [error(root, 1, model.problem)];
    const fixable = folders.modelDir !== context.defaultModelDir;
    return [{ ...error(folders.modelNode, folders.modelNode.length, model.problem), ...(fixable ? { data: { fix: 'modelFolder' } satisfies FixData } : {}) }];
  }
  const levels = taskNodeAt(root, ['levels']);
  const diagnostics: Diagnostic[] = [];
  const layerNodes = (levels?.type === 'array' ? (levels.children ?? []) : []).map((level) => (level.type === 'object' ? taskNodeAt(level, ['layer']) : level));
  layerNodes.forEach((layer, i) => {
    if (layer?.type !== 'number' || typeof layer.value !== 'number' || layer.value <= model.layers) return;
    const data: FixData = { fix: 'layerBeyondModel', layers: model.layers };
    diagnostics.push({ ...error(layer, layer.length, `levels[${i}].layer is ${layer.value} but ${folders.modelName} has ${model.layers} layers`), data });
  });
  // Training refuses a level at the last layer before "last" (levelAtLastLayer): said on its layer.
  // A layer that is neither a number nor "last" matches nothing (NaN); parseTask names it.
  const atLast = levelAtLastLayer(layerNodes.map((n) => (n?.value === 'last' ? 'last' : typeof n?.value === 'number' ? n.value : NaN)), model.layers);
  const atLastNode = atLast && layerNodes[atLast.level];
  if (atLast && atLastNode) diagnostics.push(error(atLastNode, atLastNode.length, atLast.message));
  const exits = taskNodeAt(root, ['exitWhenSure', 'layers']);
  (exits?.type === 'array' ? (exits.children ?? []) : []).forEach((layer, i) => {
    if (layer.type === 'number' && typeof layer.value === 'number' && layer.value > model.layers) {
      diagnostics.push(error(layer, layer.length, `exitWhenSure.layers[${i}] is ${layer.value} but ${folders.modelName} has ${model.layers} layers`));
    }
  });
  diagnostics.push(...fixedPromptDiagnostics(doc, root, folders.modelDir, model.context));
  return diagnostics;
}

/** The layout's taxonomy where the candidate lists are left out: the shared prefix then never reads it. */
const NO_TAXONOMY = Taxonomy.fromJSON({ depth: 0, levels: [] });

/**
 * A classify task whose fixed prompt leaves fewer than MIN_INPUT_ROOM positions of the model's
 * context for the input: the engine would refuse every input, and says so in these words
 * (fixedPartMessage), so say it on the task file before any is tried. A warning, since the task
 * file itself is valid. Measured with the model's tokenizer once the server has read it
 * (modelTokenizer; the open task files are validated again then). The level-1 candidate lists
 * are not counted: they need the dataset's taxonomy, which the editor does not build; the
 * system prompt and turn markers are the part a task writes, and the one that overflows.
 * Placed on "system", what to shorten, or on the opening brace when the default prompt is used
 * (the model's small context is then the cause).
 */
function fixedPromptDiagnostics(doc: TextDocument, root: Node, modelDir: string, context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'>): Diagnostic[] {
  if (taskKindOf(root) !== 'classify') return [];
  const tokenizer = modelTokenizer(modelDir);
  const node = taskNodeAt(root, ['system']);
  // A "system" that is not a string is parseTask's to name.
  if (!tokenizer || (node && typeof node.value !== 'string')) return [];
  const system = node ? (node.value as string) : DEFAULT_SYSTEM.classify;
  const layout = new ClassificationLayout(sequenceFormat(tokenizer), { taxonomy: NO_TAXONOMY, system, listCandidates: false });
  const message = fixedPartMessage(context, layout.fixedPart());
  if (message === undefined) return [];
  const at = node ?? root;
  return [{ range: rangeOf(doc, at.offset, node ? node.length : 1), severity: DiagnosticSeverity.Warning, source: 'hdlm', message }];
}

function nodeValue(node: Node): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries((node.children ?? []).map((p) => [p.children![0]!.value as string, p.children![1] ? nodeValue(p.children![1]) : undefined]));
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value as unknown;
  }
}

export function datasetDiagnostics(doc: TextDocument): Diagnostic[] {
  const lines = doc.getText().split('\n');
  const text = lines.slice(0, MAX_LINES_CHECKED).join('\n');
  const kind = datasetKind(text);
  if (!kind) return [];
  const checked = kind === 'hierarchical' ? validateHierarchical(text) : { ...validateGuided(text), treeViolations: [] };
  const refusing = new Map(checked.treeViolations.map((v) => [`${v.line}:${v.message}`, v]));
  const diagnostics: Diagnostic[] = checked.issues.map((issue) => {
    const line = Math.max(0, issue.line - 1);
    const violation = refusing.get(`${issue.line}:${issue.message}`);
    const diagnostic: Diagnostic = {
      range: { start: { line, character: 0 }, end: { line, character: lines[line]?.length ?? 0 } },
      severity: violation ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      source: 'hdlm',
      message: `${issue.message}${violation ? ' (training refuses this file)' : ' (training skips this line)'}`,
    };
    if (violation?.kind === 'parent' && violation.firstParent !== undefined) {
      diagnostic.data = { fix: 'treeParent', label: violation.label, level: violation.level, firstLine: violation.firstLine, firstParent: violation.firstParent } satisfies FixData;
    }
    return diagnostic;
  });
  diagnostics.push(...splitDiagnostics(doc, kind, lines.slice(0, MAX_LINES_CHECKED)));
  if (lines.length > MAX_LINES_CHECKED) {
    diagnostics.push({ range: { start: { line: MAX_LINES_CHECKED, character: 0 }, end: { line: MAX_LINES_CHECKED, character: 0 } }, severity: DiagnosticSeverity.Information, source: 'hdlm', message: `only the first ${MAX_LINES_CHECKED} lines are checked while editing; training checks them all` });
  }
  return diagnostics;
}
