// Task files (`*.hdlm.json`): what a hierarchical task is — the model, the dataset, which layer
// decodes each level, the prompt, where heads go and how to train them. Paths are relative to
// the task file. Parsing reports every problem with the field's JSON path, e.g.
// `wordnet.hdlm.json: levels[1].layer must be a whole number ≥ 1 or "last", got 0`.
import { applyEdits, getNodeValue, modify, parseTree, type Edit, type FormattingOptions, type JSONPath, type Node, type ParseError } from 'jsonc-parser';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { jsonErrorWords, lineColumn, notValidJson, TOO_DEEP, tooDeepAt } from '../jsonFile';
import { notRegularFile, readProblem, readTextFile } from '../textFile';

/** The task kinds, in the order editors offer them. */
export const TASK_KINDS = ['classify', 'thoughtThenAnswer'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** The top-level fields of a task file, in the order editors offer them. */
export const TASK_FIELDS = ['name', 'kind', 'model', 'dataset', 'system', 'levels', 'exitWhenSure', 'listCandidates', 'heads', 'train'] as const;

/** The system prompt of a task file without `system`, per kind (the editor measures it as the engine uses it). */
export const DEFAULT_SYSTEM: Record<TaskKind, string> = { classify: 'Classify the text from coarse to fine.', thoughtThenAnswer: 'Think briefly, then answer.' };

/** The fields of an object `dataset`, and of one entry of `levels`: anything else is a typo, refused. */
export const DATASET_FIELDS = ['train', 'dev', 'test'] as const;
export const LEVEL_FIELDS = ['layer'] as const;

/**
 * Reports the keys of `value` outside `known` as `unknown field <prefix><key>`: one wording for
 * every object of a task file, which the editor places on the key and offers to rename
 * (server/src/codeActions.ts). A misspelt key must not be ignored: `"tset"` for `"test"` would
 * leave evaluation measuring the training file's dev split without a word.
 */
function unknownFields(value: Record<string, unknown>, known: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`unknown field ${prefix}${key}`);
}

/** The heads folder of a task that names none, relative to the task file. */
export function defaultHeadsPath(name: string): string {
  return `heads/${name}`;
}

export interface TrainSettings {
  epochs: number;
  learningRate: number;
  batchSize: number;
  weightDecay: number;
  /** 'full' trains norm + W as the paper does; 'lowRank' trains a delta A·B of this rank. */
  headKind: 'full' | 'lowRank';
  /**
   * What a head applies before its linear map: 'copy' a copy of the model's final norm (trained
   * when it is an RMS norm, frozen when it is GPT-2's layer norm; the logit-lens readout), or
   * 'none': the raw residual stream, as the official HdLM code does.
   */
  headNorm: 'copy' | 'none';
  /**
   * What the last level's head learns from when it reads the last layer (classification tasks):
   * 'allLevels' every level's label tokens there, as the flat baseline's head does; 'ownLevel'
   * only its own level's, as the paper's one-loss-per-span. With a frozen backbone the last
   * layer's states are the same either way, and a head that sees three levels' rows generalises
   * better (WordNet dev, README): so 'allLevels' by default.
   */
  lastLevelHead: 'allLevels' | 'ownLevel';
  rank: number;
  seed: number;
  /** Share of the training file held out as dev when the task names no dev file. */
  devFraction: number;
  /** Stop when dev accuracy has not improved for this many epochs. */
  patience: number;
  /** Use at most this many training examples (0 = all): quick runs. */
  maxExamples: number;
  /**
   * Which of `epochs` and `patience` the task file left to their defaults (absent: neither). Only
   * those count epochs of at least MIN_STEPS_PER_EPOCH optimiser steps on a small dataset
   * (stoppingSchedule): a number the task file or the command line gives is kept as given. Not a
   * task-file field; absent from tasks that set both (the shipped ones), whose settings, and so
   * their heads' resume points, stay exactly as they were.
   */
  defaulted?: ('epochs' | 'patience')[];
}

export interface TaskDefinition {
  /** Absolute path of the task file. */
  path: string;
  name: string;
  kind: TaskKind;
  /** Absolute model folder, or 'default' for the shipped model. */
  model: string;
  dataset: { train: string; dev?: string; test?: string };
  system: string;
  /** Exit layer per level; 'last' is resolved against the model when it is loaded. */
  levels: (number | 'last')[];
  listCandidates: boolean;
  /**
   * Classify tasks: each level is scored at `layers` in turn and decided at the first where its
   * best label's probability reaches `threshold`, else at the last (ClassifyTask.exitWhenSure).
   * Training adds a head for every level at every one of these layers.
   */
  exitWhenSure?: { threshold: number; layers: (number | 'last')[] };
  /** Folder for trained heads (absolute). */
  headsDir: string;
  train: TrainSettings;
}

// Epochs are cheap next to the feature cache (the backbone runs once), so the default trains to
// convergence and lets early stopping end it: on the shipped WordNet task a 4-epoch cap stopped
// every head while dev accuracy was still rising (README, "heads trained to convergence").
export const DEFAULT_TRAIN: TrainSettings = {
  epochs: 24,
  learningRate: 2e-3,
  batchSize: 128,
  weightDecay: 0.01,
  headKind: 'full',
  headNorm: 'copy',
  lastLevelHead: 'allLevels',
  rank: 16,
  seed: 0,
  devFraction: 0.1,
  patience: 3,
  maxExamples: 0,
};

/** A classification task decodes one taxonomy level per entry of `levels`: refuses a mismatch, naming the task file. */
export function checkLevelDepth(task: TaskDefinition, depth: number, labels: string): void {
  const problem = levelDepthProblem(task.levels.length, depth, labels);
  if (problem) throw new Error(`${task.path}: ${problem}`);
}

/** What checkLevelDepth refuses, in its words, for the editor to say before training does; undefined when the depths agree. */
export function levelDepthProblem(levels: number, depth: number, labels: string): string | undefined {
  return depth === levels ? undefined : `${levels} levels, but the labels ${labels} have ${depth}`;
}

export class TaskFileError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`${path}:\n  ${problems.join('\n  ')}`);
    this.name = 'TaskFileError';
  }
}

/** Larger than any task file: a dataset or weights named by mistake is refused, not read whole. */
export const MAX_TASK_FILE_BYTES = 2 ** 20;

/**
 * Reads and checks a task file. Only a regular file up to MAX_TASK_FILE_BYTES is read: a named
 * pipe would block the reader for good, a device (/dev/zero) never ends, and a dataset named by
 * mistake takes seconds to read; each is refused by name instead.
 */
export function readTaskFile(path: string): TaskDefinition {
  const abs = resolve(path);
  let text: string;
  try {
    const stat = statSync(abs);
    if (stat.isDirectory()) throw new TaskFileError(abs, ['is a folder, not a task file (a *.hdlm.json file)']);
    const notFile = notRegularFile(stat);
    if (notFile !== undefined) throw new TaskFileError(abs, [`is ${notFile}, not a task file`]);
    if (stat.size > MAX_TASK_FILE_BYTES) throw new TaskFileError(abs, [`${(stat.size / 2 ** 20).toFixed(1)} MiB is too large for a task file (at most ${MAX_TASK_FILE_BYTES / 2 ** 20} MiB): is it a dataset?`]);
    text = readTextFile(abs);
  } catch (err) {
    if (err instanceof TaskFileError) throw err;
    throw new TaskFileError(abs, [`cannot read: ${readProblem(err)}`]);
  }
  return parseTask(parseTaskText(text, abs), abs);
}

/**
 * A task file's JSON: JSON with comments and trailing commas, read by parseTaskTree as the
 * editor's diagnostics read it (server/src/diagnostics.ts), so a file the editor shows clean also
 * runs. Each problem of the text, the first few, is named by line and column.
 */
export function parseTaskText(text: string, path: string): unknown {
  const { root, problems } = parseTaskTree(text);
  if (problems.length > 0) throw new TaskFileError(path, problems.slice(0, 3).map((p) => `line ${lineColumn(text, p.offset)}: ${p.message}`));
  return getNodeValue(root!);
}

/** A problem of a task file's text, where it is: a syntax error, nesting too deep, a key given twice. */
interface TaskTextProblem {
  offset: number;
  length: number;
  message: string;
}

/**
 * A task file's text as a tree, with the problems of the text itself: the one reading of the
 * command line (parseTaskText) and the editor (taskFileDiagnostics), so both accept the same files
 * and word each problem alike; each places it its own way (line and column, or a range). `root`
 * is undefined when the text cannot be read: nested deeper than the parser's recursion can go
 * (refused first, at the bracket too deep), or a syntax error. A byte order mark is accepted,
 * as readTextFile drops it: blanked rather than dropped, so offsets stay those of the editor's text.
 */
export function parseTaskTree(text: string): { root: Node | undefined; problems: TaskTextProblem[] } {
  const blanked = withoutByteOrderMark(text);
  const deep = tooDeepAt(blanked);
  if (deep !== undefined) return { root: undefined, problems: [{ offset: deep, length: 1, message: TOO_DEEP }] };
  const errors: ParseError[] = [];
  const root = parseTree(blanked, errors, TASK_JSON);
  if (errors.length > 0 || !root) return { root: undefined, problems: errors.map((e) => ({ offset: e.offset, length: e.length, message: notValidJson(jsonErrorWords(e.error)) })) };
  return { root, problems: duplicateKeys(root) };
}

/** The text with a leading byte order mark blanked to a space: same length, so same offsets. */
function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text;
}

/**
 * A task file's tree as the editor's features read it (hovers, lenses, links, completion, outline,
 * quick fixes, the task panel's layer edits): as parseTaskTree reads it, a byte order mark blanked,
 * but forgiving, a tree even while the text is half typed (completion needs one then). Look nodes
 * up in it with taskNodeAt, not jsonc-parser's findNodeAtLocation, so that every feature points at
 * the value the task runs with.
 */
export function taskTree(text: string): Node | undefined {
  return parseTree(withoutByteOrderMark(text), [], TASK_JSON);
}

/**
 * As jsonc-parser's findNodeAtLocation, but where a key is given twice, its last value: the one
 * JSON.parse, parseTask and the engine read (the repeat itself is reported by parseTaskTree).
 * findNodeAtLocation takes the first, so a hover, a lens or an edit would be about a value the
 * task ignores.
 */
export function taskNodeAt(root: Node | undefined, path: JSONPath): Node | undefined {
  let node: Node | undefined = root;
  for (const part of path) {
    const children: Node[] = node?.children ?? [];
    if (typeof part === 'number') node = node?.type === 'array' ? children[part] : undefined;
    else node = node?.type === 'object' ? children.filter((p) => p.children?.[0]?.value === part).at(-1)?.children?.[1] : undefined;
  }
  return node;
}

/**
 * The edits that set `value` at `path` in a task file's text, in the value the task reads
 * (taskNodeAt): a value there is replaced in place; a missing one is added by jsonc-parser's
 * modify to the deepest object or array on the path that exists, handed only that node's text,
 * so that a key given twice above it cannot send the edit into the ignored copy. Everything else,
 * comments and a byte order mark included, stays as it is.
 */
function taskValueEdits(text: string, path: JSONPath, value: unknown, formattingOptions: FormattingOptions): Edit[] {
  const root = taskTree(text);
  const found = taskNodeAt(root, path);
  if (found) return [{ offset: found.offset, length: found.length, content: JSON.stringify(value) }];
  for (let n = path.length - 1; n >= 0; n--) {
    const container = taskNodeAt(root, path.slice(0, n));
    if (container?.type !== 'object' && container?.type !== 'array') continue;
    const part = text.slice(container.offset, container.offset + container.length);
    return modify(part, path.slice(n), value, { formattingOptions }).map((e) => ({ ...e, offset: e.offset + container.offset }));
  }
  // No object at the top (an empty or broken file): jsonc-parser writes the whole value.
  return modify(withoutByteOrderMark(text), path, value, { formattingOptions });
}

/** The text with `value` set at `path` as taskValueEdits sets it. */
export function withTaskValue(text: string, path: JSONPath, value: unknown, formattingOptions: FormattingOptions): string {
  return applyEdits(text, taskValueEdits(text, path, value, formattingOptions));
}

/**
 * Keys given twice in one object, each repeat at its key: JSON keeps only the last value, so an
 * earlier `"levels"` would be ignored without a word. Recursion is bounded by tooDeepAt's limit.
 */
function duplicateKeys(node: Node, path: JSONPath = [], problems: TaskTextProblem[] = []): TaskTextProblem[] {
  if (node.type === 'array') node.children?.forEach((child, i) => duplicateKeys(child, [...path, i], problems));
  if (node.type !== 'object') return problems;
  const seen = new Set<string>();
  for (const [key, value] of (node.children ?? []).map((property) => property.children ?? [])) {
    if (!key) continue;
    const name = String(key.value);
    if (seen.has(name)) problems.push({ offset: key.offset, length: key.length, message: `duplicate field ${fieldPath([...path, name])}: only its last value would be read, the earlier ones ignored` });
    seen.add(name);
    if (value) duplicateKeys(value, [...path, name], problems);
  }
  return problems;
}

/** ['levels', 0, 'layer'] → "levels[0].layer", as problems name fields. */
function fieldPath(path: JSONPath): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/** How task files are parsed, here and by the editor's features: comments and trailing commas allowed. */
const TASK_JSON = { allowTrailingComma: true, disallowComments: false } as const;

export function parseTask(raw: unknown, path: string): TaskDefinition {
  const problems: string[] = [];
  const base = dirname(path);
  const obj = isObject(raw) ? raw : (problems.push('the task must be a JSON object'), {});
  const str = (field: string, fallback?: string): string => {
    const v = obj[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v.trim() === '') problems.push(`${field} must be a non-empty string`);
    return typeof v === 'string' ? v : '';
  };
  const name = str('name');
  // The name is the default heads folder's last part (heads/<name>): a "/" or ".." there would put
  // the heads elsewhere, even outside the task's folder, and it is what each head records as its task.
  if (/[\\/]/.test(name) || name === '.' || name === '..') problems.push(`name must not contain "/" or "\\" nor be "." or "..", got ${JSON.stringify(name)}: it names the default heads folder, heads/<name>`);
  const kind = str('kind', 'classify');
  if (!(TASK_KINDS as readonly string[]).includes(kind)) problems.push(`kind must be "classify" or "thoughtThenAnswer", got ${JSON.stringify(kind)}`);
  const model = str('model', 'default');
  const dataset = parseDataset(obj['dataset'], base, problems);
  const levels = parseLevels(obj['levels'], problems);
  const listCandidates = obj['listCandidates'] === undefined ? true : obj['listCandidates'] === true;
  if (obj['listCandidates'] !== undefined && typeof obj['listCandidates'] !== 'boolean') problems.push('listCandidates must be true or false');
  const train = parseTrain(obj['train'], problems);
  const system = str('system', DEFAULT_SYSTEM[kind === 'thoughtThenAnswer' ? 'thoughtThenAnswer' : 'classify']);
  const heads = str('heads', defaultHeadsPath(name));
  refuseTilde('model', model, problems);
  refuseTilde('heads', heads, problems);
  const exitWhenSure = parseExitWhenSure(obj['exitWhenSure'], kind, problems);
  if (kind === 'thoughtThenAnswer') checkThoughtLevels(levels, problems);
  // Said rather than ignored: a thought task's answer head learns from its answer span only.
  if (kind === 'thoughtThenAnswer' && isObject(obj['train']) && obj['train']['lastLevelHead'] !== undefined) {
    problems.push('train.lastLevelHead applies to classify tasks only (a thoughtThenAnswer task\'s answer head learns from the answer)');
  }
  unknownFields(obj, [...TASK_FIELDS, '$schema'], '', problems);
  if (problems.length > 0) throw new TaskFileError(path, problems);
  return {
    path,
    name,
    kind: kind as TaskKind,
    model: model === 'default' ? 'default' : resolve(base, model),
    dataset,
    system,
    levels,
    ...(exitWhenSure ? { exitWhenSure } : {}),
    listCandidates,
    headsDir: resolve(base, heads),
    train,
  };
}

/**
 * A path written from the home folder ("~/models/x"): no shell reads a task file, so "~" would be
 * a folder of that name beside the task. Refused, not expanded: the editor, the server and the
 * CLI then read the file alike, and the same file means the same on every user's machine.
 */
function refuseTilde(field: string, value: string, problems: string[]): void {
  if (/^~(?:[\\/]|$)/.test(value)) problems.push(`${field}: ~ is not expanded; use an absolute or task-relative path, got ${JSON.stringify(value)}`);
}

function parseDataset(value: unknown, base: string, problems: string[]): TaskDefinition['dataset'] {
  const file = (field: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') {
      problems.push(`${field} must be a path to a JSON Lines file`);
      return undefined;
    }
    refuseTilde(field, v, problems);
    // Existence is checked when the file is read (training, evaluation): a task whose data
    // is not built yet can still classify with heads that carry their taxonomy.
    return resolve(base, v);
  };
  if (typeof value === 'string') return { train: file('dataset', value) ?? '' };
  if (!isObject(value)) {
    problems.push('dataset must be a path or { "train": path, "dev"?: path, "test"?: path }');
    return { train: '' };
  }
  const train = file('dataset.train', value['train']);
  if (value['train'] === undefined) problems.push('dataset.train is required');
  const out: TaskDefinition['dataset'] = { train: train ?? '' };
  const dev = file('dataset.dev', value['dev']);
  const test = file('dataset.test', value['test']);
  if (dev) out.dev = dev;
  if (test) out.test = test;
  unknownFields(value, DATASET_FIELDS, 'dataset.', problems);
  return out;
}

function parseExitWhenSure(value: unknown, kind: string, problems: string[]): TaskDefinition['exitWhenSure'] {
  if (value === undefined) return undefined;
  const example = '{ "threshold": 0.6, "layers": [4, 6, "last"] }';
  if (kind !== 'classify') {
    problems.push('exitWhenSure applies to classify tasks only');
    return undefined;
  }
  if (!isObject(value)) {
    problems.push(`exitWhenSure must be an object like ${example}`);
    return undefined;
  }
  const threshold = value['threshold'];
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) problems.push(`exitWhenSure.threshold must be a probability in (0, 1], got ${JSON.stringify(threshold)}`);
  const raw = value['layers'];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push(`exitWhenSure.layers must be a non-empty list of layers like [4, 6, "last"], got ${JSON.stringify(raw)}`);
    return undefined;
  }
  const layers = raw.map((l, i): number | 'last' => {
    if (l === 'last' || (typeof l === 'number' && Number.isInteger(l) && l >= 1)) return l;
    problems.push(`exitWhenSure.layers[${i}] must be a whole number ≥ 1 or "last", got ${JSON.stringify(l)}`);
    return 'last';
  });
  const numeric = layers.filter((l): l is number => l !== 'last');
  if (numeric.some((l, i) => i > 0 && l <= numeric[i - 1]!) || layers.slice(0, -1).includes('last')) problems.push('exitWhenSure.layers must increase, "last" only at the end');
  unknownFields(value, ['threshold', 'layers'], 'exitWhenSure.', problems);
  return { threshold: threshold as number, layers };
}

function parseLevels(value: unknown, problems: string[]): (number | 'last')[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('levels must be a non-empty list like [{ "layer": 4 }, { "layer": "last" }]');
    return [];
  }
  value.forEach((level, i) => {
    if (isObject(level)) unknownFields(level, LEVEL_FIELDS, `levels[${i}].`, problems);
  });
  const raw = value.map((level) => (isObject(level) ? level['layer'] : level));
  const levels = raw.map((layer, i): number | 'last' => {
    if (layer === 'last') return 'last';
    if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 1) {
      // A level object without the key names no layer: said so, not as "got undefined".
      problems.push(layer === undefined ? `levels[${i}].layer is not set: give a whole number ≥ 1 or "last", e.g. { "layer": 4 }` : `levels[${i}].layer must be a whole number ≥ 1 or "last", got ${JSON.stringify(layer)}`);
      return 'last';
    }
    return layer;
  });
  // Only the valid numbers, and only a "last" the file wrote: a layer already reported as invalid
  // stands in as "last" above, and would otherwise be reported a second time.
  const numeric = raw.filter((l): l is number => typeof l === 'number' && Number.isInteger(l) && l >= 1);
  if (numeric.some((l, i) => i > 0 && l <= numeric[i - 1]!)) problems.push('levels must use increasing layers, coarse to fine');
  if (raw.slice(0, -1).includes('last')) problems.push('only the last level may use "last"');
  return levels;
}

/**
 * A thought-then-answer task has two levels: the thought's layer, then the answer's, which is
 * the last layer (the answer continues the decode state at full depth, and the flat baseline it
 * is measured against answers there too).
 */
function checkThoughtLevels(levels: (number | 'last')[], problems: string[]): void {
  if (levels.length === 0) return; // already reported
  if (levels.length !== 2) {
    problems.push(`levels must be [{ "layer": k }, { "layer": "last" }] for a thoughtThenAnswer task (the thought's layer, then the answer's), got ${levels.length} levels`);
    return;
  }
  if (levels[0] === 'last') problems.push('levels[0].layer must be the thought\'s layer, a whole number below the last layer, got "last"');
  if (levels[1] !== 'last') problems.push(`levels[1].layer must be "last" for a thoughtThenAnswer task (the answer is decoded by the last layer), got ${JSON.stringify(levels[1])}`);
}

interface NumberRule {
  check: (n: number) => boolean;
  rule: string;
}

const whole = (min: number) => (n: number) => Number.isInteger(n) && n >= min;

/** What each numeric training setting must be: in a task file's `train`, and as a command-line override. */
export const TRAIN_NUMBER_RULES = {
  epochs: { check: whole(1), rule: 'a whole number ≥ 1' },
  learningRate: { check: (n) => n > 0 && n < 1, rule: 'in (0, 1)' },
  batchSize: { check: whole(1), rule: 'a whole number ≥ 1' },
  weightDecay: { check: (n) => n >= 0 && n < 1, rule: 'in [0, 1)' },
  rank: { check: whole(1), rule: 'a whole number ≥ 1' },
  seed: { check: whole(0), rule: 'a whole number ≥ 0' },
  devFraction: { check: (n) => n > 0 && n < 0.5, rule: 'in (0, 0.5)' },
  patience: { check: whole(1), rule: 'a whole number ≥ 1' },
  maxExamples: { check: whole(0), rule: 'a whole number ≥ 0' },
} satisfies Partial<Record<keyof TrainSettings, NumberRule>>;

function parseTrain(value: unknown, problems: string[]): TrainSettings {
  if (value === undefined) return withDefaulted({ ...DEFAULT_TRAIN }, {});
  if (!isObject(value)) {
    problems.push('train must be an object');
    return { ...DEFAULT_TRAIN };
  }
  const out = { ...DEFAULT_TRAIN };
  for (const [field, { check, rule }] of Object.entries(TRAIN_NUMBER_RULES) as [keyof TrainSettings, NumberRule][]) {
    const v = value[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !check(v)) problems.push(`train.${field} must be ${rule}, got ${JSON.stringify(v)}`);
    else (out as Record<string, unknown>)[field] = v;
  }
  const kind = value['headKind'];
  if (kind !== undefined) {
    if (kind === 'full' || kind === 'lowRank') out.headKind = kind;
    else problems.push(`train.headKind must be "full" or "lowRank", got ${JSON.stringify(kind)}`);
  }
  const norm = value['headNorm'];
  if (norm !== undefined) {
    if (norm === 'copy' || norm === 'none') out.headNorm = norm;
    else problems.push(`train.headNorm must be "copy" or "none", got ${JSON.stringify(norm)}`);
  }
  const last = value['lastLevelHead'];
  if (last !== undefined) {
    if (last === 'allLevels' || last === 'ownLevel') out.lastLevelHead = last;
    else problems.push(`train.lastLevelHead must be "allLevels" or "ownLevel", got ${JSON.stringify(last)}`);
  }
  unknownFields(value, Object.keys(DEFAULT_TRAIN), 'train.', problems);
  return withDefaulted(out, value);
}

/** `settings` with `defaulted` naming the stopping fields `given` leaves out (TrainSettings.defaulted). */
function withDefaulted(settings: TrainSettings, given: Record<string, unknown>): TrainSettings {
  const defaulted = (['epochs', 'patience'] as const).filter((field) => given[field] === undefined);
  return defaulted.length > 0 ? { ...settings, defaulted } : settings;
}

/** Sets one stopping field from the command line: given, so no longer scaled as a default (TrainSettings.defaulted). */
export function setStoppingField(settings: TrainSettings, field: 'epochs' | 'patience', value: number): void {
  settings[field] = value;
  const defaulted = settings.defaulted?.filter((f) => f !== field);
  if (defaulted && defaulted.length > 0) settings.defaulted = defaulted;
  else delete settings.defaulted;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
