// Every custom LSP message of HdLM, declared once. The client, the server and the tests import
// this module, so a message's name, direction and types cannot drift apart. docs/protocol.md
// documents each message; test/unit/server/protocolDoc.test.ts keeps the two in step. Shapes the
// engine produces and the server passes on as they are (classification decisions, evaluation
// records) are the engine's own types, imported type-only: esbuild erases these imports, and
// there is no second declaration to drift. What does cross into the client's bundle from here is
// the few engine functions re-exported below (retrainedNothing, describeDifference, …), so that
// the job views (jobView.ts, shared by server and client) word an outcome as the CLI does. They
// are plain computation on those shapes, importing nothing (no model runtime), so the webviews'
// browser bundles may take them too. The client and the webviews also import other engine
// modules directly (metrics, layerScanMarkdown, taskFile…); none loads onnxruntime, which stays
// external to every bundle (esbuild.mjs) and is loaded by the server and the CLI only.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { LevelDecision as ClassifierDecision } from '../../engine/src/hdlm/classifier';
import type { EvaluationRecord } from '../../engine/src/hdlm/evaluateTask';
import type { ClassifyMistake as EngineClassifyMistake, EvaluationMistakes, ThoughtMistake as EngineThoughtMistake } from '../../engine/src/hdlm/evaluationMistakes';
import type { Confusion as EngineConfusion, LabelReport, LabelRow as EngineLabelRow, LevelReport as EngineLevelReport, ThoughtRow as EngineThoughtRow } from '../../engine/src/hdlm/labelReport';
import type { HistoryEntry as EngineHistoryEntry, MeasureChange as EngineMeasureChange, SincePrevious as EngineSincePrevious } from '../../engine/src/hdlm/evaluationHistory';
import type { PairedDifference as EnginePairedDifference, PairedMeanDifference as EnginePairedMeanDifference } from '../../engine/src/hdlm/metrics';
import type { ThoughtEvaluationRecord } from '../../engine/src/hdlm/evaluateThought';
import type { CreatedTask } from '../../engine/src/hdlm/taskCreation';
import type { TrainEvent } from '../../engine/src/hdlm/trainTypes';
import type { LayerScanRecord, ScanEvent } from '../../engine/src/hdlm/layerScan';

/** Overall health of the server, shown by the client's status bar item. */
export type Health = 'ok' | 'warning' | 'error';

export interface StatusParams {
  health: Health;
  /** True while the server runs a job (a model load, a classification, a training run). */
  busy: boolean;
  /** One line for people: what the server is doing or what went wrong. */
  message: string;
  /** The execution provider in use ('cpu', 'webgpu', 'cuda'), or '' before the engine started. */
  device: string;
  /** Name of the model folder loaded for requests, or '' before the first request loads one. */
  model?: string;
  /** Layers of that model. */
  layers?: number;
  /**
   * Jobs another window runs on this workspace, for people ("fine-tuning wn.hdlm.json 42 % in
   * another window"), as the shared journal says them (jobView.ts `elsewhereSummary`); absent
   * when none runs. Sent again as they move on (at most about once a second) and when they end.
   */
  elsewhere?: string;
}

/**
 * `hdlm/status` — server → client notification, sent after `initialized`, whenever health or
 * busy state changes, and after settings change. The client shows it in the status bar.
 */
export const status = new NotificationType<StatusParams>('hdlm/status');

export type EngineInfoParams = Record<string, never>;

export interface EngineInfoResult {
  /** onnxruntime-node version. */
  runtimeVersion: string;
  /** Providers compiled into this onnxruntime-node build, and whether their binaries are bundled. */
  backends: { name: string; bundled: boolean }[];
  /** The provider the engine chose. */
  device: string;
  /** Providers tried before it, with the reason each was skipped. */
  fallbacks: { provider: string; reason: string }[];
  /** Time of the probe graph on the chosen device, in milliseconds. */
  probeMs: number;
  serverVersion: string;
  /** Process id of the language server (lets tests and users see a restart). */
  pid: number;
  /** The language server's resident memory in MiB: mostly the loaded model's weights. */
  rssMiB: number;
  /** The model a request has loaded, if any (the server loads one at the first request that needs it). */
  model?: LoadedModelInfo;
  /** The engine's cache folder (converted graphs, cached features, the jobs' journal) and the bytes it holds. */
  cache: { dir: string; bytes: number };
}

export interface LoadedModelInfo {
  /** Its folder. */
  dir: string;
  /** The task its session runs; `unfit` when it serves without it (the reason). */
  task: string;
  unfit?: string;
  /** Where a position can stop: the segments' last layers. */
  exitLayers: number[];
  /** Where it runs (the CPU after a device could not hold it). */
  device: string;
  /** How long its session took to open, in seconds: a model shared with the session before takes only its heads' time. */
  openedInSeconds: number;
}

/**
 * `hdlm/engineInfo` — client → server request: what runtime and device the engine uses. Waits
 * for the engine to start; fails with a clear message when it could not.
 */
export const engineInfo = new RequestType<EngineInfoParams, EngineInfoResult, void>('hdlm/engineInfo');

export type ClearCacheParams = Record<string, never>;

export interface ClearCacheResult {
  /** The engine's cache folder. */
  dir: string;
  /** Bytes removed: converted graphs and cached features. */
  removedBytes: number;
  /** Bytes it holds afterwards: the loaded model's graphs, entries being written, the fingerprint memo and the jobs' journal. */
  bytesLeft: number;
  /** The model whose graphs were kept because it is loaded, if one is. */
  keptModel?: string;
}

/**
 * `hdlm/clearCache` — client → server request: removes the engine's converted graphs and cached
 * features, but the loaded model's graphs and entries being written (all are rebuilt when next
 * needed). Refused with badRequest while a job runs (its features and graphs are in use) or a
 * request runs on the model (it may be storing graphs).
 */
export const clearCache = new RequestType<ClearCacheParams, ClearCacheResult, void>('hdlm/clearCache');

export interface ClassifyParams {
  /** The text to classify (the client sends the selection, or the current line). */
  text: string;
  /** Hierarchy beam width; 1 is greedy (each level decided once). Default 2 (DEFAULT_BEAM). */
  beam?: number;
  /** A level hands on a runner-up path only if its probability is at least this fraction of the best one's, 0..1. Default 0.5. */
  margin?: number;
}

/** One level of a classification, as the classifier decided it; its compute count stays in the server. */
export type LevelDecision = Omit<ClassifierDecision, 'layerPositions'>;

export interface ClassifyResult {
  task: string;
  /** Model folder in use. */
  model: string;
  device: string;
  /** Layers of the model. */
  layers: number;
  path: LevelDecision[];
  pathProbability: number;
  /** Other complete paths the beam kept. */
  alternatives: { labels: string[]; probability: number }[];
  /** Whether each level used a trained head (false: the model's own head stood in). */
  trainedHeads: boolean[];
  ms: number;
}

/**
 * `hdlm/classify` — client → server request: classifies text coarse to fine with the configured
 * task (`hdlm.task`, default the shipped WordNet task) on the configured model (`hdlm.model`).
 * Each level is decided at its own layer. Cancellable; a cancelled request answers with the
 * RequestCancelled error.
 */
export const classify = new RequestType<ClassifyParams, ClassifyResult, void>('hdlm/classify');

export interface ClassifyManyParams {
  /** The texts to classify, in order (the client sends a document's lines a batch at a time). */
  texts: string[];
  beam?: number;
  margin?: number;
  /**
   * More batches of the same run follow: the status stays busy between them (for up to two
   * seconds, or until the next request), instead of flashing "ready" after each batch.
   */
  more?: boolean;
}

export interface ClassifyManyResult {
  task: string;
  model: string;
  device: string;
  layers: number;
  /** Per text, in order: its path, or why it could not be classified (empty, longer than the context). */
  results: ({ path: LevelDecision[]; pathProbability: number } | { error: string })[];
  trainedHeads: boolean[];
  ms: number;
}

/**
 * `hdlm/classifyMany` — client → server request: several texts with one settings read and one
 * busy period (Classify Each Line sends a document's lines in batches). A text that cannot be
 * classified gets its `error`; the others go on. Cancellable between texts; at most 500 texts.
 */
export const classifyMany = new RequestType<ClassifyManyParams, ClassifyManyResult, void>('hdlm/classifyMany');

export interface LayersParams {
  /** The input to read out (the selection, or the current line). */
  text: string;
  /** Tokens per layer (default 5, at most 20). */
  topK?: number;
}

export interface LayersResult {
  model: string;
  device: string;
  layers: number;
  /** The input's tokens as text, as the model saw them. */
  tokens: string[];
  /** What every layer (0 = embeddings … L) predicts next, through the model's own head. */
  readouts: { layer: number; top: { id: number; text: string; probability: number }[] }[];
  /** Segment runs of the readout pass: which layers ran together and how long they took. */
  segments: { first: number; end: number; positions: number; ms: number }[];
  /** The task's classification of the same text: which layer decided each level, and what. */
  classification: { task: string; path: LevelDecision[]; trainedHeads: boolean[] } | undefined;
  /** Set when the configured task does not fit the model, or its file cannot be read (there is no classification): why, and what to do. */
  unfitTask?: string;
  /** With `unfitTask`: which task file, for a client's Open Task File / Select Task. */
  unfitTaskData?: UnfitTaskData;
  ms: number;
}

/**
 * `hdlm/layers` — client → server request: the per-layer readout for the layer view, plus the
 * configured task's coarse-to-fine decision on the same text. Cancellable.
 */
export const layers = new RequestType<LayersParams, LayersResult, void>('hdlm/layers');

export interface ThoughtParams {
  uri: string;
  /** Line of the completion the thought belongs to. */
  line: number;
  thought: string;
  answer: string;
  /** Layer that drafted the thought, and the last layer that wrote the answer. */
  thoughtLayer: number;
  answerLayer: number;
  /** The thought layer's probability of its whole thought (as in ThinkThenAnswerResult). */
  thoughtProbability: number;
  ms: number;
}

/**
 * `hdlm/thought` — server → client notification, sent with each inline completion: the thought
 * the intermediate layer drafted before the last layer wrote the answer, so the editor can
 * show it beside the ghost text.
 */
export const thought = new NotificationType<ThoughtParams>('hdlm/thought');

export interface ThinkThenAnswerParams {
  /** The input (the client sends the selection, or the current line). */
  text: string;
  /** Most tokens of the answer (default: the hdlm.maxTokens setting); the thought gets at most 16. */
  maxTokens?: number;
  /** Echoed in the `hdlm/generationStep` notifications of this request, so the client can tell them apart. */
  requestId?: string;
}

export interface ThinkThenAnswerResult {
  task: string;
  model: string;
  device: string;
  layers: number;
  thought: string;
  answer: string;
  /** Layer that drafted the thought (the task's first level); the answer comes from the last layer. */
  thoughtLayer: number;
  answerLayer: number;
  /**
   * Positions of the thought's decode state (prompt and thought) that the answer's first step took
   * through the deeper layers in one batched pass: measured on that state, so 0 had the answer been
   * re-prefilled, or given no token.
   */
  caughtUp: number;
  /**
   * How sure the thought layer was of its whole thought: the product of its tokens' probabilities
   * (closing token included). A thought it was unsure of is more often wrong, and a wrong thought
   * can mislead the answer (data/README.md, "Thought-then-answer").
   */
  thoughtProbability: number;
  ms: { thought: number; answer: number };
}

/**
 * `hdlm/thinkThenAnswer` — client → server request: an intermediate layer drafts a thought, then
 * the last layer writes the answer on the same decode state (no re-prefill). Tokens stream as
 * `hdlm/generationStep`. Cancellable; a cancelled request answers with RequestCancelled.
 */
export const thinkThenAnswer = new RequestType<ThinkThenAnswerParams, ThinkThenAnswerResult, void>('hdlm/thinkThenAnswer');

/** One step of a thought-then-answer generation, for views that follow it live. */
export type GenerationStepParams =
  | { id: string; source: 'command' | 'inline'; part: 'thought' | 'answer'; token: string; text: string; layer: number; layers: number; probability: number }
  | {
      id: string;
      source: 'command' | 'inline';
      part: 'done';
      thought: string;
      answer: string;
      thoughtLayer: number;
      layers: number;
      caughtUp: number;
      thoughtProbability: number;
      ms: { thought: number; answer: number };
      /** Set when the generation was cancelled: what it holds is what came before the cancel, not a finished generation. */
      cancelled?: true;
    };

/**
 * `hdlm/generationStep` — server → client notification, for every token of a thought-then-answer
 * generation (the Think Then Answer command and inline completions), then once with `done`
 * (`cancelled` when it was, so that a view does not show a cancelled generation as finished):
 * which layer produced each token and how sure it was of it (`probability`, the layer's own,
 * before sampling), and how many thought positions were caught up. `id` is the
 * request's `requestId`, or `inline:<uri>:<line>` for inline completions.
 */
export const generationStep = new NotificationType<GenerationStepParams>('hdlm/generationStep');

export interface TrainParams {
  /** Task file to fine-tune (a path, or a file: URI). */
  task: string;
}

/** Answer to a request that starts a job: its id, used by `hdlm/jobProgress` and `hdlm/cancelJob`. */
export interface JobStarted {
  jobId: string;
}

/**
 * `hdlm/train` — client → server request: starts fine-tuning a task's heads (and the flat
 * baseline) in a separate process and answers at once with a job id; progress follows as
 * `hdlm/jobProgress`. The server keeps serving requests meanwhile.
 */
export const train = new RequestType<TrainParams, JobStarted, void>('hdlm/train');

export interface ScanLayersParams {
  /** Task file whose levels to scan (a path, or a file: URI); a classification task. */
  task: string;
  /** Training and dev examples sampled (defaults 4,000 and 8,000). */
  trainExamples?: number;
  devExamples?: number;
}

/**
 * `hdlm/scanLayers` — client → server request: in a separate process, trains a head for every
 * level of a classification task at every layer of its model on a sample of its data and
 * suggests each level's layer; answers at once with a job id, progress follows as
 * `hdlm/jobProgress` and ends with a `layerScan` event. The record is kept beside the heads
 * (`layer-scan.json`); the heads are not touched.
 */
export const scanLayers = new RequestType<ScanLayersParams, JobStarted, void>('hdlm/scanLayers');

/** A layer scan: dev accuracy per level and layer, and the suggested layers (the engine's record). */
export type LayerScan = LayerScanRecord;

export interface EvaluateParams {
  /** Task file to evaluate (a path, or a file: URI). */
  task: string;
  /** Evaluate on at most this many test examples (default: all of them). */
  maxExamples?: number;
  /**
   * Evaluate on this dataset file instead of the task's test split (a path, or a file: URI):
   * JSON Lines in the task's format. The record names it, so Show Mistakes reads it back.
   */
  file?: string;
}

/**
 * `hdlm/evaluate` — client → server request: evaluates a task's HdLM heads and the flat baseline
 * on its test split (dev when it has none) in a separate process; answers at once with a job
 * id, progress follows as `hdlm/jobProgress` and ends with an `evaluation` event. The result is
 * also kept beside the heads (`evaluation.json`) so the task panel shows it later.
 */
export const evaluate = new RequestType<EvaluateParams, JobStarted, void>('hdlm/evaluate');

/** The evaluation of a classification task: the record `hdlm eval` keeps as `evaluation.json`. */
export type EvaluationSummary = EvaluationRecord;

/** One row of an evaluation's paired comparison: HdLM minus flat on the same examples. */
export type PairedDifference = EnginePairedDifference;
/** HdLM now against the evaluation a record replaced, paired on the examples both measured. */
export type SincePrevious = EngineSincePrevious;
/** One measure of SincePrevious. */
export type MeasureChange = EngineMeasureChange;

/** HdLM minus flat in a per-token mean (a thought-then-answer evaluation's answer likelihood). */
export type PairedMeanDifference = EnginePairedMeanDifference;

/**
 * The evaluation of a thought-then-answer task (kept as `evaluation.json` too, with `kind`): HdLM
 * (thought at layer k, then the answer at the last layer) vs the flat answer; exact match after
 * trimming and case folding.
 */
export type ThoughtEvaluationSummary = ThoughtEvaluationRecord;

/** How fine-tuning ended: the engine's train report as the job carries it. */
export interface TrainReportSummary {
  task: string;
  examples: { train: number; dev: number };
  heads: { name: string; layer: number; bestEpoch: number; bestDevAccuracy: number }[];
  seconds: { features: number; training: number };
  /** Heads found already trained with these settings and data (the report's timings are then the earlier run's). */
  reused?: string[];
}

export { retrainedNothing } from '../../engine/src/hdlm/trainOutcome';
export { describeDifference, describeMeanDifference, leftOutClause, signedFigure } from '../../engine/src/hdlm/metrics';

/** One event of a job: the CLI's `--events` lines, plus how the job ended. */
export type JobEvent =
  /** Fine-tuning as the engine reports it: stage, features, progress, epoch, saved. */
  | TrainEvent
  | { kind: 'report'; report: TrainReportSummary }
  /** Evaluation progress: `done` of `total` examples of one variant. */
  | { kind: 'evalProgress'; variant: string; done: number; total: number; examplesPerS: number; etaS: number }
  | { kind: 'evaluation'; evaluation: EvaluationSummary }
  /** How an evaluation of a thought-then-answer task ends (instead of `evaluation`). */
  | { kind: 'thoughtEvaluation'; evaluation: ThoughtEvaluationSummary }
  /** A layer scan's progress (one per head trained) and its end. */
  | Extract<ScanEvent, { kind: 'scanCell' }>
  | { kind: 'layerScan'; scan: LayerScan }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

export type JobKind = 'train' | 'evaluate' | 'scan';

/** How much work a job has ahead, as known when it starts (each field when known). */
export interface JobPlan {
  /** Heads that fine-tuning trains. */
  heads?: number;
  /** Epochs per head (fewer when a head stops early). */
  epochs?: number;
  /** Variants an evaluation runs one after the other (HdLM, then flat). */
  variants?: number;
}

/** What a job of each kind is doing, for people: "fine-tuning wordnet.hdlm.json". */
export const JOB_VERBS: Record<JobKind, string> = { train: 'fine-tuning', evaluate: 'evaluating', scan: 'scanning the layers of' };

export interface JobProgressParams {
  jobId: string;
  kind: JobKind;
  /** Absolute path of the task file the job works on. */
  task: string;
  event: JobEvent;
  /** 0..1 of the whole job after this event, only growing (JobView.overall, from the server's journal). */
  overall?: number;
}

/**
 * `hdlm/jobProgress` — server → client notification: a job's progress, ending with `report`
 * (training), `evaluation`, `failed` or `cancelled`.
 */
export const jobProgress = new NotificationType<JobProgressParams>('hdlm/jobProgress');

/** What the server knows of a job, rebuilt from its events; `hdlm/jobs` lists these. */
export interface JobView {
  jobId: string;
  kind: JobKind;
  task: string;
  /** `interrupted`: the server stopped while the job ran (its last saved heads are kept). */
  state: 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';
  /** One line for people: what the job is doing now, or how it ended. */
  line: string;
  /** 0..1 of the current stage. */
  fraction: number;
  /**
   * 0..1 of the whole job, only growing: the stages mapped onto one scale (jobView.ts
   * `overallAfter`). Records kept before it existed lack it.
   */
  overall?: number;
  /** What the server knew at the start of the job that the stages' shares depend on. */
  plan?: JobPlan;
  /** Heads (training) or variants (evaluation) in the order their progress first came. */
  stages?: string[];
  /**
   * Training: the head (index in `stages`) from which the heads share the rest of the bar, and
   * where the bar stood when it started (jobView.ts `headStage`): set when a head starts after an
   * earlier one, which may have stopped early. Records kept before it existed lack it.
   */
  headsFrom?: { stage: number; at: number };
  /** Per head (training): loss over time, for the curve, and dev accuracy per epoch. */
  heads: { name: string; layer: number | undefined; losses: number[]; devAccuracy: number[] }[];
  /** The result of an evaluation job of a classification task. */
  evaluation?: EvaluationSummary;
  /** The result of an evaluation job of a thought-then-answer task. */
  thoughtEvaluation?: ThoughtEvaluationSummary;
  /** The result of a layer scan. */
  layerScan?: LayerScan;
  startedAt: string;
  endedAt?: string;
  /**
   * A job of another server on the same journal (another window on this workspace): listed, and
   * cancelled by asking that server (`hdlm/cancelJob` answers `elsewhere`).
   */
  elsewhere?: true;
}

export type JobsParams = Record<string, never>;

export interface JobsResult {
  /** Running jobs and the most recent ended ones, newest first; they survive server restarts. */
  jobs: JobView[];
}

/**
 * `hdlm/jobs` — client → server request: the running and recent jobs. The task panel asks for
 * it whenever it is shown, so a reopened panel (or a restarted window or server) sees where a
 * job stands or how it ended.
 */
export const jobs = new RequestType<JobsParams, JobsResult, void>('hdlm/jobs');

export interface TaskSummaryParams {
  /** Task file (a path, or a file: URI). */
  task: string;
}

/** A trained head in a task's heads folder, from its manifest. */
export interface HeadSummary {
  /** `level1` … `levelN`, or `flat` (the last-layer baseline). */
  name: string;
  layer: number;
  /** How it is stored: `full`, `rows` (its labels' rows only) or `lowRank`. */
  kind: string;
  bestDevAccuracy?: number;
  bestEpoch?: number;
  /** 'choices': trained on label choices, so its dev accuracy counts only tokens that are choices. */
  labelScoring?: 'choices';
  trainedAt: string;
}

export interface TaskSummaryResult {
  /** Absolute path of the task file. */
  task: string;
  name: string;
  /** Absolute heads folder. */
  headsDir: string;
  /** Layer per level as the file says it (`last` unresolved). */
  levels: (number | 'last')[];
  /** Layers of the task's own model (its config.json), when it can be read: what a level may be set to. */
  modelLayers?: number;
  heads: HeadSummary[];
  /** The last evaluation kept beside the heads, if any: of a classification task… */
  evaluation?: EvaluationSummary;
  /** …or of a thought-then-answer task (`evaluation.json` holds one or the other). */
  thoughtEvaluation?: ThoughtEvaluationSummary;
  /** Every kept evaluation's headline, oldest first (the newest 50). */
  history: HistoryEntry[];
  /** The last layer scan kept beside the heads, if any. */
  layerScan?: LayerScan;
  /** What the task asks for that its heads cannot do yet, and why (e.g. exitWhenSure before its heads are trained), and, when the open session runs it, that it does not fit the model. */
  notices?: string[];
}

/** One evaluation in a task's history. */
export type HistoryEntry = EngineHistoryEntry;

/**
 * `hdlm/taskSummary` — client → server request: what a task file declares and what has been
 * trained and measured for it (head manifests, the last evaluation). Reads small files only;
 * fails with `badRequest` naming the problem when the task file is invalid.
 */
export const taskSummary = new RequestType<TaskSummaryParams, TaskSummaryResult, void>('hdlm/taskSummary');

export interface CreateTaskParams {
  /** The dataset (a path, or a file: URI): JSON Lines of {"text", "labels"} or {"input", "thought", "answer"}. */
  dataset: string;
}

/** What New Task from Dataset wrote: the engine's `CreatedTask`, passed on unchanged (one definition of its fields). */
export type CreateTaskResult = CreatedTask;

/**
 * `hdlm/createTask` — client → server request: writes `<dataset name>.hdlm.json` beside a dataset
 * (`-2`, `-3` … when taken; never replaces a file), for the configured model, with one level per
 * label level and layers spread over the model's depth. Fails with `badRequest` naming the
 * file and lines when training could not use the dataset.
 */
export const createTask = new RequestType<CreateTaskParams, CreateTaskResult, void>('hdlm/createTask');

export interface MistakesParams {
  /** Task file whose last evaluation to read (a path, or a file: URI). */
  task: string;
  /** Only the mistakes whose gold label (or gold thought) is this one… */
  label?: string;
  /** …at this level (1-based; absent: at any level). */
  level?: number;
}

/**
 * The examples the task's last evaluation got wrong, with their texts, ordered for looking at:
 * classification by the level where HdLM's path first leaves the gold one, the surest mistakes
 * first; thought-then-answer wrong thoughts first, the surest first. (The engine's
 * `EvaluationMistakes`, passed on unchanged.)
 */
export type MistakesResult = EvaluationMistakes;
/** One classification mistake: the example, the gold path, both variants' paths. */
export type ClassifyMistake = EngineClassifyMistake;
/** One thought-then-answer mistake: the input, the gold thought and answer, what each variant wrote. */
export type ThoughtMistake = EngineThoughtMistake;

/**
 * `hdlm/mistakes` — client → server request: reads the last evaluation's per-example
 * predictions (kept beside its record) and the evaluated file. Cheap: no model runs. Fails with
 * `badRequest` saying why when there is no evaluation, its predictions are missing (a fresh
 * clone: they are not tracked in git; the message names the `hdlm eval` command that writes
 * them), or the evaluated file has changed since.
 */
export const mistakes = new RequestType<MistakesParams, MistakesResult, void>('hdlm/mistakes');

export interface LabelReportParams {
  /** Task file whose last evaluation to read (a path, or a file: URI). */
  task: string;
}

/**
 * The task's last evaluation per label: for each level, every label's examples, precision,
 * recall and F1 (flat's F1 beside), the worst first, with the misses inherited from a wrong
 * level above and the most frequent confusions; a thought-then-answer task per gold thought,
 * with its answers' accuracy. (The engine's `LabelReport`, passed on unchanged.)
 */
export type LabelReportResult = LabelReport;
/** One level of a classification report. */
export type LevelReport = EngineLevelReport;
/** One label at one level. */
export type LabelRow = EngineLabelRow;
/** Gold label → what HdLM said instead. */
export type Confusion = EngineConfusion;
/** One gold thought of a thought-then-answer report. */
export type ThoughtRow = EngineThoughtRow;

/**
 * `hdlm/labelReport` — client → server request: computes the per-label report from the last
 * evaluation's kept predictions. Cheap: no model runs and the dataset is not read. Fails with
 * `badRequest` saying why when there is no evaluation or it kept no predictions.
 */
export const labelReport = new RequestType<LabelReportParams, LabelReportResult, void>('hdlm/labelReport');

export interface CancelJobParams {
  jobId: string;
}

export interface CancelJobResult {
  /** Whether the job was running and is being stopped: by this server, or (`elsewhere`) by the server that runs it, which was asked to. */
  cancelled: boolean;
  /**
   * The job runs under another window's server, which was asked to cancel it and does so as it
   * cancels its own: its `hdlm/jobs` entry shows it end (this server sends no progress of it).
   */
  elsewhere?: true;
  /** Why a running job cannot be cancelled from here, for people (its window runs an earlier version). */
  reason?: string;
}

/**
 * `hdlm/cancelJob` — client → server request: stops a running job, this server's or (through
 * the journal's folder) another window's; answers whether one was running.
 */
export const cancelJob = new RequestType<CancelJobParams, CancelJobResult, void>('hdlm/cancelJob');

/** `hdlm.task` values that name a task shipped beside the default model, by its file's stem: `shipped:thought`. */
export const SHIPPED_TASK = 'shipped:';

/**
 * `data` of a `modelUnavailable` error when the model serves without its task (the task does
 * not fit it, or its file cannot be read): which task file, so that a client can offer to open
 * it or to pick another.
 */
export interface UnfitTaskData {
  taskFile: string;
  /** The file could not be read (missing, or not parsed), rather than not fitting the model. */
  unreadable: boolean;
  /** Whether the file is there to open. */
  exists: boolean;
}

export function isUnfitTaskData(value: unknown): value is UnfitTaskData {
  const v = value as Partial<UnfitTaskData> | null;
  return typeof v === 'object' && v !== null && typeof v.taskFile === 'string' && typeof v.unreadable === 'boolean' && typeof v.exists === 'boolean';
}

/** Error codes of HdLM responses: application codes, outside the ranges JSON-RPC and the LSP reserve. */
export const ErrorCodes = {
  /** The engine failed to start; the message says why. */
  engineUnavailable: 1001,
  /** The model or task could not be loaded (missing files, bad task file); the message names it. */
  modelUnavailable: 1002,
  /** The request's parameters are unusable (empty text, bad beam). */
  badRequest: 1003,
} as const;
