// The shapes a training run shares across its modules (trainTask, trainingData, headRows,
// trainHeads, headResume) and with its callers: the run's options, its events and its report,
// and what training one head needs. Types only, so that every module can name them without
// importing another's code (no import cycle).
import type { ExecutionProvider } from '../runtime/ort';
import type { FeatureCache } from './featureCache';
import type { ownHeadCopy } from './headStore';
import type { TaskDefinition } from './taskFile';
import type { Taxonomy } from './taxonomy';

export type TrainEvent =
  | { kind: 'stage'; message: string }
  | { kind: 'features'; done: number; total: number; examplesPerS: number; etaS: number }
  | { kind: 'progress'; head: string; epoch: number; examples: number; epochExamples: number; loss: number; examplesPerS: number; etaS: number }
  | { kind: 'epoch'; head: string; epoch: number; loss: number; accuracy: number; devLoss: number; devAccuracy: number; improved: boolean; seconds: number; noDev?: true }
  | { kind: 'saved'; head: string; file: string }
  /**
   * A planned head that needs no training: already trained with these settings and data, or a
   * copy of a twin trained earlier in this run (copyTwin). Said apart from the `stage` message
   * for people, so that a progress scale counts the head as done at once instead of leaving its
   * share to be made up when the run ends (jobView.ts overallAfter).
   */
  | { kind: 'headSkipped'; head: string; reason: 'alreadyTrained' | 'copied' };

export interface HeadReport {
  name: string;
  layer: number;
  /** Levels whose label tokens it was trained on. */
  levels: number[];
  epochs: { epoch: number; loss: number; accuracy: number; devLoss: number; devAccuracy: number; seconds: number }[];
  bestEpoch: number;
  bestDevAccuracy: number;
  trainRows: number;
  /** The head of this run whose weights this one copies: same layer, same rows (trainHeads). */
  copyOf?: string;
  /** It had no dev rows (an empty dev split): every epoch was saved, so the last is kept, and its dev figures are 0. */
  noDev?: true;
}

export interface TrainReport {
  task: string;
  modelFingerprint: string;
  /** The examples the heads learned from and chose epochs on: those that fit the context. */
  examples: { train: number; dev: number };
  skippedLines: number;
  /** Examples left out because their sequence exceeds the model's context. */
  skippedTooLong: number;
  heads: HeadReport[];
  seconds: { features: number; training: number };
  /** Heads a rerun found already trained with the same settings and data, and did not retrain (absent: none). */
  reused?: string[];
}

export interface TrainTaskOptions {
  defaultModelDir: string;
  onEvent?: (event: TrainEvent) => void;
  signal?: AbortSignal;
  /** Where hidden states are kept between runs (default: `features` in the engine's cache folder); false: none. */
  featureCache?: FeatureCache | false;
  /**
   * Whether the flat last-layer baseline is trained beside the level heads (the default). A tool
   * that trains variant heads at an early layer passes false: no flat head, and no read at the
   * last layer for it, so the backbone stops at the deepest level's layer.
   */
  flat?: boolean;
}

/** A head to train: its name, layer and levels, and the label tokens it ranks. */
export interface HeadPlan {
  name: string;
  layer: number;
  levels: number[];
  subset: Int32Array; // [K] label token ids
  /** Rows carry their choices (FeatureSet.choices): trained with a choice mask, scored by choices. */
  choices?: boolean;
}

/** What training any head of a run needs: the task, the model's own head and sizes, where events go. */
export interface HeadContext {
  task: TaskDefinition;
  /** The label taxonomy saved in a classification head's manifest; none for thought-then-answer heads. */
  taxonomy?: Taxonomy;
  own: ReturnType<typeof ownHeadCopy>;
  fingerprint: string;
  config: { hiddenSize: number; vocabSize: number; normEps: number };
  emit: (e: TrainEvent) => void;
  signal: AbortSignal | undefined;
  provider: ExecutionProvider;
}
