// The layer view's page: renders what the host sends (every layer's readout of one input, the
// task's decisions and which layers each decision skipped by exiting early, and the latest
// thought-then-answer generation as it streams), keeps it in the webview state so a restored
// panel shows it at once, and tells the host what it rendered.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import { component, el, keyed, percent, showContent, vsCodeApi } from './dom';
import { TASK_ACTIONS, type GenerationView, type HostToWebview, type LayerViewData, type WebviewToHost } from './messages';
import './layerView.css';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());
const vscode = vsCodeApi<WebviewToHost>();

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

/** What the page shows; saved as the webview state so a restored panel shows it again. */
interface PageState {
  data?: LayerViewData;
  generation?: GenerationView;
}
let page: PageState = {};

function header(data: LayerViewData): HTMLElement {
  const h = el('header');
  const task = data.task ? ` · task ${data.task}` : '';
  h.append(el('h1', `Layers of ${data.model.split('/').pop() ?? data.model}`), el('span', `${data.layers} layers · ${data.device} · ${data.ms.toFixed(0)} ms${task}`, 'meta'));
  h.append(refreshButton());
  return h;
}

/** Reads the input out again (keyed: it keeps the focus while tokens stream in). */
function refreshButton(): HTMLElement {
  const refresh = keyed(component('vscode-button', 'Refresh'), 'refresh');
  refresh.addEventListener('click', () => post({ type: 'refresh' }));
  return refresh;
}

function selectTaskButton(): HTMLElement {
  const select = keyed(component('vscode-button', TASK_ACTIONS.select), 'selectTask');
  select.setAttribute('appearance', 'secondary');
  select.addEventListener('click', () => post({ type: 'selectTask' }));
  return select;
}

function tokens(data: LayerViewData): HTMLElement {
  const box = el('div', '', 'tokens');
  // Plain chips, not vscode-tag: the tag upper-cases its text, and token case matters here.
  for (const t of data.tokens) box.append(el('span', JSON.stringify(t), 'chip'));
  return box;
}

function row(data: LayerViewData, layer: number): HTMLTableRowElement {
  const readout = data.readouts.find((r) => r.layer === layer);
  const decisions = data.decisions.filter((d) => d.layer === layer);
  const tr = el('tr', '', decisions.length > 0 ? 'head' : '');
  const name = el('th', layer === 0 ? 'embed' : `layer ${layer}`, 'layer');
  name.scope = 'row';
  tr.append(name);
  const cell = el('td');
  for (const t of readout?.top ?? []) {
    const c = el('span', '', 'candidate');
    const bar = el('span', '', 'bar');
    bar.style.width = `${Math.max(2, Math.round(t.probability * 80))}px`;
    c.append(bar, el('span', JSON.stringify(t.text), 'token'), el('span', percent(t.probability), 'prob'));
    cell.append(c);
  }
  tr.append(cell);
  tr.append(exits(data, layer));
  const decided = el('td', decisions.map((d) => `level ${d.level}: ${d.label} ${percent(d.probability)}${d.trained ? '' : ' (untrained head)'}`).join('; '), 'decision');
  tr.append(decided);
  return tr;
}

/** Per level, whether its decision ran this layer or skipped it by exiting earlier. */
function exits(data: LayerViewData, layer: number): HTMLTableCellElement {
  const cell = el('td', '', 'exits');
  if (layer === 0) return cell;
  for (const d of data.decisions) {
    const ran = layer <= d.layer;
    const mark = el('span', `L${d.level}`, ran ? 'ran' : 'skipped');
    mark.title = ran ? `level ${d.level} ran this layer (it exits at layer ${d.layer})` : `level ${d.level} exited at layer ${d.layer}: this layer was skipped for it`;
    mark.setAttribute('aria-label', mark.title);
    cell.append(mark);
  }
  return cell;
}

/** Below this probability a generated token is marked as one its layer was unsure of. */
const UNSURE = 0.5;

/** The latest thought-then-answer generation: thought tokens from their layer, then the answer. */
function generationSection(g: GenerationView): HTMLElement {
  const box = el('section', '', 'generation');
  box.append(el('h2', `${g.source === 'inline' ? 'Inline completion' : 'Think Then Answer'}${g.done ? (g.done.cancelled ? ' (cancelled)' : '') : ' (generating…)'}`));
  const line = el('div', '', 'tokens');
  line.setAttribute('role', 'list');
  for (const t of g.tokens) {
    const chip = el('span', t.text, `chip ${t.part}`);
    chip.setAttribute('role', 'listitem');
    const sure = t.probability === undefined ? '' : ` (${(t.probability * 100).toFixed(1)} % sure)`;
    chip.title = t.part === 'thought' ? `thought token from layer ${t.layer}/${g.layers}${sure}: layers ${t.layer + 1}–${g.layers} were skipped for it until the answer` : `answer token from layer ${t.layer}/${g.layers}${sure}`;
    // A token its layer was unsure of is marked (a shaky thought can mislead the answer): by a
    // dotted border, not by fading its text, which would make it hard to read; its confidence
    // is said to a screen reader.
    if (t.probability !== undefined) {
      if (t.probability < UNSURE) chip.classList.add('unsure');
      chip.append(el('span', sure, 'visually-hidden'));
    }
    line.append(chip);
  }
  box.append(line);
  const thought = g.tokens.filter((t) => t.part === 'thought');
  const answer = g.tokens.filter((t) => t.part === 'answer');
  const parts = [`thought: ${thought.length} tokens at layer ${thought[0]?.layer ?? g.done?.thoughtLayer ?? '?'}`, `answer: ${answer.length} tokens at layer ${g.layers}`];
  if (g.done?.thoughtProbability !== undefined) parts[0] += ` (${(g.done.thoughtProbability * 100).toFixed(1)} % sure of the whole thought)`;
  if (g.done) parts.splice(1, 0, `then ${g.done.caughtUp} positions caught up through layers ${g.done.thoughtLayer + 1}–${g.layers} in one pass (no re-prefill)`, `${g.done.ms.thought.toFixed(0)} + ${g.done.ms.answer.toFixed(0)} ms`);
  box.append(el('div', parts.join(' · '), 'meta'));
  return box;
}

function layersTable(data: LayerViewData): HTMLTableElement {
  const table = el('table');
  table.append(el('caption', 'Every layer read out, deepest first', 'visually-hidden'));
  const head = el('tr');
  const column = (text: string): HTMLElement => Object.assign(el('th', text), { scope: 'col' });
  head.append(column('layer'), column('readout (next token, model head)'), column('early exit'), column('task head decision'));
  table.append(head);
  for (let layer = data.layers; layer >= 0; layer--) table.append(row(data, layer));
  return table;
}

/** Why the task decided nothing, with the ways out: open its file (when it is there), pick another task. */
function notice(data: LayerViewData): HTMLElement {
  const box = el('div', '', 'notice');
  box.append(el('p', data.notice ?? ''));
  const task = data.noticeTask;
  if (task) {
    const actions = el('div', '', 'notice-actions');
    if (task.exists) {
      const open = keyed(component('vscode-button', TASK_ACTIONS.open), 'openTask');
      open.addEventListener('click', () => post({ type: 'openTask', file: task.file }));
      actions.append(open);
    }
    actions.append(selectTaskButton());
    box.append(actions);
  }
  return box;
}

function render(): void {
  const { data, generation } = page;
  const parts: HTMLElement[] = [];
  let rows = 0;
  if (data) {
    const table = layersTable(data);
    rows = table.rows.length - 1;
    parts.push(header(data), ...(data.notice ? [notice(data)] : []), tokens(data), table, el('div', `segments: ${data.segments.map((s) => `layers ${s.first + 1}–${s.end} ${s.ms.toFixed(1)} ms`).join(' · ')}`, 'segments'));
  }
  if (generation) parts.push(generationSection(generation));
  showContent(...parts);
  vscode.setState(page);
  const summary = (data?.decisions ?? []).map((d) => `${d.label}@${d.layer}`).join(' > ');
  const noticeActions = [...document.querySelectorAll('.notice vscode-button')].map((b) => b.textContent ?? '');
  post({ type: 'rendered', rows, decisions: data?.decisions.length ?? 0, summary, notice: data?.notice ?? '', noticeActions, generationTokens: generation?.tokens.length ?? 0, generationDone: generation?.done !== undefined, untrained: (data?.decisions ?? []).filter((d) => !d.trained).length });
}

function receive(message: HostToWebview): void {
  switch (message.type) {
    case 'busy': {
      const cancel = keyed(component('vscode-button', 'Cancel'), 'cancel');
      cancel.addEventListener('click', () => post({ type: 'cancel' }));
      const ring = component('vscode-progress-ring');
      showContent(ring, el('p', `Reading out every layer of “${message.text.slice(0, 80)}”…`), cancel);
      // After it is in the page: the toolkit names the ring "Loading" when it connects.
      ring.setAttribute('aria-label', 'Reading out every layer');
      break;
    }
    case 'layers':
      page = { ...page, data: message.data };
      render();
      break;
    case 'generation':
      page = { ...page, generation: message.generation };
      render();
      break;
    case 'error': {
      // Said at once, with the ways on: read the input again, or pick another task.
      const error = el('p', message.message, 'error');
      error.setAttribute('role', 'alert');
      const actions = el('div', '', 'notice-actions');
      actions.append(refreshButton(), selectTaskButton());
      showContent(error, actions);
      break;
    }
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => receive(event.data));
const saved = vscode.getState() as PageState | undefined;
if (saved?.data?.readouts) {
  page = saved;
  render();
}
post({ type: 'ready' });
