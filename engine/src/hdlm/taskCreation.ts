// A new task file beside a dataset ("HdLM: New Task from Dataset" in the editor, `hdlm new-task`
// on the command line), so that a user with a JSON Lines file is one command away from
// fine-tuning. The dataset is read by the same readers training uses (a file training would
// refuse is refused here, with its file and lines), the kind follows the lines' shape, and the
// levels' layers are spread over the model's depth. The file is a starting point: every choice
// is a field with a comment saying how to change it.
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { readModelConfig } from '../checkpoint/config';
import { writeNewFile } from '../textFile';
import { DATASET_IS_JSONL } from './dataset/jsonl';
import { Tokenizer } from '../tokenizer';
import type { HierarchicalRecord } from './dataset/formats';
import { describeDuplicateTexts, describeSkipped, readDatasetText, readGuidedDataset, readHierarchicalDataset, type DatasetHead, type DatasetIssues, type DatasetRead, type DatasetRecord } from './dataset/readDataset';
import { ClassificationLayout } from './classificationLayout';
import { fitToContext } from './features';
import { contextRoom, noExampleFitsError } from './contextFit';
import { sequenceFormat } from './sequenceFormat';
import { subsample } from './splits';
import { defaultHeadsPath, readTaskFile, type TaskKind } from './taskFile';
import { checkLevelsHaveChoices, trainingTaxonomy } from './trainingData';

/** What `hdlm new-task` and the language server's `hdlm/createTask` (its CreateTaskResult) report of the task file written. */
export interface CreatedTask {
  /** Absolute path of the new task file, beside the dataset. */
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
  /** The dataset's first lines, when it was larger than TASK_READ_BYTES (the most New Task from Dataset reads): `examples` and the rest count those. */
  firstLines?: number;
  /** Whether the prompt lists each level's candidates (classify tasks; false when listing them would push examples past the context, see chooseListCandidates). */
  listCandidates: boolean;
  /** What the user should know before training: why candidates are not listed, the first lines training will skip (file:line: reason). */
  notices: string[];
}

/** The model a new task names: its `model` field, the folder that field means, and where the choice came from (for errors). */
interface TaskModel {
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
export async function createTaskFile(dataset: string, model: TaskModel, { maxBytes = TASK_READ_BYTES }: { maxBytes?: number } = {}): Promise<CreatedTask> {
  const files = datasetLayout(dataset);
  const read = readForTask(files, maxBytes);
  const { kind, depth, examples, skipped } = read;
  const layers = modelLayers(model);
  const levels = spreadLayers(depth, layers);
  // Refused here rather than by train, deep inside: a level without a choice has nothing to learn.
  if (read.records) checkLevelsHaveChoices(trainingTaxonomy(read.records), files.train);
  const candidates = read.records ? await chooseListCandidates(model.dir, read.records, files.train) : { listCandidates: true, notices: [] };
  const heads = read.heads.map((h) => `read the first ${h.lines.toLocaleString('en-US')} lines (${formatMiB(maxBytes)}) of ${h.file}, which has ${formatMiB(h.fileBytes)}: the examples counted, the levels, the candidate lists and the lines named below come from those; training reads all of it`);
  const notices = [...heads, ...candidates.notices, ...read.issues.flatMap((i) => describeSkipped(i) ?? []), ...read.duplicates];
  const firstLines = read.heads.find((h) => h.file === files.train)?.lines;
  const dir = dirname(dataset);
  const stem = files.stem;
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? stem : `${stem}-${n}`;
    const task = join(dir, `${name}.hdlm.json`);
    // A name whose heads folder exists (a task deleted, its heads kept) would pick up those heads.
    if (existsSync(task) || existsSync(join(dir, defaultHeadsPath(name)))) continue;
    const modelField = model.field === 'default' ? 'default' : relativeTo(dir, model.dir);
    const named = files.dev || files.test ? { train: relativeTo(dir, files.train), ...(files.dev ? { dev: relativeTo(dir, files.dev) } : {}), ...(files.test ? { test: relativeTo(dir, files.test) } : {}) } : relativeTo(dir, files.train);
    const text = taskFileText({ name, kind, model: modelField, dataset: named, levels, examples, firstLines, layers, listCandidates: candidates.listCandidates });
    if (writeNewFile(task, text)) {
      // What was written is what training will read: parse it back, and leave nothing invalid behind.
      try {
        readTaskFile(task);
      } catch (err) {
        unlinkSync(task);
        throw err;
      }
      return { task, name, kind, levels, examples, skipped, modelLayers: layers, listCandidates: candidates.listCandidates, notices, ...(firstLines === undefined ? {} : { firstLines }) };
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
      return isFile(path) ? path : undefined; // a folder of that name is no part
    };
    const [train, dev, test] = [part('train'), part('dev'), part('test')];
    if (train && (dev || test)) return { train, ...(dev ? { dev } : {}), ...(test ? { test } : {}), stem: sanitized(prefix || basename(dirname(file))) };
  }
  return { train: file, stem: sanitized(base) };
}

/**
 * Listing candidates costs their tokens in every prompt (the level-1 list, and each label's
 * children after it). When that pushes more than this share of the examples past the context
 * (which training then skips) the prompt leaves the lists out: a task that learns from all its
 * examples beats one that sees the candidates but loses a tenth of its data.
 */
const CANDIDATES_TOO_LONG_SHARE = 0.1;
/**
 * Most bytes of each dataset file New Task from Dataset reads: a larger file gives its whole lines
 * within them (their count is said). Reading a 100+ MB file whole to propose levels blocked the
 * language server and took its size several times over in memory; the first 32 MiB (over 100,000
 * lines of most datasets) show its kind, its depth and the labels near enough, and training reads
 * all of it anyway.
 */
export const TASK_READ_BYTES = 32 * 1024 * 1024;
/** Examples measured to decide (hash-chosen, so the same every run): enough to see a share of 10 %. */
const CANDIDATES_SAMPLE = 2000;

/**
 * Whether a classification task's prompt should list candidates: measured as training lays the
 * prompt out (ClassificationLayout, the model's tokenizer and context), with and without the
 * lists. A model without a tokenizer cannot be measured; its task keeps the default.
 */
async function chooseListCandidates(modelDir: string, records: { train: HierarchicalRecord[]; dev: HierarchicalRecord[] }, source: string): Promise<{ listCandidates: boolean; notices: string[] }> {
  if (!existsSync(join(modelDir, 'tokenizer.json'))) return { listCandidates: true, notices: [] };
  const config = readModelConfig(join(modelDir, 'config.json'));
  const format = sequenceFormat(await Tokenizer.load(modelDir));
  const taxonomy = trainingTaxonomy(records);
  const sample = subsample(records.train, CANDIDATES_SAMPLE, 0);
  const tooLongOf = (listCandidates: boolean) => fitToContext({ config }, new ClassificationLayout(format, { taxonomy, system: CLASSIFY_SYSTEM, listCandidates }), sample).tooLong;
  const bareTooLong = tooLongOf(false);
  // None fits even without the lists: training would refuse the dataset (trainTask), so creating
  // a task for it is refused the same way. A sample none of 2,000 of which fits stands for the file.
  if (sample.length > 0 && bareTooLong.length === sample.length) throw noExampleFitsError(sample.length < records.train.length ? `${source} (a sample of ${sample.length})` : source, contextRoom(config), bareTooLong, 'no task file was written');
  const [listed, bare] = [tooLongOf(true).length, bareTooLong.length];
  const of = `${sample.length < records.train.length ? `a sample of ${sample.length}` : `the ${sample.length}`} training examples`;
  const context = `the model's context of ${config.maxPositions} positions`;
  const still = bare > 0 ? [`${bare} of ${of} ${bare === 1 ? 'is' : 'are'} longer than ${context} even so; training will skip ${bare === 1 ? 'it' : 'them'}`] : [];
  if (listed - bare <= CANDIDATES_TOO_LONG_SHARE * sample.length) return { listCandidates: true, notices: still };
  return { listCandidates: false, notices: [`"listCandidates": false: listing each level's candidates would make ${listed} of ${of} longer than ${context} (${bare} without the lists)`, ...still] };
}

/**
 * The kind from the first line's fields, then every part read by that kind's reader (which throws
 * with file and lines); `duplicates` says what training will say of repeated texts.
 */
function readForTask(files: DatasetLayout, maxBytes: number): { kind: TaskKind; depth: number; examples: number; skipped: number; issues: DatasetIssues[]; duplicates: string[]; heads: ({ file: string } & DatasetHead)[]; records?: { train: HierarchicalRecord[]; dev: HierarchicalRecord[] } } {
  const { train } = files;
  if (!existsSync(train)) throw new Error(`${train}: no such file`);
  // Named, not left to the read's bare "EISDIR: illegal operation on a directory" (no path).
  if (!isFile(train)) throw new Error(`${train}: is a folder, not a dataset; ${DATASET_IS_JSONL}`);
  if (extname(train) !== '.jsonl') throw new Error(`${train}: ${DATASET_IS_JSONL}`);
  const first = readFirstObject(train, maxBytes);
  const options = { maxBytes };
  const others = (['dev', 'test'] as const).flatMap((part) => (files[part] ? [{ part, file: files[part] }] : []));
  if ('labels' in first || 'text' in first) {
    const trainPart = readHierarchicalDataset(train, options);
    const depth = trainPart.records[0]!.labels.length;
    const parts = others.map(({ part, file }) => ({ part, read: readHierarchicalDataset(file, options) }));
    for (const { read } of parts) {
      const otherDepth = read.records[0]!.labels.length;
      if (otherDepth !== depth) throw new Error(`${read.issues.file}: its label paths have ${otherDepth} levels, but ${basename(train)}'s have ${depth}`);
    }
    // Training's taxonomy: the training part's paths and the dev part's (the test part's are not trained on).
    const split = { train: trainPart.records, dev: parts.find((p) => p.part === 'dev')?.read.records ?? [] };
    return { kind: 'classify', depth, ...readSummary(trainPart, parts), records: split };
  }
  if ('input' in first || 'thought' in first || 'answer' in first) {
    const trainPart = readGuidedDataset(train, options);
    const parts = others.map(({ part, file }) => ({ part, read: readGuidedDataset(file, options) }));
    return { kind: 'thoughtThenAnswer', depth: 2, ...readSummary(trainPart, parts) };
  }
  throw new Error(`${train}:${first.line}: neither a classification line ({"text": "...", "labels": ["coarse", …, "fine"]}) nor a thought-then-answer line ({"input", "thought", "answer"})`);
}

/** What a new task says of its dataset's parts: the examples, the lines skipped, the repeated texts. */
function readSummary(train: DatasetRead<DatasetRecord>, parts: readonly { part: 'dev' | 'test'; read: DatasetRead<DatasetRecord> }[]): { examples: number; skipped: number; issues: DatasetIssues[]; duplicates: string[]; heads: ({ file: string } & DatasetHead)[] } {
  const heads = [train, ...parts.map((p) => p.read)].flatMap((r) => (r.head ? [{ file: r.issues.file, ...r.head }] : []));
  return { examples: train.records.length, skipped: train.issues.skipped.length, issues: [train.issues, ...parts.map((p) => p.read.issues)], duplicates: describeDuplicateTexts(train, parts), heads };
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
}

/**
 * The first line that is a JSON object, which tells the kind; the reader then checks every line.
 * Read as the reader reads (the whole lines of the first `maxBytes`, all of a file whose first
 * line is longer), so the kind comes from a line the reader sees.
 */
function readFirstObject(dataset: string, maxBytes: number): Record<string, unknown> & { line: number } {
  const text = readDatasetText(dataset, maxBytes).text;
  for (let start = 0, line = 1; start < text.length; line++) {
    const end = text.indexOf('\n', start);
    const raw = text.slice(start, end < 0 ? text.length : end);
    start = end < 0 ? text.length : end + 1;
    if (raw.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(raw);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ...(value as Record<string, unknown>), line };
    } catch {
      // Not JSON: the reader reports it with its line; the kind comes from the next line.
    }
  }
  throw new Error(`${dataset}: no line is a JSON object`);
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** A task name: letters, digits, `.`, `_`, `-`. */
function sanitized(stem: string): string {
  return stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'task';
}

function relativeTo(dir: string, path: string): string {
  const rel = relative(dir, path).split('\\').join('/');
  return rel === '' ? '.' : rel;
}

/** The prompt's system turn in a new classification task. */
const CLASSIFY_SYSTEM = 'Classify the text from coarse to fine.';

function taskFileText(t: { name: string; kind: TaskKind; model: string; dataset: string | { train: string; dev?: string; test?: string }; levels: (number | 'last')[]; examples: number; firstLines: number | undefined; layers: number; listCandidates: boolean }): string {
  const levels = `[${t.levels.map((l) => `{ "layer": ${JSON.stringify(l)} }`).join(', ')}]`;
  const thought = t.kind === 'thoughtThenAnswer';
  const lines = [
    '{',
    `  // Made by "HdLM: New Task from Dataset" from ${typeof t.dataset === 'string' ? t.dataset : t.dataset.train} (${t.examples} examples${t.firstLines === undefined ? '' : ` in its first ${t.firstLines} lines`}). Fine-tune it`,
    '  // from the code lens above "name" or the HdLM sidebar; hover a field for what it does.',
    `  "name": ${JSON.stringify(t.name)},`,
    ...(thought ? ['  "kind": "thoughtThenAnswer",'] : []),
    `  "model": ${JSON.stringify(t.model)},`,
    ...(typeof t.dataset === 'string'
      ? ['  // One file: training holds out a share of it as dev (train.devFraction). A split in separate', '  // files is { "train": "…", "dev": "…", "test": "…" }.']
      : ['  // Training learns from train and picks its epoch on dev; Evaluate measures on test (else dev).']),
    `  "dataset": ${typeof t.dataset === 'string' ? JSON.stringify(t.dataset) : `{ ${Object.entries(t.dataset).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')} }`},`,
    `  "system": ${JSON.stringify(thought ? 'Think first, then answer.' : CLASSIFY_SYSTEM)},`,
    ...(t.listCandidates
      ? []
      : ['  // Each level\'s candidates are not listed in the prompt: with them, many examples would not fit', '  // the model\'s context, and training skips those. A model with a longer context can list them (true).', '  "listCandidates": false,']),
    thought
      ? `  // The thought is drafted at the first layer (exiting early), the answer at the last of ${t.layers}.`
      : `  // Each level is decided at its layer of ${t.layers}, coarse to fine; earlier layers cost less.`,
    `  "levels": ${levels}`,
    '}',
    '',
  ];
  return lines.join('\n');
}
