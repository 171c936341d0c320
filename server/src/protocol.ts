// Every custom LSP message of HdLM, declared once. The client, the server and the tests import
// this module, so a message's name, direction and types cannot drift apart. docs/protocol.md
// documents each message; test/unit/protocolDoc.test.ts keeps the two in step.
import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

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
}

/**
 * `hdlm/engineInfo` — client → server request: what runtime and device the engine uses. Waits
 * for the engine to start; fails with a clear message when it could not.
 */
export const engineInfo = new RequestType<EngineInfoParams, EngineInfoResult, void>('hdlm/engineInfo');

export interface ClassifyParams {
  /** The text to classify (the client sends the selection, or the current line). */
  text: string;
  /** Hierarchy beam width; 1 is greedy (each level decided once). */
  beam?: number;
}

export interface LevelDecision {
  level: number;
  label: string;
  /** Probability among its siblings, given the labels above it. */
  probability: number;
  runnersUp: { label: string; probability: number }[];
  /** Layer whose head decided this level. */
  layer: number;
  ms: number;
}

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
  ms: number;
}

/**
 * `hdlm/thought` — server → client notification, sent with each inline completion: the thought
 * the intermediate layer drafted before the last layer wrote the answer, so the editor can
 * show it beside the ghost text.
 */
export const thought = new NotificationType<ThoughtParams>('hdlm/thought');

export interface TrainParams {
  /** Task file to fine-tune (a path, or a file: URI). */
  task: string;
}

export interface TrainResult {
  jobId: string;
}

/**
 * `hdlm/train` — client → server request: starts fine-tuning a task's heads (and the flat
 * baseline) in a separate process and answers at once with a job id; progress follows as
 * `hdlm/trainProgress`. The server keeps serving requests meanwhile.
 */
export const train = new RequestType<TrainParams, TrainResult, void>('hdlm/train');

/** One event of a training job (the CLI's `hdlm train --events` lines, plus how it ended). */
export type TrainJobEvent =
  | { kind: 'stage'; message: string }
  | { kind: 'features'; done: number; total: number; examplesPerS: number; etaS: number }
  | { kind: 'progress'; head: string; epoch: number; examples: number; epochExamples: number; loss: number; examplesPerS: number; etaS: number }
  | { kind: 'epoch'; head: string; epoch: number; loss: number; accuracy: number; devLoss: number; devAccuracy: number; improved: boolean; seconds: number }
  | { kind: 'saved'; head: string; file: string }
  | { kind: 'report'; report: { task: string; examples: { train: number; dev: number }; heads: { name: string; layer: number; bestEpoch: number; bestDevAccuracy: number }[]; seconds: { features: number; training: number } } }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

export interface TrainProgressParams {
  jobId: string;
  event: TrainJobEvent;
}

/** `hdlm/trainProgress` — server → client notification: a training job's progress, ending with report, failed or cancelled. */
export const trainProgress = new NotificationType<TrainProgressParams>('hdlm/trainProgress');

export interface CancelJobParams {
  jobId: string;
}

/** `hdlm/cancelJob` — client → server request: stops a running job; answers whether one was running. */
export const cancelJob = new RequestType<CancelJobParams, { cancelled: boolean }, void>('hdlm/cancelJob');

/** Error codes of HdLM responses: application codes, outside the ranges JSON-RPC and the LSP reserve. */
export const ErrorCodes = {
  /** The engine failed to start; the message says why. */
  engineUnavailable: 1001,
  /** The model or task could not be loaded (missing files, bad task file); the message names it. */
  modelUnavailable: 1002,
  /** The request's parameters are unusable (empty text, bad beam). */
  badRequest: 1003,
} as const;
