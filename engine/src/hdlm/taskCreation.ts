// A new task file beside a dataset ("HdLM: New Task from Dataset" in the editor, `hdlm new-task`
// on the command line), so that a user with a JSON Lines file is one command away from
// fine-tuning. The dataset is read by the same readers training uses (a file training would
// refuse is refused here, with its file and lines), the kind follows the lines' shape, and the
// levels' layers are spread over the model's depth. The file is a starting point: every choice
// is a field with a comment saying how to change it.
import { closeSync, existsSync, linkSync, openSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { readModelConfig } from '../checkpoint/config';
import { parseJsonl } from './dataset/jsonl';
import { readGuidedDataset, readHierarchicalDataset } from './dataset/readDataset';
import { defaultHeadsPath, readTaskFile, type TaskKind } from './taskFile';

export interface CreatedTask {
  /** Absolute path of the new task file. */
  task: string;
  name: string;
  kind: TaskKind;
  /** Layer per level, as written (the last level is `last`). */
  levels: (number | 'last')[];
  /** Usable examples in the dataset, and lines training will skip (with their reasons in the file's diagnostics). */
  examples: number;
  skipped: number;
  /** Layers of the model the levels were spread over. */
  modelLayers: number;
}

/** The model a new task names: its `model` field, the folder that field means, and where the choice came from (for errors). */
export interface TaskModel {
  field: string;
  dir: string;
  source: string;
}

/**
 * One layer per level, coarse to fine: the last level at the last layer, the first at half the
 * depth (where the shipped tasks decide their first level: below it a small model's states carry
 * little of the label), the ones between spread evenly. When there are more levels than layers
 * from half the depth on, the first level starts earlier, so that every level has its own layer.
 */
export function spreadLayers(depth: number, layers: number): (number | 'last')[] {
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`a task needs one level at least, got ${depth}`);
  if (depth > layers) throw new Error(`the labels have ${depth} levels, but the model has only ${layers} layers: each level needs a layer of its own`);
  if (depth === 1) return ['last'];
  const first = Math.max(1, Math.min(Math.round(layers / 2), layers - depth + 1));
  const picked: number[] = [];
  for (let d = 0; d < depth - 1; d++) {
    const even = Math.round(first + ((layers - first) * d) / (depth - 1));
    // Strictly increasing, and room left for the levels after this one.
    picked.push(Math.min(Math.max(even, (picked.at(-1) ?? 0) + 1), layers - (depth - 1 - d)));
  }
  return [...picked, 'last'];
}

/**
 * Reads the dataset as training would, and writes `<stem>.hdlm.json` beside it (`<stem>-2` …
 * when that file, or the heads folder that name would use, is taken).
 */
export function createTaskFile(dataset: string, model: TaskModel): CreatedTask {
  const files = datasetLayout(dataset);
  const { kind, depth, examples, skipped } = readForTask(files);
  const layers = modelLayers(model);
  const levels = spreadLayers(depth, layers);
  const dir = dirname(dataset);
  const stem = files.stem;
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? stem : `${stem}-${n}`;
    const task = join(dir, `${name}.hdlm.json`);
    // A name whose heads folder exists (a task deleted, its heads kept) would pick up those heads.
    if (existsSync(task) || existsSync(join(dir, defaultHeadsPath(name)))) continue;
    const modelField = model.field === 'default' ? 'default' : relativeTo(dir, model.dir);
    const named = files.dev || files.test ? { train: relativeTo(dir, files.train), ...(files.dev ? { dev: relativeTo(dir, files.dev) } : {}), ...(files.test ? { test: relativeTo(dir, files.test) } : {}) } : relativeTo(dir, files.train);
    const text = taskFileText({ name, kind, model: modelField, dataset: named, levels, examples, layers });
    if (writeNew(task, text)) {
      // What was written is what training will read: parse it back, and leave nothing invalid behind.
      try {
        readTaskFile(task);
      } catch (err) {
        unlinkSync(task);
        throw err;
      }
      return { task, name, kind, levels, examples, skipped, modelLayers: layers };
    }
  }
  throw new Error(`${dir}: ${stem}.hdlm.json and its numbered alternatives up to ${stem}-999 are all taken`);
}

/** The model's layer count, or an error saying why the layers cannot be chosen. */
function modelLayers({ dir, source }: TaskModel): number {
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(`cannot choose the layers: model folder ${dir} ${existsSync(dir) ? 'has no config.json' : 'does not exist'} (${source})`);
  }
  return readModelConfig(join(dir, 'config.json')).numLayers;
}

/** A dataset as a task names it: one file, or the parts of a split, and the name the task takes. */
interface DatasetLayout {
  train: string;
  dev?: string;
  test?: string;
  stem: string;
}

/**
 * A file named `train`, `dev` or `test` (`x.train.jsonl`, `x-dev.jsonl` …, as `npm run data`
 * writes them) whose split has a training part and another part is read as that split, and the
 * task is named after the prefix or the folder; any other file is the whole dataset.
 */
export function datasetLayout(file: string): DatasetLayout {
  const base = basename(file, '.jsonl');
  const split = /^(?:(.*?)([._-]))?(train|dev|test)$/.exec(base);
  if (split) {
    const [, prefix = '', separator = ''] = split;
    const part = (name: string): string | undefined => {
      const path = join(dirname(file), `${prefix}${separator}${name}.jsonl`);
      return existsSync(path) ? path : undefined;
    };
    const [train, dev, test] = [part('train'), part('dev'), part('test')];
    if (train && (dev || test)) return { train, ...(dev ? { dev } : {}), ...(test ? { test } : {}), stem: sanitized(prefix || basename(dirname(file))) };
  }
  return { train: file, stem: sanitized(base) };
}

/** The kind from the first line's fields, then every part read by that kind's reader (which throws with file and lines). */
function readForTask(files: DatasetLayout): { kind: TaskKind; depth: number; examples: number; skipped: number } {
  const { train } = files;
  if (!existsSync(train)) throw new Error(`${train}: no such file`);
  if (extname(train) !== '.jsonl') throw new Error(`${train}: a dataset is a JSON Lines file (*.jsonl)`);
  const first = readFirstObject(train);
  const others = [files.dev, files.test].filter((f): f is string => f !== undefined);
  if ('labels' in first || 'text' in first) {
    const { records, issues } = readHierarchicalDataset(train);
    const depth = records[0]!.labels.length;
    for (const other of others) {
      const otherDepth = readHierarchicalDataset(other).records[0]!.labels.length;
      if (otherDepth !== depth) throw new Error(`${other}: its label paths have ${otherDepth} levels, but ${basename(train)}'s have ${depth}`);
    }
    return { kind: 'classify', depth, examples: records.length, skipped: issues.skipped.length };
  }
  if ('input' in first || 'thought' in first || 'answer' in first) {
    const { records, issues } = readGuidedDataset(train);
    for (const other of others) readGuidedDataset(other);
    return { kind: 'thoughtThenAnswer', depth: 2, examples: records.length, skipped: issues.skipped.length };
  }
  throw new Error(`${train}:${first.line}: neither a classification line ({"text": "...", "labels": ["coarse", …, "fine"]}) nor a thought-then-answer line ({"input", "thought", "answer"})`);
}

function readFirstObject(dataset: string): Record<string, unknown> & { line: number } {
  // Only the head of the file is needed to tell the kind; the reader then checks every line.
  const { lines } = parseJsonl(readHead(dataset));
  const found = lines.find((l) => typeof l.value === 'object' && l.value !== null && !Array.isArray(l.value));
  if (!found) throw new Error(`${dataset}: no JSON object on its first lines`);
  return { ...(found.value as Record<string, unknown>), line: found.line };
}

/** The file's first 64 KiB, cut after its last whole line. */
function readHead(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    const end = text.lastIndexOf('\n');
    return end < 0 ? text : text.slice(0, end);
  } finally {
    closeSync(fd);
  }
}

/** A task name: letters, digits, `.`, `_`, `-`. */
function sanitized(stem: string): string {
  return stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'task';
}

function relativeTo(dir: string, path: string): string {
  const rel = relative(dir, path).split('\\').join('/');
  return rel === '' ? '.' : rel;
}

/**
 * Writes a file that must not exist yet: to a temporary name, then linked into place, which
 * fails instead of replacing a file that appeared meanwhile. False when the name is taken.
 */
function writeNew(path: string, text: string): boolean {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temp, text);
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function taskFileText(t: { name: string; kind: TaskKind; model: string; dataset: string | { train: string; dev?: string; test?: string }; levels: (number | 'last')[]; examples: number; layers: number }): string {
  const levels = `[${t.levels.map((l) => `{ "layer": ${JSON.stringify(l)} }`).join(', ')}]`;
  const thought = t.kind === 'thoughtThenAnswer';
  const lines = [
    '{',
    `  // Made by "HdLM: New Task from Dataset" from ${typeof t.dataset === 'string' ? t.dataset : t.dataset.train} (${t.examples} examples). Fine-tune it`,
    '  // from the code lens above "name" or the HdLM sidebar; hover a field for what it does.',
    `  "name": ${JSON.stringify(t.name)},`,
    ...(thought ? ['  "kind": "thoughtThenAnswer",'] : []),
    `  "model": ${JSON.stringify(t.model)},`,
    ...(typeof t.dataset === 'string'
      ? ['  // One file: training holds out a share of it as dev (train.devFraction). A split in separate', '  // files is { "train": "…", "dev": "…", "test": "…" }.']
      : ['  // Training learns from train and picks its epoch on dev; Evaluate measures on test (else dev).']),
    `  "dataset": ${typeof t.dataset === 'string' ? JSON.stringify(t.dataset) : `{ ${Object.entries(t.dataset).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`},`,
    `  "system": ${JSON.stringify(thought ? 'Think first, then answer.' : 'Classify the text from coarse to fine.')},`,
    thought
      ? `  // The thought is drafted at the first layer (exiting early), the answer at the last of ${t.layers}.`
      : `  // Each level is decided at its layer of ${t.layers}, coarse to fine; earlier layers cost less.`,
    `  "levels": ${levels}`,
    '}',
    '',
  ];
  return lines.join('\n');
}
