// Messages between the extension host and the webviews, one union per direction keyed on
// `type`. The host switches exhaustively over WebviewToHost; the webview over HostToWebview.

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
  ms: number;
}

/** Host → webview. */
export type HostToWebview = { type: 'busy'; text: string } | { type: 'layers'; data: LayerViewData } | { type: 'error'; message: string };

/** Webview → host. */
export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'refresh' }
  /** Sent after each render, so the host (and tests, through the extension's API) know what is shown. */
  | { type: 'rendered'; rows: number; decisions: number; summary: string };

/** One task file as the task panel lists it. */
export interface TaskEntry {
  uri: string;
  /** Workspace-relative path, for display. */
  path: string;
  name: string;
  dataset: string;
  /** Per level: its layer (a number, or 'last'). */
  levels: (number | 'last')[];
  /** Problems with the file, if it does not parse; the entry is then shown but cannot train. */
  problem?: string;
  active: boolean;
}

/** What the task panel shows about a training job, rebuilt from its progress events. */
export interface JobView {
  jobId: string;
  task: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  line: string;
  /** 0..1 of the current stage. */
  fraction: number;
  /** Per head: training loss over time (for the curve) and dev accuracy per epoch. */
  heads: { name: string; layer: number | undefined; losses: number[]; devAccuracy: number[] }[];
}

export interface TaskPanelState {
  model: string;
  device: string;
  /** Layers of the model, when known: the choices offered per level. */
  layers: number | undefined;
  tasks: TaskEntry[];
  datasets: string[];
  job: JobView | undefined;
}

/** Host → task panel. */
export type HostToTaskPanel = { type: 'state'; state: TaskPanelState };

/** Task panel → host. */
export type TaskPanelToHost =
  | { type: 'ready' }
  | { type: 'train'; uri: string }
  | { type: 'cancel'; jobId: string }
  | { type: 'open'; uri: string }
  | { type: 'activate'; uri: string }
  | { type: 'setLayer'; uri: string; level: number; layer: number | 'last' }
  /** Sent after each render (the host's API exposes it to tests). */
  | { type: 'rendered'; tasks: number; job: string };
