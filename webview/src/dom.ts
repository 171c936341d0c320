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

/**
 * Puts `parts` in place of the page's content, keeping keyboard focus: the pages rebuild on every
 * update (a job's progress, each streamed token), which would otherwise drop the focus to the
 * body. The focused control is found again by its `data-key` (stable across renders: task URI
 * and action); a dropdown that was open closes, but it keeps the focus. A control disabled
 * since (a job button once its job runs) cannot hold it: the focus goes to the control its
 * `data-focus-instead` names (that job's Cancel). The content lives in
 * its own element so that the live region beside it is never replaced (a screen reader only
 * announces changes to a region that was already there).
 */
export function showContent(...parts: Node[]): void {
  const key = document.activeElement?.closest('[data-key]')?.getAttribute('data-key');
  content().replaceChildren(...parts);
  if (!key) return;
  const found = byKey(key);
  const instead = found?.hasAttribute('disabled') ? found.dataset['focusInstead'] : undefined;
  (instead === undefined ? found : byKey(instead))?.focus();
}

const byKey = (key: string): HTMLElement | null => document.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`);

function content(): HTMLElement {
  const found = document.getElementById('content');
  if (found) return found;
  const main = el('main');
  main.id = 'content';
  const live = el('div', '', 'visually-hidden');
  live.id = 'live';
  live.setAttribute('role', 'status');
  document.body.replaceChildren(main, live);
  return main;
}

/** Says `text` to a screen reader through the page's polite live region, when it changed. */
export function announce(text: string): void {
  content();
  const live = document.getElementById('live')!;
  if (live.textContent !== text) live.textContent = text;
}

/** Gives a control its data-key, stable across renders, so that showContent can focus it again. */
export function keyed<E extends HTMLElement>(node: E, key: string): E {
  node.dataset['key'] = key;
  return node;
}

/**
 * Details shown on hover (title) made reachable by keyboard and screen reader: the element takes
 * focus and is described by a hidden span. The spans are gathered per render into one hidden
 * box, so that the elements' own text stays as it is.
 */
export class Details {
  private readonly spans: HTMLElement[] = [];

  attach(node: HTMLElement, text: string): void {
    const span = el('span', text);
    span.id = `detail-${this.spans.length + 1}`;
    this.spans.push(span);
    node.title = text;
    node.tabIndex = 0;
    node.setAttribute('aria-describedby', span.id);
  }

  /** The hidden box of descriptions, to put in the page with the elements they describe. */
  box(): HTMLElement {
    const box = el('div');
    box.hidden = true;
    box.append(...this.spans);
    return box;
  }
}
