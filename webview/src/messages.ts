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
