// Small DOM helpers shared by the webview pages.

/** An element with text content and an optional class. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', className = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** A toolkit web component (vscode-button, vscode-dropdown, …) with text content. */
export function component(tag: string, text = ''): HTMLElement {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  return node;
}

export const percent = (p: number): string => `${(p * 100).toFixed(p >= 0.995 ? 0 : 1)}%`;

/** The webview's channel to its host, typed by the messages it sends. */
export interface VsCodeApi<ToHost> {
  postMessage(message: ToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi<never>;

/** acquireVsCodeApi may be called once per page; each page calls this once. */
export function vsCodeApi<ToHost>(): VsCodeApi<ToHost> {
  return acquireVsCodeApi() as unknown as VsCodeApi<ToHost>;
}
