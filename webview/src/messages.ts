// Messages between the extension host and the webviews, one union per direction keyed on
// `type`. The host switches exhaustively over WebviewToHost; the webview over HostToWebview.
// Requests carry an `id` that the reply repeats.

/** Host → webview. */
export type HostToWebview =
  | { type: 'engineInfo'; id: number; device: string; runtimeVersion: string }
  | { type: 'error'; id: number; message: string };

/** Webview → host. */
export type WebviewToHost = { type: 'ready' } | { type: 'requestEngineInfo'; id: number };
