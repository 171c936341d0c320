// The task panel (sidebar): the model and device, the workspace's task files with their layer
// per level (changeable), datasets, and the training job: progress, a loss curve per head and
// dev accuracy per epoch, the flat baseline beside the HdLM heads. It only renders what the host
// sends and sends back what the user asks for.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import { component, el, vsCodeApi } from './dom';
import type { HostToTaskPanel, JobView, TaskEntry, TaskPanelState, TaskPanelToHost } from './messages';
import './taskPanel.css';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing());
const vscode = vsCodeApi<TaskPanelToHost>();
const post = (m: TaskPanelToHost): void => vscode.postMessage(m);

function button(label: string, onClick: () => void): HTMLElement {
  const b = component('vscode-button', label);
  b.addEventListener('click', onClick);
  return b;
}

/** A dropdown of layers 1..L and "last" for one level; changing it asks the host to edit the file. */
function layerPicker(task: TaskEntry, level: number, layers: number | undefined): HTMLElement {
  const current = task.levels[level - 1]!;
  const dropdown = component('vscode-dropdown');
  const choices: (number | 'last')[] = [...Array.from({ length: layers ?? (typeof current === 'number' ? current : 1) }, (_, i) => i + 1), 'last'];
  for (const choice of choices) {
    const option = component('vscode-option', choice === 'last' ? 'last' : `layer ${choice}`);
    option.setAttribute('value', String(choice));
    if (choice === current) option.setAttribute('selected', '');
    dropdown.append(option);
  }
  dropdown.addEventListener('change', (e) => {
    const value = (e.target as HTMLSelectElement).value;
    post({ type: 'setLayer', uri: task.uri, level, layer: value === 'last' ? 'last' : Number(value) });
  });
  return dropdown;
}

function taskCard(task: TaskEntry, state: TaskPanelState): HTMLElement {
  const card = el('div', '', `task${task.active ? ' active' : ''}`);
  const title = el('div', '', 'title');
  const link = el('a', task.name || task.path);
  link.href = '#';
  link.addEventListener('click', () => post({ type: 'open', uri: task.uri }));
  title.append(link, el('span', ` ${task.path}${task.active ? ' · in use' : ''}`, 'muted'));
  card.append(title);
  if (task.problem) {
    card.append(el('div', task.problem, 'error'));
    return card;
  }
  card.append(el('div', `dataset: ${task.dataset}`, 'muted'));
  const levels = el('div', '', 'levels');
  task.levels.forEach((_, i) => {
    const row = el('label', `level ${i + 1} `);
    row.append(layerPicker(task, i + 1, state.layers));
    levels.append(row);
  });
  card.append(levels);
  const actions = el('div', '', 'actions');
  const running = state.job?.state === 'running';
  actions.append(button(running && state.job?.task === task.uri ? 'Training…' : 'Fine-tune', () => post({ type: 'train', uri: task.uri })));
  if (!task.active) actions.append(button('Use for classification', () => post({ type: 'activate', uri: task.uri })));
  card.append(actions);
  return card;
}

/** A loss curve per head as an SVG polyline (no library: a few dozen points). */
function lossCurve(job: JobView): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 200 60');
  svg.setAttribute('class', 'curve');
  const all = job.heads.flatMap((h) => h.losses);
  const max = Math.max(...all, 1e-9);
  const min = Math.min(...all, 0);
  job.heads.forEach((head, i) => {
    if (head.losses.length < 2) return;
    const line = document.createElementNS(ns, 'polyline');
    const points = head.losses.map((l, x) => `${(x / (head.losses.length - 1)) * 200},${58 - ((l - min) / (max - min || 1)) * 56}`);
    line.setAttribute('points', points.join(' '));
    line.setAttribute('class', `series s${i % 6}`);
    svg.append(line);
  });
  return svg;
}

function jobSection(job: JobView): HTMLElement {
  const box = el('section', '', 'job');
  box.append(el('h3', `Training ${job.state === 'running' ? '' : `(${job.state})`}`));
  const progress = el('div', '', 'progress');
  const fill = el('div', '', 'fill');
  fill.style.width = `${Math.round(job.fraction * 100)}%`;
  progress.append(fill);
  box.append(progress, el('div', job.line, 'muted'));
  if (job.state === 'running') box.append(button('Cancel', () => post({ type: 'cancel', jobId: job.jobId })));
  box.append(lossCurve(job));
  const table = el('table');
  const epochs = Math.max(0, ...job.heads.map((h) => h.devAccuracy.length));
  const head = el('tr');
  head.append(el('th', 'head'), ...Array.from({ length: epochs }, (_, i) => el('th', `ep ${i + 1}`)));
  table.append(head);
  job.heads.forEach((h, i) => {
    const tr = el('tr', '', h.name === 'flat' ? 'baseline' : '');
    const name = el('td');
    name.append(el('span', '■ ', `swatch s${i % 6}`), el('span', `${h.name}${h.layer !== undefined ? ` @${h.layer}` : ''}`));
    tr.append(name, ...h.devAccuracy.map((a) => el('td', `${(a * 100).toFixed(1)}%`)));
    table.append(tr);
  });
  box.append(el('div', 'dev token accuracy per epoch (flat = last-layer baseline)', 'muted'), table);
  return box;
}

function render(state: TaskPanelState): void {
  const header = el('section', '', 'model');
  header.append(el('div', `Model: ${state.model || 'not loaded yet'}`), el('div', `Device: ${state.device || '…'}${state.layers ? ` · ${state.layers} layers` : ''}`, 'muted'));
  const tasks = el('section');
  tasks.append(el('h3', 'Tasks'));
  if (state.tasks.length === 0) tasks.append(el('p', 'No task files (*.hdlm.json) in the workspace.', 'muted'));
  for (const t of state.tasks) tasks.append(taskCard(t, state));
  const datasets = el('section');
  datasets.append(el('h3', 'Datasets'), ...(state.datasets.length ? state.datasets.map((d) => el('div', d, 'muted')) : [el('p', 'No JSON Lines files.', 'muted')]));
  document.body.replaceChildren(header, ...(state.job ? [jobSection(state.job)] : []), tasks, datasets);
  vscode.setState(state);
  post({ type: 'rendered', tasks: state.tasks.length, job: state.job ? `${state.job.state}:${state.job.heads.length}` : '' });
}

window.addEventListener('message', (event: MessageEvent<HostToTaskPanel>) => {
  if (event.data.type === 'state') render(event.data.state);
});
const saved = vscode.getState() as TaskPanelState | undefined;
if (saved?.tasks) render(saved);
post({ type: 'ready' });
