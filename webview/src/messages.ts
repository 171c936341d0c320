// Messages between the extension host and the webviews, one union per direction keyed on
// `type`. The host switches exhaustively over WebviewToHost; the webview over HostToWebview.
// Job, head and evaluation shapes are the language server's own wire types.
import type { EvaluationSummary, HeadSummary, HistoryEntry, JobView, LayerScan, PairedDifference, PairedMeanDifference, SincePrevious, ThoughtEvaluationSummary } from '../../server/src/protocol';

export type { EvaluationSummary, HeadSummary, HistoryEntry, JobView, LayerScan, PairedDifference, PairedMeanDifference, SincePrevious, ThoughtEvaluationSummary };

/** What the layer view shows: one input's readout at every layer and the task's decisions. */
export interface LayerViewData {
  text: string;
  model: string;
  device: string;
  layers: number;
  tokens: string[];
  readouts: { layer: number; top: { text: string; probability: number }[] }[];
  segments: { first: number; end: number; positions: number; ms: number }[];
  /** Per taxonomy level: the label its head chose, at which layer. */
  decisions: { level: number; label: string; probability: number; layer: number; trained: boolean }[];
  task: string;
  /** Why the task decided nothing: it does not fit the model, or its file cannot be read (LayersResult.unfitTask). */
  notice?: string;
  /** With `notice`: the task file, and whether it is there to open (buttons under the notice). */
  noticeTask?: { file: string; exists: boolean };
  ms: number;
}

/** A thought-then-answer generation as it happens: each token with the layer that produced it. */
export interface GenerationView {
  id: string;
  /** The Think Then Answer command, or an inline completion. */
  source: 'command' | 'inline';
  layers: number;
  /** Each token with its layer and that layer's probability of it (absent in views saved before 2026-12-06). */
  tokens: { part: 'thought' | 'answer'; text: string; layer: number; probability?: number }[];
  /** Set when it ended: positions caught up through the deeper layers before the answer, and times; `cancelled` when it ended so. */
  done?: { caughtUp: number; thoughtLayer: number; thoughtProbability?: number; ms: { thought: number; answer: number }; cancelled?: true };
}

/** The ways out of a task the model serves without, as buttons: the error notice's and the layer view's. */
export const TASK_ACTIONS = { open: 'Open Task File', select: 'Select Task…' } as const;

/** Host → webview. */
export type HostToWebview =
  | { type: 'busy'; text: string }
  | { type: 'layers'; data: LayerViewData }
  | { type: 'generation'; generation: GenerationView }
  | { type: 'error'; message: string };

/** Webview → host. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'refresh' }
  /** The user stopped the readout in progress. */
  | { type: 'cancel' }
  /** The notice's buttons: open the task file, pick another task. */
  | { type: 'openTask'; file: string }
  | { type: 'selectTask' }
  /** Sent after each render, so the host (and tests, through the extension's API) know what is shown. */
  | { type: 'rendered'; rows: number; decisions: number; summary: string; notice: string; noticeActions: string[]; generationTokens: number; generationDone: boolean; untrained: number };

/** One task file as the task panel lists it. */
export interface TaskEntry {
  uri: string;
  /** Workspace-relative path, for display. */
  path: string;
  name: string;
  /** 'classify' unless the file says 'thoughtThenAnswer'. */
  kind: 'classify' | 'thoughtThenAnswer';
  dataset: string;
  /** Per level: its layer (a number, or 'last'); null where the file names none (the picker shows "no layer set"). */
  levels: (number | 'last' | null)[];
  /** Layers of the task's own model (from hdlm/taskSummary), which its levels can be set to. */
  modelLayers?: number;
  /** Problems with the file, if it does not parse; the entry is then shown but cannot train. */
  problem?: string;
  active: boolean;
  /** Trained heads in the task's heads folder (empty before the first fine-tuning). */
  heads: HeadSummary[];
  /** The last evaluation of the task (HdLM heads vs the flat baseline): a classification task's… */
  evaluation?: EvaluationSummary;
  /** …or a thought-then-answer task's (thought and answer exact match, HdLM vs the flat answer). */
  thoughtEvaluation?: ThoughtEvaluationSummary;
  /** Every kept evaluation's headline, oldest first (absent until the server has answered). */
  history?: HistoryEntry[];
  /** The last layer scan kept beside the heads. */
  layerScan?: LayerScan;
  /** What the task asks for that its heads cannot do yet (the server's words), shown as warnings. */
  notices?: string[];
}

export interface TaskPanelState {
  model: string;
  device: string;
  /** Layers of the model, when known: the choices offered per level. */
  layers: number | undefined;
  tasks: TaskEntry[];
  /** JSON Lines files in the workspace: the path shown, and the URI a new task is made from. */
  datasets: { path: string; uri: string }[];
  /** The job shown in detail: the newest running one, else the newest that ended. */
  job: TaskPanelJob | undefined;
  /** Earlier jobs, newest first, one line each. */
  recentJobs: { jobId: string; kind: JobView['kind']; task: string; state: JobView['state']; line: string }[];
  /** Why jobs or heads could not be read (the server is not running), if so. */
  problem?: string;
}

/**
 * A job as the task panel shows it: the server's view, and its task file's URI string
 * (vscode.Uri.file(task).toString(), the form of TaskEntry.uri), which the page compares with
 * its cards' (a path and a URI do not compare, least of all on Windows).
 */
export type TaskPanelJob = JobView & { taskUri: string };

/** Host → task panel. */
export type HostToTaskPanel = { type: 'state'; state: TaskPanelState };

/** Task panel → host. */
export type TaskPanelToHost =
  | { type: 'ready' }
  | { type: 'train'; uri: string }
  | { type: 'evaluate'; uri: string }
  /** Open the last evaluation's mistakes (hdlm.showMistakes). */
  | { type: 'showMistakes'; uri: string }
  /** Open the last evaluation's per-label report (hdlm.showLabelReport). */
  | { type: 'showLabelReport'; uri: string }
  | { type: 'cancel'; jobId: string }
  | { type: 'open'; uri: string }
  /** Make a task file from this dataset (hdlm.createTask). */
  | { type: 'createTask'; uri: string }
  /** Evaluate a task (picked) on this dataset file (hdlm.evaluateOnFile). */
  | { type: 'evaluateOnFile'; uri: string }
  | { type: 'activate'; uri: string }
  | { type: 'setLayer'; uri: string; level: number; layer: number | 'last' }
  /** Scan the task's layers (hdlm.scanLayers). */
  | { type: 'scanLayers'; uri: string }
  /** Write the kept layer scan's suggested layers into the task file. */
  | { type: 'useScanLayers'; uri: string; layers: (number | 'last')[] }
  /** Sent after each render (the host's API exposes it to tests). */
  | { type: 'rendered'; tasks: number; job: string; jobId: string; heads: number; evaluations: number; jobThoughtSamples: number; taskThoughtSamples: number; pairedRows: number; sinceRows: number; historyRows: number; scanRows: number; exitRows: number; notices: number; wideTables: string[]; levelPickers: string[] };
