// What the language features need to know about a task file beyond its text: where its model and
// heads folders are, how many layers and positions the model has, its tokenizer, and which levels
// already have trained heads. Every file read is cached by modification time, because completion,
// hover and diagnostics ask again on each keystroke and must stay fast while a fine-tuning job
// rewrites the heads.
import type { Node } from 'jsonc-parser';
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelConfig } from '../../engine/src/checkpoint/config';
import type { ModelConfig } from '../../engine/src/checkpoint/types';
import { Tokenizer } from '../../engine/src/tokenizer';
import { headsFolderOwner, headsFolderProblem, readManifest, type HeadManifest } from '../../engine/src/hdlm/headStore';
import { FLAT_HEAD, headName } from '../../engine/src/hdlm/taskSession';
import { defaultHeadsPath, taskNodeAt, type TaskKind } from '../../engine/src/hdlm/taskFile';
import { fileIndexOrReason, LabelIndex, type NoIndex } from './labelUses';
import type { DatasetKind } from './datasetKind';

/** What the server knows that the document text does not say. */
export interface FeatureContext {
  /** The shipped model's folder, used where a task says `"model": "default"` or names none. */
  defaultModelDir: string;
}

/** A task file's folders, read leniently from its (possibly half-typed) JSON tree. */
export interface TaskFolders {
  /** The `model` value node, when the field is there. */
  modelNode: Node | undefined;
  /** Absolute model folder; undefined when a relative path cannot be resolved (an untitled file). */
  modelDir: string | undefined;
  /** How messages name the model: the field as written, or the default model's folder name. */
  modelName: string;
  /** Absolute heads folder; undefined without a file path or a task name. */
  headsDir: string | undefined;
  /** The task's kind (classify unless the file says thoughtThenAnswer): it decides the heads' names. */
  kind: TaskKind;
  /** The task's `name`, which its heads' manifests record (another task's heads are not its own). */
  taskName: string | undefined;
}

/** Where a task's heads are and whose they must be: what trainedHead and trainedBaseline read. */
export type HeadsOf = Pick<TaskFolders, 'headsDir' | 'kind' | 'taskName'>;

/** The model's depth and context (what sets it too, for messages), from its config.json. */
export type ModelLayers = { layers: number; context: Pick<ModelConfig, 'maxPositions' | 'maxPositionsFrom'> } | { problem: string };

/** The task file's own folder, or undefined for documents that are not files. */
export function taskBaseDir(uri: string): string | undefined {
  return uri.startsWith('file:') ? dirname(fileURLToPath(uri)) : undefined;
}

function stringAt(root: Node | undefined, key: string): { node: Node | undefined; value: string | undefined } {
  const node = root && taskNodeAt(root, [key]);
  return { node, value: node?.type === 'string' && typeof node.value === 'string' && node.value.trim() !== '' ? node.value : undefined };
}

/** Resolves the task's folders the way taskFile.ts does: relative to the task file. */
export function taskFolders(root: Node | undefined, uri: string, context: FeatureContext): TaskFolders {
  const base = taskBaseDir(uri);
  const model = stringAt(root, 'model');
  const isDefault = model.value === undefined || model.value === 'default';
  const modelDir = isDefault ? context.defaultModelDir : base !== undefined ? resolve(base, model.value!) : undefined;
  const modelName = isDefault ? `the default model (${basename(context.defaultModelDir)})` : model.value!;
  const headsDir = taskHeadsDir(root, uri);
  const kind: TaskKind = stringAt(root, 'kind').value === 'thoughtThenAnswer' ? 'thoughtThenAnswer' : 'classify';
  return { modelNode: model.node, modelDir, modelName, headsDir, kind, taskName: stringAt(root, 'name').value };
}

/** The task's heads folder (its `heads`, else `heads/<name>`), relative to the task file; undefined without a file path or a name. */
export function taskHeadsDir(root: Node | undefined, uri: string): string | undefined {
  const base = taskBaseDir(uri);
  const name = stringAt(root, 'name').value;
  const heads = stringAt(root, 'heads').value ?? (name !== undefined ? defaultHeadsPath(name) : undefined);
  return base !== undefined && heads !== undefined ? resolve(base, heads) : undefined;
}

/** A file's stamp (modification time and size), what the caches here compare; undefined when no file is there. */
function fileStamp(path: string): string | undefined {
  try {
    const stat = statSync(path);
    return stat.isFile() ? `${stat.mtimeMs}:${stat.size}` : undefined;
  } catch {
    return undefined;
  }
}

/** A cache of values derived from one file, refreshed when the file's mtime or size changes. */
class FileCache<T> {
  private readonly entries = new Map<string, { stamp: string; value: T }>();

  constructor(private readonly read: (path: string) => T) {}

  /** The value for `path`, or undefined when the file does not exist. */
  get(path: string): T | undefined {
    const stamp = fileStamp(path);
    if (stamp === undefined) {
      this.entries.delete(path);
      return undefined;
    }
    const cached = this.entries.get(path);
    if (cached?.stamp === stamp) return cached.value;
    const value = this.read(path);
    this.entries.set(path, { stamp, value });
    return value;
  }
}

const configs = new FileCache<ModelLayers>((path) => {
  try {
    const config = readModelConfig(path);
    return { layers: config.numLayers, context: { maxPositions: config.maxPositions, maxPositionsFrom: config.maxPositionsFrom } };
  } catch (err) {
    return { problem: (err as Error).message };
  }
});

const manifests = new FileCache<HeadManifest | undefined>((path) => {
  try {
    return readManifest(dirname(path), basename(path, '.json'));
  } catch {
    // A manifest being rewritten or damaged is no reason to fail a hover; the head loader reports it.
    return undefined;
  }
});

/** A tokenizer.json being read, then read (or not: its loader names why, and a model's own load says it). */
interface TokenizerEntry {
  tokenizer?: Tokenizer;
}

/** Called when a tokenizer read in the background has been (or could not be), to validate again. */
const tokenizerListeners: (() => void)[] = [];

/**
 * Tokenizers by file stamp, read in the background: Tokenizer.fromFile is asynchronous (it
 * imports its library), and the shipped tokenizer.json is a few MB, which a keystroke must not
 * wait for nor read again. A model's tokenizer.json hardly ever changes, so one per file is kept.
 */
const tokenizers = new FileCache<TokenizerEntry>((path) => {
  const entry: TokenizerEntry = {};
  void Tokenizer.fromFile(path).then(
    (tokenizer) => {
      entry.tokenizer = tokenizer;
    },
    // A tokenizer that cannot be read gives no warning here; loading the model refuses it by name.
    () => undefined,
  ).finally(() => {
    for (const listener of tokenizerListeners) listener();
  });
  return entry;
});

/**
 * The model's tokenizer when it has been read; undefined while it is being read (onTokenizerRead
 * listeners are called when it has), when the model has none, or when it cannot be read.
 */
export function modelTokenizer(modelDir: string): Tokenizer | undefined {
  return tokenizers.get(join(modelDir, 'tokenizer.json'))?.tokenizer;
}

/** Calls `listener` whenever a tokenizer read in the background has been read (or could not be). */
export function onTokenizerRead(listener: () => void): void {
  tokenizerListeners.push(listener);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The model's layer count from its config.json, or why it cannot be had. */
export function modelLayers(modelDir: string): ModelLayers {
  if (!isDirectory(modelDir)) return { problem: `model folder ${modelDir} does not exist` };
  return configs.get(join(modelDir, 'config.json')) ?? { problem: `model folder ${modelDir} has no config.json` };
}

/**
 * The manifest of level `level`'s trained head (1-based), when one of this task's is saved: a head
 * another task trained into the folder (a copied task file keeps "heads"; a renamed task) is not
 * this task's, as loading and training refuse it (headStore.ts), so it is not shown as trained.
 */
export function trainedHead(heads: HeadsOf, level: number): HeadManifest | undefined {
  return ownHead(heads, `${headName(heads.kind, level)}.json`);
}

/** The manifest of the flat baseline's head, when one of this task's is saved. */
export function trainedBaseline(heads: HeadsOf): HeadManifest | undefined {
  return ownHead(heads, `${FLAT_HEAD}.json`);
}

/**
 * What is wrong with the task's heads folder, in the words the task panel and the status use
 * (headsFolderProblem): it holds another task's heads, which classifying and fine-tuning refuse,
 * or it is a file, or it cannot be read; undefined when none of these (or no folder is known).
 */
export function headsFolderNotice(heads: HeadsOf): string | undefined {
  if (heads.headsDir === undefined || heads.taskName === undefined) return undefined;
  const owner = headsFolderOwner(heads.headsDir, heads.taskName, (dir, name) => manifests.get(join(dir, `${name}.json`)));
  return headsFolderProblem(owner, heads.headsDir, heads.taskName, 'use');
}

function ownHead(heads: HeadsOf, file: string): HeadManifest | undefined {
  if (heads.headsDir === undefined) return undefined;
  const manifest = manifests.get(join(heads.headsDir, file));
  return manifest && (heads.taskName === undefined || manifest.task === heads.taskName) ? manifest : undefined;
}

/** The parts of a manifest's free-form training record that hovers and completions show. */
export interface TrainingSummary {
  bestDevAccuracy?: number;
  bestEpoch?: number;
}

export function trainingSummary(manifest: HeadManifest): TrainingSummary {
  const record = manifest.training ?? {};
  const num = (key: string): number | undefined => (typeof record[key] === 'number' && Number.isFinite(record[key]) ? record[key] : undefined);
  const summary: TrainingSummary = {};
  const accuracy = num('bestDevAccuracy');
  const epoch = num('bestEpoch');
  if (accuracy !== undefined) summary.bestDevAccuracy = accuracy;
  if (epoch !== undefined) summary.bestEpoch = epoch;
  return summary;
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** The labels a hierarchical dataset file uses, per level (index 0 = the coarsest). */
export type LevelLabels = readonly ReadonlySet<string>[];

/** What a dataset file holds, for hovers and the split checks. */
export interface DatasetFacts {
  /** Per level, the labels of its examples (lines that are JSON objects: what training reads). */
  levels: LevelLabels;
  /** Lines that are JSON objects. */
  rows: number;
  /** Lines that are neither blank nor a JSON object: training skips them. */
  malformed: number;
  /** Which examples it holds: labelled ones when any line has labels, else thought-then-answer ones when any has a thought. */
  kind: DatasetKind | undefined;
}

/** Facts of the files asked about, per stamp: a few label sets each, so many more than indexes. */
const facts = new Map<string, { stamp: string; facts: DatasetFacts }>();
const KEPT_FACTS = 64;

/**
 * A dataset file's labels per level and its row counts, taken from the label index references
 * and rename use (labelUses.ts): a file is read once per change, a large one as a stream in the
 * background (the server validates open documents again when it has been), instead of whole and
 * at once on a hover. They are kept apart from the index, which keeps only a few files: task
 * files naming more large datasets than that would otherwise have each read evict another's
 * index, and each validation start those reads again, for ever. Undefined when the file does
 * not exist; why there are no facts otherwise (being read, too large, unreadable).
 */
export function factsOf(file: string): DatasetFacts | NoIndex | undefined {
  // No stamp (no file, or a folder): the index names what is wrong.
  const stamp = fileStamp(file);
  const kept = facts.get(file);
  if (stamp !== undefined && kept?.stamp === stamp) return kept.facts;
  const index = fileIndexOrReason(file);
  if (!(index instanceof LabelIndex)) return index;
  // The label sets themselves: an index on disk is complete, and they outlive its eviction.
  const kind = index.exampleLabels.length > 0 ? 'hierarchical' : index.thoughts.size > 0 ? 'guided' : undefined;
  const found: DatasetFacts = { levels: index.exampleLabels, rows: index.rows, malformed: index.malformed, kind };
  if (stamp !== undefined) {
    facts.delete(file);
    facts.set(file, { stamp, facts: found });
    if (facts.size > KEPT_FACTS) facts.delete(facts.keys().next().value!);
  }
  return found;
}
