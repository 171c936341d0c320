// A task made ready to run: its model loaded with segments cut at the task's layers, its
// taxonomy (from trained heads when there are some, else from the training file), and one head
// per level (trained when saved under the task's heads folder, else the model's own head).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from '../checkpoint/config';
import type { Engine } from '../engine';
import type { LoadedModel, LoadModelOptions } from '../loadedModel';
import { LanguageHead } from '../model/languageHead';
import { HierarchicalClassifier } from './classifier';
import { readHierarchicalDataset } from './dataset/readDataset';
import { loadHead, type HeadManifest } from './headStore';
import { checkLevelDepth, type TaskDefinition, type TaskKind } from './taskFile';
import { Taxonomy } from './taxonomy';

export interface TaskSession {
  task: TaskDefinition;
  loaded: LoadedModel;
  taxonomy: Taxonomy;
  /** Resolved exit layer per level. */
  layers: number[];
  heads: LanguageHead[];
  /** Manifests of the trained heads in use (undefined where the own head stands in). */
  manifests: (HeadManifest | undefined)[];
  classifier: HierarchicalClassifier;
  /** Thought-then-answer tasks: the trained `thought` head (layer k) and `answer` head (last layer), when saved. */
  thoughtHead?: LanguageHead;
  answerHead?: LanguageHead;
  release(): Promise<void>;
}

/** Head names of a thought-then-answer task: level 1 (the thought's layer), level 2 (the answer's). */
export const THOUGHT_HEAD = 'thought';
export const ANSWER_HEAD = 'answer';

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

/** `load`: how the model is loaded besides its cuts (the own head's precision; LoadModelOptions). */
export async function openTask(
  engine: Engine,
  task: TaskDefinition,
  defaultModelDir: string,
  note: (m: string) => void = () => undefined,
  load: Pick<LoadModelOptions, 'headPrecision'> = {},
): Promise<TaskSession> {
  const modelDir = task.model === 'default' ? defaultModelDir : task.model;
  // Cut segments at every level's layer so each level can stop there.
  const L = readModelConfig(join(modelDir, 'config.json')).numLayers;
  const layers = task.levels.map((l) => (l === 'last' ? L : l));
  const bad = layers.find((l) => l > L);
  if (bad !== undefined) throw new Error(`${task.path}: level layer ${bad} is beyond the model's ${L} layers`);
  const loaded = await engine.loadModel(modelDir, { ...load, cuts: layers.filter((l) => l < L), onNote: note });
  try {
    const tokenizer = loaded.requireTokenizer();
    const names = taskHeadNames(task);
    const trained = names.map((name) => (existsSync(join(task.headsDir, `${name}.json`)) ? loadHead(task.headsDir, name, loaded.checkpoint) : undefined));
    const heads = await Promise.all(
      trained.map((t) => (t ? LanguageHead.create(t.weights, { provider: loaded.model.provider, threads: 0, fused: true }) : Promise.resolve(loaded.model.ownHead))),
    );
    const release = async (): Promise<void> => {
      await Promise.all(heads.filter((h) => h !== loaded.model.ownHead).map((h) => h.release()));
      await loaded.release();
    };
    if (task.kind === 'thoughtThenAnswer') return thoughtSession(task, loaded, layers, heads, trained, release);
    const stored = trained.find((t) => t?.manifest.taxonomy)?.manifest.taxonomy;
    const taxonomy = stored ? Taxonomy.fromJSON(stored) : taxonomyFromFile(task.dataset.train);
    checkLevelDepth(task, taxonomy.depth, stored ? 'of its trained heads' : 'in its dataset');
    const classifier = new HierarchicalClassifier(loaded.model, tokenizer, {
      taxonomy,
      levels: layers.map((layer, i) => ({ layer, head: heads[i]!, scoring: trained[i]?.manifest.labelScoring ?? 'sequence' })),
      system: task.system,
      listCandidates: task.listCandidates,
    });
    return { task, loaded, taxonomy, layers, heads, manifests: trained.map((t) => t?.manifest), classifier, release };
  } catch (err) {
    await loaded.release();
    throw err;
  }
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
    release,
  };
}

function taxonomyFromFile(file: string): Taxonomy {
  const { records } = readHierarchicalDataset(file);
  return Taxonomy.fromPaths(records.map((r) => ({ labels: r.labels, source: `${file} (${r.id})` })));
}
