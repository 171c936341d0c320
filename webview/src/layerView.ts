// The layer view's page: renders what the host sends (every layer's readout of one input and
// the task's decisions), keeps it in the webview state so a restored panel shows it at once, and
// tells the host what it rendered.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import { component, el, percent, vsCodeApi } from './dom';
import type { HostToWebview, LayerViewData, WebviewToHost } from './messages';
import './layerView.css';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());
const vscode = vsCodeApi<WebviewToHost>();

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

function header(data: LayerViewData): HTMLElement {
  const h = el('header');
  h.append(el('h1', `Layers of ${data.model.split('/').pop() ?? data.model}`), el('span', `${data.layers} layers · ${data.device} · ${data.ms.toFixed(0)} ms · task ${data.task}`, 'meta'));
  const refresh = component('vscode-button', 'Refresh');
  refresh.addEventListener('click', () => post({ type: 'refresh' }));
  h.append(refresh);
  return h;
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
  tr.append(el('td', layer === 0 ? 'embed' : `layer ${layer}`, 'layer'));
  const cell = el('td');
  for (const t of readout?.top ?? []) {
    const c = el('span', '', 'candidate');
    const bar = el('span', '', 'bar');
    bar.style.width = `${Math.max(2, Math.round(t.probability * 80))}px`;
    c.append(bar, el('span', JSON.stringify(t.text), 'token'), el('span', percent(t.probability), 'prob'));
    cell.append(c);
  }
  tr.append(cell);
  const decided = el('td', decisions.map((d) => `level ${d.level}: ${d.label} ${percent(d.probability)}${d.trained ? '' : ' (untrained head)'}`).join('; '), 'decision');
  tr.append(decided);
  return tr;
}

function render(data: LayerViewData): void {
  const table = el('table');
  const head = el('tr');
  head.append(el('th', 'layer'), el('th', 'readout (next token, model head)'), el('th', 'task head decision'));
  table.append(head);
  for (let layer = data.layers; layer >= 0; layer--) table.append(row(data, layer));
  const segments = el('div', `segments: ${data.segments.map((s) => `layers ${s.first + 1}–${s.end} ${s.ms.toFixed(1)} ms`).join(' · ')}`, 'segments');
  document.body.replaceChildren(header(data), tokens(data), table, segments);
  vscode.setState(data);
  const summary = data.decisions.map((d) => `${d.label}@${d.layer}`).join(' > ');
  post({ type: 'rendered', rows: table.rows.length - 1, decisions: data.decisions.length, summary });
}

function receive(message: HostToWebview): void {
  switch (message.type) {
    case 'busy':
      document.body.replaceChildren(component('vscode-progress-ring'), el('p', `Reading out every layer of “${message.text.slice(0, 80)}”…`));
      break;
    case 'layers':
      render(message.data);
      break;
    case 'error':
      document.body.replaceChildren(el('p', message.message, 'error'));
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => receive(event.data));
const saved = vscode.getState() as LayerViewData | undefined;
if (saved?.readouts) render(saved);
post({ type: 'ready' });
