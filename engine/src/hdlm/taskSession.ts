// A task made ready to run: its model loaded with segments cut at the task's layers, its
// taxonomy (from trained heads when there are some, else from the training file), and one head
// per level (trained when saved under the task's heads folder, else the model's own head), with
// notices of what it asks for that its heads cannot do yet (a level moved after its head was
// trained, exits without their heads).
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readModelConfig } from '../checkpoint/config';
import type { ModelLoader } from '../modelPool';
import type { LoadedModel, LoadModelOptions } from '../loadedModel';
import { LanguageHead } from '../model/languageHead';
import { HierarchicalClassifier, type ClassifierLevel, type ExitWhenSure } from './classifier';
import { readHierarchicalDataset } from './dataset/readDataset';
import { loadHead, OtherTaskHeadsError, readManifest, type HeadManifest, type HeadOwner, type OtherTaskHeads } from './headStore';
import type { LabelScoring } from './labelScorer';
import { checkLevelDepth, DEFAULT_TRAIN, defaultHeadsPath, type TaskDefinition, type TaskKind } from './taskFile';
import { Taxonomy } from './taxonomy';
import { thoughtThenAnswer, type ThoughtThenAnswer, type ThoughtThenAnswerRequest } from './thoughtThenAnswer';
import { errorMessage } from '../errorMessage';

export interface TaskSession {
  task: TaskDefinition;
  loaded: LoadedModel;
  taxonomy: Taxonomy;
  /** Resolved exit layer per level: the file's, or where the level's trained head learned (headLayers). */
  layers: number[];
  heads: LanguageHead[];
  /** Manifests of the trained heads in use (undefined where the own head stands in). */
  manifests: (HeadManifest | undefined)[];
  classifier: HierarchicalClassifier;
  /** Thought-then-answer tasks: the trained `thought` head (layer k) and `answer` head (last layer), when saved. */
  thoughtHead?: LanguageHead;
  answerHead?: LanguageHead;
  /** What a front end should tell the user about this session: a setting it cannot follow yet, and why. */
  notices: string[];
  /** Set when only the model is open (openModelOnly): why the task cannot run on it. It cannot classify. */
  unfit?: string;
  /** With `unfit`: the task file itself could not be read (missing, not JSON, a field wrong), so `task` is a stand-in (unreadTask). */
  unreadable?: boolean;
  /** With `unfit`: the task's heads folder holds another task's heads, which loading refused (OtherTaskHeadsError), so a front end can say whose. */
  otherTaskHeads?: OtherTaskHeads;
  release(): Promise<void>;
}

/** Head names of a thought-then-answer task: level 1 (the thought's layer), level 2 (the answer's). */
export const THOUGHT_HEAD = 'thought';
export const ANSWER_HEAD = 'answer';
/** The flat baseline's head: every level (or the answer, with no thought) at the last layer. */
export const FLAT_HEAD = 'flat';

/** Name of level `level`'s head (1-based) in the heads folder of a task of this kind. */
export function headName(kind: TaskKind, level: number): string {
  if (kind === 'thoughtThenAnswer') return level === 1 ? THOUGHT_HEAD : ANSWER_HEAD;
  return levelHeadName(level);
}

/** Names of a task's heads per level, as saved in its heads folder. */
export function taskHeadNames(task: Pick<TaskDefinition, 'kind' | 'levels'>): string[] {
  return task.levels.map((_, i) => headName(task.kind, i + 1));
}

/** Name of level d's head in a task's heads folder. */
export function levelHeadName(level: number): string {
  return `level${level}`;
}

/**
 * The head that decides level `level` (1-based) at exit `layer` of a task that exits when sure:
 * the level's own head at its own layer, the flat head at the last layer (it reads every level
 * there), else `level<d>-at<layer>`, trained for it.
 */
export function exitHeadName(task: Pick<TaskDefinition, 'levels'>, level: number, layer: number, numLayers: number): string {
  const own = task.levels[level - 1] === 'last' ? numLayers : task.levels[level - 1];
  if (layer === own) return levelHeadName(level);
  if (layer === numLayers) return FLAT_HEAD;
  return `${levelHeadName(level)}-at${layer}`;
}

/**
 * A task's layer per level, "last" resolved: what training trains at and sessions decide at.
 * Refuses a layer the model lacks, and a level at the last layer before one at "last" (the task
 * file's check that levels increase cannot know which layer "last" is), naming the task file.
 */
export function levelLayers(task: Pick<TaskDefinition, 'path' | 'levels'>, numLayers: number): number[] {
  const layers = task.levels.map((l) => (l === 'last' ? numLayers : l));
  const bad = layers.find((l) => l > numLayers);
  if (bad !== undefined) throw new Error(`${task.path}: level layer ${bad} is beyond the model's ${numLayers} layers`);
  const atLast = levelAtLastLayer(task.levels, numLayers);
  if (atLast) throw new Error(`${task.path}: ${atLast.message}`);
  return layers;
}

/**
 * The first level (0-based) at the model's last layer before the level at "last", with why it
 * is refused; undefined when there is none. Equal layers before "last" are allowed (their heads
 * differ only in their rows); this one would be decided where "last" decides. Shared with the
 * task file's diagnostics, which put it on that level's layer.
 */
export function levelAtLastLayer(levels: readonly (number | 'last')[], numLayers: number): { level: number; message: string } | undefined {
  const last = levels.indexOf('last');
  const level = levels.findIndex((l, i) => l === numLayers && i < last);
  if (level < 0) return undefined;
  return { level, message: `level ${level + 1} is at layer ${numLayers}, the model's last, and so is level ${last + 1} ("last"); levels must use increasing layers` };
}

/** A task's exit layers, "last" resolved; refuses a layer the model lacks, naming the field. */
export function exitLayers(task: Pick<TaskDefinition, 'path' | 'exitWhenSure'>, numLayers: number): number[] {
  const layers = (task.exitWhenSure?.layers ?? []).map((l) => (l === 'last' ? numLayers : l));
  const beyond = layers.find((l) => l > numLayers);
  if (beyond !== undefined) throw new Error(`${task.path}: exitWhenSure.layers has layer ${beyond}, beyond the model's ${numLayers} layers`);
  return layers;
}

/** Per level, the head that decides it at each exit of a task that exits when sure (exitHeadName). */
export function exitHeadNames(task: Pick<TaskDefinition, 'levels'>, exits: readonly number[], numLayers: number): string[][] {
  return task.levels.map((_, d) => exits.map((layer) => exitHeadName(task, d + 1, layer, numLayers)));
}

/** exitHeadNames, and those of them not yet in the task's heads folder, each once. */
export function exitHeads(task: Pick<TaskDefinition, 'levels' | 'headsDir'>, exits: readonly number[], numLayers: number): { names: string[][]; missing: string[] } {
  const names = exitHeadNames(task, exits, numLayers);
  const missing = [...new Set(names.flat())].filter((name) => !existsSync(join(task.headsDir, `${name}.json`)));
  return { names, missing };
}

/**
 * Why a task that exits when sure cannot do so yet, if it cannot: some of its exit heads are
 * untrained (`missing`), or a level was moved since its head was trained (`moved`, 1-based; the
 * heads it would exit with were trained for the old layers).
 */
export function exitsWaitNotice(task: Pick<TaskDefinition, 'name' | 'headsDir'>, missing: readonly string[], moved: readonly number[]): string | undefined {
  const why = moved.length > 0 ? `level ${moved.join(', ')} moved since ${moved.length === 1 ? 'its head was' : 'their heads were'} trained` : missing.length > 0 ? `no head ${missing.join(', ')} in ${task.headsDir}` : undefined;
  return why && `task ${task.name}: exitWhenSure is not used until the task is fine-tuned again (${why}); each level is decided at its own layer`;
}

/** Where to cut a model's segments so that each of `layers` can be exited at (the last layer needs no cut). */
export function segmentCuts(layers: readonly number[], numLayers: number): number[] {
  return [...new Set(layers)].filter((l) => l < numLayers).sort((a, b) => a - b);
}

/** A head saved in `dir` as `name`, on `loaded`'s provider, with the label scoring its manifest names; refused if not `owner`'s (loadHead). */
export async function loadSavedHead(loaded: LoadedModel, dir: string, name: string, owner?: HeadOwner): Promise<{ head: LanguageHead; scoring: LabelScoring }> {
  const saved = loadHead(dir, name, loaded.checkpoint, owner);
  return { head: await LanguageHead.create(saved.weights, { provider: loaded.model.provider, threads: 0, fused: true }), scoring: saved.manifest.labelScoring ?? 'sequence' };
}

/**
 * The layer each level is decided at: the task file's, except where the level's trained head
 * learned at another layer (the file was edited since, e.g. with the task panel's layer picker).
 * A head reads the hidden state of the layer it was trained on, so such a level stays at that
 * layer until the task is fine-tuned again, and a notice says so. `manifests`: per level, the
 * saved head's manifest, if any; `layers`: the file's layers, "last" resolved.
 */
export function headLayers(task: Pick<TaskDefinition, 'name'>, layers: readonly number[], manifests: readonly (Pick<HeadManifest, 'layer'> | undefined)[], numLayers: number): { layers: number[]; moved: number[]; notices: string[] } {
  const notices: string[] = [];
  const moved: number[] = [];
  const resolved = layers.map((layer, i) => {
    const trainedAt = manifests[i]?.layer;
    // A head beyond the model is refused when it loads, with its file named.
    if (trainedAt === undefined || trainedAt === layer || trainedAt > numLayers) return layer;
    moved.push(i + 1);
    notices.push(`task ${task.name}: level ${i + 1} says layer ${layer}, but its head was trained at layer ${trainedAt}; it is decided at layer ${trainedAt} until the task is fine-tuned again`);
    return trainedAt;
  });
  return { layers: resolved, moved, notices };
}

/** Per level, the manifest of the task's saved head, if any (read before the model loads, for its layer). */
function savedManifests(task: Pick<TaskDefinition, 'kind' | 'levels' | 'headsDir'>): (HeadManifest | undefined)[] {
  return taskHeadNames(task).map((name) => (existsSync(join(task.headsDir, `${name}.json`)) ? readManifest(task.headsDir, name) : undefined));
}

/**
 * A task that cannot run on the model it names (or the one put in its place): a level or exit
 * beyond the model's layers, heads trained for another model or unreadable, a dataset or
 * taxonomy that does not fit. The model itself is not at fault, so a front end may still serve
 * it without the task (openModelOnly). The message is the cause's, which names the file.
 */
export class TaskUnfitError extends Error {
  /** When the cause is a head of another task (loadHead): whose heads the folder holds. */
  readonly otherTaskHeads?: OtherTaskHeads;

  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
    this.name = 'TaskUnfitError';
    if (cause instanceof OtherTaskHeadsError) this.otherTaskHeads = cause.heads;
  }
}

/** The folder of the model a task runs on: its own, or `defaultModelDir` for `"model": "default"`. */
export function taskModelFolder(task: Pick<TaskDefinition, 'model'>, defaultModelDir: string): string {
  return task.model === 'default' ? defaultModelDir : task.model;
}

interface OpenTaskOptions extends Pick<LoadModelOptions, 'headPrecision'> {
  /**
   * A task that does not fit the model opens the model alone (TaskSession.unfit) instead of
   * throwing TaskUnfitError: on the model already loaded when the task failed only after it
   * loaded (heads trained for another model, the usual case of a model a user selects).
   */
  modelIfUnfit?: boolean;
}

/**
 * Loads the task's model with segments cut at its layers, and its heads. A task that does not
 * fit the model throws TaskUnfitError, or opens the model alone (`modelIfUnfit`); a model that
 * cannot load throws the loader's error. `headPrecision`: the own head's (LoadModelOptions).
 * `engine` loads the model: an Engine, or a ModelPool's loader, which shares a model already
 * loaded with the same segments (the session's release lets go of its share only).
 */
export async function openTask(
  engine: ModelLoader,
  task: TaskDefinition,
  defaultModelDir: string,
  note: (m: string) => void = () => undefined,
  { modelIfUnfit = false, ...load }: OpenTaskOptions = {},
): Promise<TaskSession> {
  const modelDir = taskModelFolder(task, defaultModelDir);
  const L = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const notices: string[] = [];
  const tell = (m: string): void => {
    notices.push(m);
    note(m);
  };
  let planned: ReturnType<typeof plannedLayers>;
  try {
    planned = plannedLayers(task, L, tell);
  } catch (err) {
    const unfit = new TaskUnfitError(err);
    if (!modelIfUnfit) throw unfit;
    return openModelOnly(engine, task, modelDir, unfit.message, load, note);
  }
  // Cut segments at every level's (and exit's) layer so each can stop there.
  const cuts = segmentCuts([...planned.layers, ...planned.exits], L);
  const loaded = await engine.loadModel(modelDir, { ...load, cuts, onNote: note });
  let tokenizer: ReturnType<LoadedModel['requireTokenizer']>;
  try {
    tokenizer = loaded.requireTokenizer();
  } catch (err) {
    await loaded.release();
    throw err; // the model's own fault: no task runs on it
  }
  try {
    return await attachHeads(task, loaded, tokenizer, planned, notices, tell);
  } catch (err) {
    const unfit = new TaskUnfitError(err);
    // Thinking needs a cut below the last layer: the first level's, as when the task fits (thinkOn), else the shallowest.
    const thoughtLayer = planned.layers[0]! < L ? planned.layers[0]! : cuts[0];
    if (modelIfUnfit && thoughtLayer !== undefined) return modelOnlySession(task, loaded, thoughtLayer, unfit.message, { otherTaskHeads: unfit.otherTaskHeads });
    await loaded.release();
    if (!modelIfUnfit) throw unfit;
    return openModelOnly(engine, task, modelDir, unfit.message, { ...load, otherTaskHeads: unfit.otherTaskHeads }, note);
  }
}

/** The layer each level is decided at (headLayers), the levels moved, and the exits; refuses layers the model lacks. */
function plannedLayers(task: TaskDefinition, L: number, tell: (m: string) => void): { layers: number[]; moved: number[]; exits: number[] } {
  const fileLayers = levelLayers(task, L);
  const { layers, moved, notices } = headLayers(task, fileLayers, savedManifests(task), L);
  notices.forEach(tell);
  return { layers, moved, exits: task.kind === 'classify' ? exitLayers(task, L) : [] };
}

/** The task's heads (trained where saved, else the model's own), its taxonomy and classifier, on the loaded model. */
async function attachHeads(
  task: TaskDefinition,
  loaded: LoadedModel,
  tokenizer: ReturnType<LoadedModel['requireTokenizer']>,
  { layers, moved, exits }: { layers: number[]; moved: number[]; exits: number[] },
  notices: string[],
  tell: (m: string) => void,
): Promise<TaskSession> {
  const names = taskHeadNames(task);
  const trained = names.map((name) => (existsSync(join(task.headsDir, `${name}.json`)) ? loadHead(task.headsDir, name, loaded.checkpoint, task) : undefined));
  const heads = await Promise.all(trained.map((t) => (t ? LanguageHead.create(t.weights, { provider: loaded.model.provider, threads: 0, fused: true }) : Promise.resolve(loaded.model.ownHead))));
  const exitHeads: LanguageHead[] = [];
  const release = async (): Promise<void> => {
    await Promise.all([...heads.filter((h) => h !== loaded.model.ownHead), ...exitHeads].map((h) => h.release()));
    await loaded.release();
  };
  try {
    if (task.kind === 'thoughtThenAnswer') return thoughtSession(task, loaded, layers, heads, trained, notices, release);
    const stored = trained.find((t) => t?.manifest.taxonomy)?.manifest.taxonomy;
    const taxonomy = stored ? Taxonomy.fromJSON(stored) : taxonomyFromFile(task.dataset.train);
    checkLevelDepth(task, taxonomy.depth, stored ? 'of its trained heads' : 'in its dataset');
    const levels = layers.map((layer, i) => ({ layer, head: heads[i]!, scoring: trained[i]?.manifest.labelScoring ?? ('sequence' as const) }));
    const exitWhenSure = await exitWhenSureLevels(task, loaded, { exits, moved }, levels, exitHeads, tell);
    const classifier = new HierarchicalClassifier(loaded.model, tokenizer, { taxonomy, levels, system: task.system, listCandidates: task.listCandidates, ...(exitWhenSure ? { exitWhenSure } : {}) });
    return { task, loaded, taxonomy, layers, heads, manifests: trained.map((t) => t?.manifest), classifier, notices, release };
  } catch (err) {
    // The heads made so far go; the model is the caller's to release.
    await Promise.all([...heads.filter((h) => h !== loaded.model.ownHead), ...exitHeads].map((h) => h.release()));
    throw err;
  }
}

/**
 * The model of a task that does not fit it (TaskUnfitError) or could not be read (`unreadable`,
 * `task` a stand-in from unreadTask), without the task: the layer view and generation still run
 * on it, thinking with its own head at half its depth (or, on a model the loader keeps, at its
 * first cut: modelToServe), and classifying refuses with `reason`. (openTask with `modelIfUnfit`
 * keeps a model it already loaded, thinking at the task's first layer.)
 * `modelDir`: the model the task was opened on.
 */
export async function openModelOnly(
  engine: ModelLoader,
  task: TaskDefinition,
  modelDir: string,
  reason: string,
  { unreadable, otherTaskHeads, ...load }: Pick<LoadModelOptions, 'headPrecision'> & UnfitDetails = {},
  note: (m: string) => void = () => undefined,
): Promise<TaskSession> {
  const L = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const { loaded, thoughtLayer } = await modelToServe(engine, modelDir, L, load, note);
  return modelOnlySession(task, loaded, thoughtLayer, reason, { unreadable, otherTaskHeads });
}

/**
 * The model to serve without a task, and the layer it thinks at: one the loader keeps already
 * (its first cut below the last layer, the layer its task last thought at), else the model
 * loaded anew with a cut at half its depth.
 */
async function modelToServe(engine: ModelLoader, modelDir: string, L: number, load: Pick<LoadModelOptions, 'headPrecision'>, note: (m: string) => void): Promise<{ loaded: LoadedModel; thoughtLayer: number }> {
  const kept = await engine.loadedModel?.(modelDir, load);
  const cut = kept?.model.exitLayers.find((layer) => layer < L);
  if (kept && cut !== undefined) return { loaded: kept, thoughtLayer: cut };
  await kept?.release();
  const thoughtLayer = Math.max(1, Math.round(L / 2));
  return { loaded: await engine.loadModel(modelDir, { ...load, cuts: segmentCuts([thoughtLayer], L), onNote: note }), thoughtLayer };
}

/** What a session serving without its task tells besides the reason (TaskSession.unreadable, .otherTaskHeads). */
type UnfitDetails = Pick<TaskSession, 'unreadable' | 'otherTaskHeads'>;

/** A loaded model serving without `task` (openModelOnly), thinking at `thoughtLayer` through its own head. */
function modelOnlySession(task: TaskDefinition, loaded: LoadedModel, thoughtLayer: number, reason: string, { unreadable, otherTaskHeads }: UnfitDetails = {}): TaskSession {
  const refuse = (): never => {
    throw new Error(`task ${task.name} does not fit the model ${loaded.checkpoint.dir}: ${reason}`);
  };
  return {
    task,
    loaded,
    get taxonomy(): Taxonomy {
      return refuse();
    },
    layers: [thoughtLayer],
    heads: [loaded.model.ownHead],
    manifests: [undefined],
    get classifier(): HierarchicalClassifier {
      return refuse();
    },
    unfit: reason,
    ...(unreadable ? { unreadable } : {}),
    ...(otherTaskHeads ? { otherTaskHeads } : {}),
    notices: [reason],
    release: () => loaded.release(),
  };
}

/**
 * Stands for a task file that cannot be read, so that its model can serve without it
 * (openModelOnly with `unreadable`): named after the file, on `model`, with nothing to decide.
 * Only its name and path mean anything; nothing trains or classifies with it.
 */
export function unreadTask(path: string, model: string): TaskDefinition {
  const name = basename(path).replace(/\.hdlm\.json$|\.json$/, '');
  return {
    path,
    name,
    kind: 'classify',
    model,
    dataset: { train: '' },
    system: '',
    levels: [],
    listCandidates: false,
    headsDir: join(dirname(path), defaultHeadsPath(name)),
    train: { ...DEFAULT_TRAIN },
  };
}

/** The prompt of a thought drafted without a thought-then-answer task (a classification task's, or a model's alone). */
const THINK_SYSTEM = 'Think briefly, then continue the text.';

/**
 * Thought then answer on a session: a thought-then-answer task brings its prompt and trained
 * heads; any other task, or a model open without its task (openModelOnly), drafts the thought at
 * its first layer through the model's own head, with THINK_SYSTEM. One rule for every front end
 * (the editor's Think Then Answer and inline completions, `hdlm think`).
 */
export function thinkOn(session: TaskSession, request: Omit<ThoughtThenAnswerRequest, 'system' | 'thoughtLayer' | 'thoughtHead' | 'answerHead'>): Promise<ThoughtThenAnswer> {
  const own = session.task.kind === 'thoughtThenAnswer' && !session.unfit;
  return thoughtThenAnswer(session.loaded.model, session.loaded.requireTokenizer(), {
    ...request,
    system: own ? session.task.system : THINK_SYSTEM,
    thoughtLayer: session.layers[0]!,
    thoughtHead: session.thoughtHead,
    answerHead: session.answerHead,
  });
}

/**
 * The classifier's exits when the task exits when sure and every exit's head is trained (the
 * level heads serve at their own layers; the others are loaded here, into `loadedHeads`). A task
 * not trained since exitWhenSure was set, or since a level moved (`moved`, headLayers), decides
 * each level at one layer, and says so.
 */
async function exitWhenSureLevels(
  task: TaskDefinition,
  loaded: LoadedModel,
  { exits, moved }: { exits: number[]; moved: number[] },
  levels: ClassifierLevel[],
  loadedHeads: LanguageHead[],
  note: (m: string) => void,
): Promise<ExitWhenSure | undefined> {
  if (!task.exitWhenSure || exits.length === 0) return undefined;
  const { names, missing } = exitHeads(task, exits, loaded.checkpoint.config.numLayers);
  const wait = exitsWaitNotice(task, missing, moved);
  if (wait) {
    note(wait);
    return undefined;
  }
  const byName = new Map<string, ClassifierLevel>(levels.map((level, d) => [levelHeadName(d + 1), level]));
  for (const name of new Set(names.flat())) {
    if (byName.has(name)) continue;
    const { head, scoring } = await loadSavedHead(loaded, task.headsDir, name, task);
    loadedHeads.push(head);
    byName.set(name, { layer: 0, head, scoring }); // the layer is the exit's, set below
  }
  return { threshold: task.exitWhenSure.threshold, exits: names.map((row) => row.map((name, i) => ({ ...byName.get(name)!, layer: exits[i]! }))) };
}

/**
 * A thought-then-answer task has no taxonomy and does not classify: its session carries the
 * thought and answer heads (trained ones where saved), and says so if asked to classify.
 */
function thoughtSession(
  task: TaskDefinition,
  loaded: LoadedModel,
  layers: number[],
  heads: LanguageHead[],
  trained: ({ manifest: HeadManifest } | undefined)[],
  notices: string[],
  release: () => Promise<void>,
): TaskSession {
  const L = loaded.checkpoint.config.numLayers;
  if (layers[0]! >= L) throw new Error(`${task.path}: the thought's layer ${layers[0]} must be below the model's last layer ${L}`);
  const refuse = (): never => {
    throw new Error(`task ${task.name} (${task.path}) is a thoughtThenAnswer task: it thinks then answers, it does not classify`);
  };
  return {
    task,
    loaded,
    get taxonomy(): Taxonomy {
      return refuse();
    },
    layers,
    heads,
    manifests: trained.map((t) => t?.manifest),
    get classifier(): HierarchicalClassifier {
      return refuse();
    },
    ...(trained[0] ? { thoughtHead: heads[0]! } : {}),
    ...(trained[1] ? { answerHead: heads[1]! } : {}),
    notices,
    release,
  };
}

function taxonomyFromFile(file: string): Taxonomy {
  const { records } = readHierarchicalDataset(file);
  return Taxonomy.fromPaths(records.map((r) => ({ labels: r.labels, source: `${file} (${r.id})` })));
}
