// The task panel (sidebar): the model and device, the workspace's task files with their layer
// per level (changeable), their trained heads and last evaluation (HdLM vs the flat baseline),
// datasets, and the current job: progress, a loss curve per head and dev accuracy per epoch for
// fine-tuning, the metrics table for an evaluation (per level for a classification task; thought and
// answer accuracy with a few sample outputs for a thought-then-answer task). It only renders what the host sends and
// sends back what the user asks for.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
// Import-free (no Node, no server code): safe in the page's bundle.
import { formatPValue, signedFigure, signedPoints } from '../../engine/src/hdlm/metrics';
import { announce, component, Details, el, keyed, showContent, vsCodeApi } from './dom';
import { fileName, leftOut, scopeText, type EvaluatedScope } from './evaluationScope';
import { choiceLabel, layerChoices } from './layerChoices';
import type { EvaluationSummary, HeadSummary, HistoryEntry, HostToTaskPanel, JobView, LayerScan, PairedDifference, PairedMeanDifference, SincePrevious, TaskEntry, TaskPanelJob, TaskPanelState, TaskPanelToHost, ThoughtEvaluationSummary } from './messages';
import './taskPanel.css';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing());
const vscode = vsCodeApi<TaskPanelToHost>();
const post = (m: TaskPanelToHost): void => vscode.postMessage(m);

/**
 * A toolkit button. `key` (task or dataset URI and action) finds it again after a render, to
 * give it back the focus; `name` tells it from the same button on the other cards.
 */
function button(label: string, onClick: () => void, key: string, name = label, disabledFor?: string): HTMLElement {
  const b = keyed(component('vscode-button', label), key);
  if (name !== label) b.setAttribute('aria-label', name);
  // Disabled while job `disabledFor` runs; its Cancel takes the focus the button held.
  if (disabledFor !== undefined) {
    b.setAttribute('disabled', '');
    b.dataset['focusInstead'] = cancelKey(disabledFor);
  }
  b.addEventListener('click', onClick);
  return b;
}

/**
 * A link-like button: reachable by Tab, and unlike `<a href="#">` a click does not scroll the
 * sidebar to its top (VS Code's webview handles such links).
 */
function linkButton(label: string, onClick: () => void, key: string): HTMLButtonElement {
  const b = keyed(el('button', label, 'link'), key);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** Hover details of the render in progress (render starts a new set). */
let details = new Details();

/**
 * A dropdown of the task's model's layers and "last" for one level (the loaded model's count when
 * the task's cannot be read); changing it asks the host to edit the file.
 */
function layerPicker(task: TaskEntry, level: number, loadedLayers: number | undefined): HTMLElement {
  // null (or a level the list lacks): the file names no layer, and the picker says so.
  const current = task.levels[level - 1] ?? null;
  const dropdown = keyed(component('vscode-dropdown'), `${task.uri}#level${level}`);
  dropdown.className = 'layer-picker';
  dropdown.setAttribute('aria-label', `level ${level} layer of ${fileName(task.path)}`);
  // The "no layer set" entry comes first and is the one shown; its value is empty, and choosing
  // it (it cannot be chosen again once left) sends nothing.
  const choices = [...(current === null ? [null] : []), ...layerChoices(current, task.modelLayers ?? loadedLayers)];
  for (const choice of choices) {
    const option = component('vscode-option', choiceLabel(choice));
    option.setAttribute('value', choice === null ? '' : String(choice));
    if (choice === current) option.setAttribute('selected', '');
    dropdown.append(option);
  }
  dropdown.addEventListener('change', (e) => {
    const value = (e.target as HTMLSelectElement).value;
    if (value === '') return;
    post({ type: 'setLayer', uri: task.uri, level, layer: value === 'last' ? 'last' : Number(value) });
  });
  return dropdown;
}

/** What each task card's pickers show ("t.hdlm.json: layer 3, last"): the option marked selected, else the first, as the dropdown shows it. */
function levelPickers(): string[] {
  return [...document.querySelectorAll<HTMLElement>('.task')].flatMap((card) => {
    const pickers = [...card.querySelectorAll('.layer-picker')];
    if (pickers.length === 0) return [];
    const shown = pickers.map((p) => (p.querySelector('vscode-option[selected]') ?? p.querySelector('vscode-option'))?.textContent ?? '');
    return [`${card.dataset['path'] ?? ''}: ${shown.join(', ')}`];
  });
}

function taskCard(task: TaskEntry, state: TaskPanelState): HTMLElement {
  const card = el('div', '', `task${task.active ? ' active' : ''}`);
  card.dataset['path'] = task.path;
  const title = el('div', '', 'title');
  const link = linkButton(task.name || task.path, () => post({ type: 'open', uri: task.uri }), `${task.uri}#open`);
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
  if (task.heads.length > 0) card.append(headsTable(task.heads));
  else card.append(el('div', 'No trained heads yet: the model\'s own head stands in at every level.', 'muted'));
  card.append(...(task.notices ?? []).map((n) => el('div', n, 'warning notice')));
  card.append(...anyEvaluationTables(task), ...staleNote(task), ...historyTable(task.history ?? []), ...scanTables(task));
  const actions = el('div', '', 'actions');
  // The host names the job's task by the same URI string as the task's (Uri.toString on both
  // sides), so that Windows paths compare too. The server refuses a job on busy heads: while
  // one runs, the card's job buttons are disabled.
  const job = state.job?.state === 'running' && state.job.taskUri === task.uri ? state.job : undefined;
  const busy = job?.kind;
  const file = fileName(task.path);
  const action = (label: string, type: 'train' | 'evaluate' | 'scanLayers', name: string): HTMLElement => button(label, () => post({ type, uri: task.uri }), `${task.uri}#${type}`, `${name} ${file}`, job?.jobId);
  actions.append(action(busy === 'train' ? 'Training…' : 'Fine-tune', 'train', 'Fine-tune'));
  actions.append(action(busy === 'evaluate' ? 'Evaluating…' : 'Evaluate', 'evaluate', 'Evaluate'));
  // The examples the kept evaluation got wrong, and its figures per label, in documents beside the editor.
  if (task.evaluation || task.thoughtEvaluation) {
    actions.append(button('Mistakes', () => post({ type: 'showMistakes', uri: task.uri }), `${task.uri}#showMistakes`, `Mistakes of ${file}`));
    actions.append(button('Per label', () => post({ type: 'showLabelReport', uri: task.uri }), `${task.uri}#showLabelReport`, `Per label report of ${file}`));
  }
  actions.append(action(busy === 'scan' ? 'Scanning…' : 'Suggest layers', 'scanLayers', 'Suggest layers for'));
  // Using a task for classification puts its trained heads to work (hdlm.task).
  if (!task.active) {
    const label = task.heads.length > 0 ? 'Use these heads' : 'Use for classification';
    actions.append(button(label, () => post({ type: 'activate', uri: task.uri }), `${task.uri}#activate`, `${label}: ${file}`));
  }
  card.append(actions);
  return card;
}

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);
/** An ISO time as `YYYY-MM-DD hh:mm`. */
const when = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

/** A table cell: its text, or a shortened text with the whole of it on hover (and to a screen reader). */
type Cell = string | { text: string; title: string };

/** A column's header; `hidden` names a column of row names to a screen reader only. */
type Header = string | { hidden: string };

// Row names wrap at their spaces where the sidebar is narrow (taskPanel.css); never before this "−".
const HDLM_MINUS_FLAT = 'HdLM\u00a0− flat';

/** Model output can be long (an untrained head rambles): `max` characters, the rest on hover. */
function clipped(text: string, max = 40): Cell {
  return text.length <= max ? text : { text: `${text.slice(0, max - 1)}…`, title: text };
}

/** An element showing a cell's text; its detail (if any) on hover and to keyboard and screen reader. */
function withDetail<E extends HTMLElement>(node: E, c: Cell): E {
  node.textContent = typeof c === 'string' ? c : c.text;
  if (typeof c !== 'string') details.attach(node, c.title);
  return node;
}

/** A table under its caption; the first column names the rows (row headers). */
function table(headers: Header[], rows: { cells: Cell[]; className?: string }[], caption: Cell, className = ''): HTMLElement {
  const t = el('table');
  t.append(withDetail(el('caption', '', 'muted'), caption));
  const head = el('tr');
  head.append(
    ...headers.map((h) => {
      const th = el('th');
      th.scope = 'col';
      if (typeof h === 'string') th.textContent = h;
      else th.append(el('span', h.hidden, 'visually-hidden'));
      return th;
    }),
  );
  t.append(head);
  for (const r of rows) {
    const tr = el('tr', '', r.className ?? '');
    tr.append(
      ...r.cells.map((c, i) => {
        if (i > 0) return withDetail(el('td'), c);
        const th = withDetail(el('th'), c);
        th.scope = 'row';
        return th;
      }),
    );
    t.append(tr);
  }
  const box = el('div', '', `table ${className}`.trim());
  box.append(t);
  return box;
}

// When the heads were trained goes in the caption, each head's on hover: a date column made the
// table wider than the sidebar at its usual width, so that it scrolled sideways.
function headsTable(heads: HeadSummary[]): HTMLElement {
  const rows = heads.map((h) => ({
    cells: [{ text: h.name, title: `trained ${when(h.trainedAt)} UTC` }, String(h.layer), h.kind, h.labelScoring === 'choices' ? { text: pct(h.bestDevAccuracy), title: 'over the label tokens that are a choice among siblings (forced tokens are not counted)' } : pct(h.bestDevAccuracy)],
    className: h.name === 'flat' ? 'baseline' : '',
  }));
  return table(['head', 'layer', 'stored', 'best dev'], rows, `trained heads (dev token accuracy), ${trainedWhen(heads)}`);
}

/** When a task's heads were trained: one time (to the minute, UTC), or the first and the last. */
function trainedWhen(heads: readonly HeadSummary[]): string {
  const times = [...new Set(heads.map((h) => when(h.trainedAt)))].sort();
  return times.length === 1 ? `trained ${times[0]} UTC` : `trained ${times[0]} to ${times.at(-1)} UTC`;
}

/** A classification evaluation: per variant each level's accuracy and macro-F1, then the compute (computeTable). */
function evaluationTables(e: EvaluationSummary): HTMLElement[] {
  const depth = e.variants[0]?.levels.length ?? 0;
  const headers: Header[] = [{ hidden: 'variant' }, ...Array.from({ length: depth }, (_, d) => `L${d + 1} acc / F1`), 'joint'];
  const rows: { cells: Cell[]; className?: string }[] = e.variants.flatMap((v) => [
    {
      cells: [variantName(v), ...v.levels.map((l) => `${pct(l.accuracy)} / ${pct(l.macroF1)}`), pct(v.jointAccuracy)],
      className: v.name === 'flat' ? 'baseline' : '',
    },
    ...exitSharesRow(v),
  ]);
  // The paired row says whether a gap is more than chance (records from before it lack it).
  if (e.comparison) {
    const diff = (d: PairedDifference): Cell => differenceCell(d, `95 % CI ${signedPoints(d.ci95[0])} to ${signedPoints(d.ci95[1])} points; ${d.aOnly} examples right by HdLM only, ${d.bOnly} by flat only (exact McNemar test)`);
    rows.push({ cells: [HDLM_MINUS_FLAT, ...e.comparison.levels.map(diff), diff(e.comparison.joint)], className: 'muted paired' });
  }
  const since = sinceRow(e.sincePrevious, [...Array.from({ length: depth }, (_, d) => `level ${d + 1}`), 'joint']);
  if (since) rows.push(since);
  const beam = e.beam ? (e.beam.beam === 1 ? 'greedy' : `hierarchy beam ${e.beam.beam}, margin ${e.beam.margin}`) : 'greedy';
  const caption = scopeCaption(e, `evaluated on ${scopeText(e)}`, `${when(e.finishedAt)}, ${beam}`);
  return [table(headers, rows, caption), computeTable(e.variants, variantName, `compute per example; level-1 compute ${(e.level1ComputeRatio * 100).toFixed(0)}% of flat`)];
}

/**
 * The compute of each variant of an evaluation, in a table of its own: beside the accuracies it
 * made the table wider than the sidebar at its usual width, so that it scrolled sideways.
 */
function computeTable<V extends { name: string; msPerExample: number; layerPositionsPerExample: number }>(variants: readonly V[], label: (v: V) => Cell, caption: string): HTMLElement {
  const rows = variants.map((v) => ({
    cells: [label(v), v.msPerExample.toFixed(1), v.layerPositionsPerExample.toFixed(0)],
    className: v.name === 'flat' ? 'baseline' : '',
  }));
  return table([{ hidden: 'variant' }, 'ms', 'layers × positions'], rows, caption, 'compute');
}

/** "HdLM (4,6,8)", or "HdLM (sure at 4/6/8)" for HdLM exiting when sure, its threshold on hover. */
function variantName(v: EvaluationSummary['variants'][number]): Cell {
  const name = v.name === 'hdlm' ? 'HdLM' : 'flat';
  if (!v.exitWhenSure) return `${name} (${v.layers.join(',')})`;
  return { text: `${name} (sure at ${v.exitWhenSure.layers.join('/')})`, title: `each level decided at the first of layers ${v.exitWhenSure.layers.join(', ')} where its best label's probability reaches ${v.exitWhenSure.threshold} (exitWhenSure)` };
}

/**
 * Under a variant that exits when sure: per level, the shares of examples decided at each exit
 * layer, and on hover how many of those it got right (where the early decisions go wrong).
 */
function exitSharesRow(v: EvaluationSummary['variants'][number]): { cells: Cell[]; className: string }[] {
  const exiting = v.exitWhenSure;
  if (!exiting) return [];
  const at = exiting.layers.join(' / ');
  const percents = (row: (number | null)[]): string => `${row.map((x) => (x === null ? '–' : (100 * x).toFixed(0))).join(' / ')}\u00a0%`;
  const share = (row: number[], level: number): Cell => {
    const right = exiting.accuracyAt?.[level];
    return { text: percents(row), title: `share of examples decided at layer ${at}${right ? `; of those, right: ${percents(right)}` : ''}` };
  };
  return [{ cells: [{ text: `decided at ${at}`, title: `τ ${exiting.threshold}` }, ...exiting.decidedAt.map(share), ''], className: 'muted exits' }];
}

/** A paired difference as a cell: "+0.4 (p 0.27)", the interval and counts on hover. */
function differenceCell(d: PairedDifference, title: string): Cell {
  // A narrow column wraps before the p-value, not inside it.
  return { text: `${signedPoints(d.difference)} (${formatPValue(d.pValue).replace(' ', '\u00a0')})`, title };
}

/**
 * "HdLM − previous": HdLM now against the evaluation this one replaced, one cell per measure
 * (in `measures`' order, the columns' own), paired on the examples both measured. Undefined for
 * a first evaluation.
 */
function sinceRow(since: SincePrevious | undefined, measures: string[]): { cells: Cell[]; className: string } | undefined {
  if (!since) return undefined;
  const cell = (measure: string): Cell => {
    const c = since.changes.find((x) => x.measure === measure);
    if (!c) return '';
    const d = c.difference;
    return differenceCell(d, `${measure}: ${pct(c.previous)} → ${pct(c.now)} on the ${since.examples} examples both evaluations measured; 95 % CI ${signedPoints(d.ci95[0])} to ${signedPoints(d.ci95[1])} points; ${d.aOnly} fixed, ${d.bOnly} broken (exact McNemar test). Previous: ${when(since.finishedAt)}, ${fileName(since.file)}`);
  };
  return { cells: [{ text: 'HdLM\u00a0− previous', title: `HdLM now minus HdLM at the evaluation this one replaced (${when(since.finishedAt)})` }, ...measures.map(cell)], className: 'muted since' };
}

/**
 * `before`, then in parentheses what the evaluation left out or could not get right ("12 too
 * long, 3 lines skipped, 2 with unseen labels", each explained on hover) when anything, and
 * `inParentheses`; then `after`.
 */
function scopeCaption(e: EvaluatedScope, before: string, inParentheses: string, after = ''): Cell {
  const left = leftOut(e);
  return left ? { text: `${before} (${left.text}; ${inParentheses})${after}`, title: left.title } : `${before} (${inParentheses})${after}`;
}

/** Evaluations shown in a task card's history: the newest few (the report lists them all). */
const HISTORY_ROWS = 5;

/**
 * The task's last evaluations, newest first, once there are two to compare: when, on which file,
 * and the headline (joint or answer) of HdLM and flat; the year, the layers, the heads' training
 * time and the example count on hover (the sidebar is narrow).
 */
function historyTable(history: HistoryEntry[]): HTMLElement[] {
  if (history.length < 2) return [];
  const measure = history.at(-1)!.kind === 'thoughtThenAnswer' ? 'answer' : 'joint';
  const rows = history
    .slice(-HISTORY_ROWS)
    .reverse()
    .map((h) => {
      const examples = h.sampledFrom === undefined ? `${h.examples} examples` : `a sample of ${h.examples} of ${h.sampledFrom} examples`;
      const heads = h.headsTrainedAt ? `heads trained ${when(h.headsTrainedAt)}` : 'no trained heads';
      return {
        cells: [{ text: when(h.finishedAt).slice(5), title: `${when(h.finishedAt)}; layers ${h.layers.join(',')}; ${heads}` }, { text: fileName(h.file), title: `${examples} of ${h.file}` }, pct(h.hdlm[measure]), pct(h.flat[measure])],
        className: 'entry',
      };
    });
  return [table(['evaluated', 'file', `HdLM ${measure}`, 'flat'], rows, `evaluations, newest first (${history.length} kept)`, 'history')];
}

/**
 * The kept layer scan, per level: the suggested layer and the best one with their dev accuracy;
 * and, when the task's layers differ from the suggestion, a button that writes it into the file.
 */
function scanTables(task: TaskEntry): HTMLElement[] {
  const scan = task.layerScan;
  if (!scan) return [];
  // A scan of another number of levels (the file changed since) has no layers to offer it.
  if (scan.suggested.length !== task.levels.length) return [scanTable(scan), el('div', `This scan measured ${scan.suggested.length} levels; the task now has ${task.levels.length}: scan again.`, 'warning')];
  return [scanTable(scan), ...(layerList(scan.suggested) === layerList(task.levels) ? [] : [button(`Use layers ${layerList(scan.suggested)}`, () => post({ type: 'useScanLayers', uri: task.uri, layers: scan.suggested }), `${task.uri}#useScanLayers`, `Use layers ${layerList(scan.suggested)} in ${fileName(task.path)}`)])];
}

const layerList = (layers: readonly (number | 'last' | null)[]): string => layers.map((l) => l ?? 'none').join(', ');

function scanTable(scan: LayerScan): HTMLElement {
  const at = (level: LayerScan['levels'][number], layer: number): string => pct(level.cells.find((c) => c.layer === layer)?.accuracy);
  const rows = scan.levels.map((l) => ({
    cells: [scan.kind === 'thoughtThenAnswer' ? 'thought' : `L${l.level}`, { text: `${l.suggested} · ${at(l, l.suggested)}`, title: l.suggested === l.best ? 'the best layer itself' : `${signedPoints(l.suggestedVsBest.difference)} points against the best layer (${formatPValue(l.suggestedVsBest.pValue)})` }, `${l.best} · ${at(l, l.best)}`],
    className: 'scan-level',
  }));
  const measured = scan.kind === 'thoughtThenAnswer' ? 'dev thoughts right' : 'dev labels right given the ones above';
  return table(['level', 'suggested', 'best'], rows, `layer scan ${when(scan.finishedAt)}: ${measured} (${scan.examples.dev} examples)`, 'scan');
}

/** A warning when the kept evaluation measured heads that have been trained again since. */
function staleNote(task: TaskEntry): HTMLElement[] {
  const evaluated = (task.evaluation ?? task.thoughtEvaluation)?.finishedAt;
  const trained = task.heads.map((h) => h.trainedAt).reduce<string | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  if (!evaluated || !trained || trained <= evaluated) return [];
  return [el('div', `Measured before the heads were last trained (${when(trained)}): evaluate again for their figures.`, 'warning')];
}

/** Whichever evaluation a task or job carries (at most one of the two kinds). */
function anyEvaluationTables(from: { evaluation?: EvaluationSummary; thoughtEvaluation?: ThoughtEvaluationSummary }): HTMLElement[] {
  if (from.evaluation) return evaluationTables(from.evaluation);
  if (from.thoughtEvaluation) return thoughtEvaluationTables(from.thoughtEvaluation);
  return [];
}

/**
 * A thought-then-answer evaluation: per variant the thought and answer exact-match rates and the
 * compute, then the record's sample outputs, so a reader sees what the percentages mean.
 */
function thoughtEvaluationTables(e: ThoughtEvaluationSummary): HTMLElement[] {
  const name = (v: ThoughtEvaluationSummary['variants'][number]): string => `${v.name === 'hdlm' ? 'HdLM' : 'flat'} (${v.layers.join(',')})`;
  const rows: { cells: Cell[]; className?: string }[] = e.variants.map((v) => ({
    cells: [
      name(v),
      pct(v.thoughtAccuracy),
      pct(v.answerAccuracy),
      // Records written before the likelihoods were measured lack them.
      v.answerNll === undefined ? '–' : `${v.answerNll.toFixed(2)}${v.answerNllGoldThought === undefined ? '' : ` (${v.answerNllGoldThought.toFixed(2)})`}`,
    ],
    className: v.name === 'flat' ? 'baseline' : '',
  }));
  // HdLM minus flat on the same examples: is the thought's effect on the answer more than chance?
  const c = e.comparison;
  if (c) {
    // The NLL cell keeps the column's form: after HdLM's thought, then (after the gold thought).
    const nats = (x: number): string => signedFigure(x, 3);
    const own = c.answerNll ? `${nats(c.answerNll.difference)}, ${formatPValue(c.answerNll.pValue)}` : '–';
    const gold = c.answerNllGoldThought ? ` (${nats(c.answerNllGoldThought.difference)}, ${formatPValue(c.answerNllGoldThought.pValue)})` : '';
    const interval = (d: PairedMeanDifference | undefined, what: string): string => (d ? `${what}: 95 % CI ${nats(d.ci95[0])} to ${nats(d.ci95[1])} nats/token` : '');
    const apart = (d: PairedMeanDifference | undefined, where: string): string => (d ? `${where} (${d.examples} examples): ${nats(d.difference)}, ${interval(d, '').slice(2)}` : '');
    rows.push({
      cells: [
        HDLM_MINUS_FLAT,
        '',
        differenceCell(c.answer, `${c.answer.aOnly} answers right by HdLM only, ${c.answer.bOnly} by flat only (exact McNemar test)`),
        {
          text: `${own}${gold}`,
          title: [
            interval(c.answerNll, "after HdLM's thought"),
            interval(c.answerNllGoldThought, 'after the gold thought'),
            // Records from before 2026-12-06 lack the split by whether the thought was right.
            apart(c.answerNllByThought?.right, "where HdLM's thought was right"),
            apart(c.answerNllByThought?.wrong, 'where it was wrong'),
          ]
            .filter((t) => t !== '')
            .join('; '),
        },
      ],
      className: 'muted paired',
    });
  }
  const since = sinceRow(e.sincePrevious, ['thought', 'answer']);
  if (since) rows.push(since);
  // Records written before the likelihoods were measured lack likelihoodExamples.
  const nll = e.likelihoodExamples === undefined ? '' : `; answer NLL: nats/token of the right answer (after the right thought), ${e.likelihoodExamples} examples`;
  const caption = scopeCaption(e, scopeText(e), when(e.finishedAt), `; exact match${nll}; flat: no thought`);
  const metrics = [table([{ hidden: 'variant' }, 'thought', 'answer', 'answer NLL'], rows, caption), computeTable(e.variants, name, 'compute per example')];
  if (e.samples.length === 0) return metrics;
  const samples = e.samples.map((s) => ({ cells: [clipped(s.input), clipped(`${s.thought} → ${s.answer}`), clipped(`${s.hdlm.thought} → ${s.hdlm.answer}`), clipped(s.flat.answer)] }));
  return [...metrics, table(['input', 'expected', 'HdLM', 'flat'], samples, 'samples (thought → answer)', 'samples')];
}

/** A loss curve per head as an SVG polyline (no library: a few dozen points). */
function lossCurve(job: JobView): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 200 60');
  svg.setAttribute('class', 'curve');
  // Its text alternative: each head's last loss (the curves' end, what a reader looks for).
  svg.setAttribute('role', 'img');
  const last = job.heads.filter((h) => h.losses.length > 0).map((h) => `${headName(h)} ${h.losses.at(-1)!.toFixed(3)}`);
  svg.setAttribute('aria-label', `training loss per head, last: ${last.join('; ') || 'none yet'}`);
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

const headName = (h: JobView['heads'][number]): string => `${h.name}${h.layer !== undefined ? ` @${h.layer}` : ''}`;

const cancelKey = (jobId: string): string => `${jobId}#cancel`;

const JOB_NAMES = { train: 'Training', evaluate: 'Evaluation', scan: 'Layer scan' } as const;

function jobSection(job: TaskPanelJob): HTMLElement {
  const box = el('section', '', 'job');
  box.append(el('h3', `${JOB_NAMES[job.kind]} ${job.state === 'running' ? '' : `(${job.state})`}`));
  const progress = el('div', '', 'progress');
  const percent = Math.round(job.fraction * 100);
  progress.setAttribute('role', 'progressbar');
  progress.setAttribute('aria-label', `${JOB_NAMES[job.kind]} of ${fileName(job.task)}`);
  progress.setAttribute('aria-valuemin', '0');
  progress.setAttribute('aria-valuemax', '100');
  progress.setAttribute('aria-valuenow', String(percent));
  const fill = el('div', '', 'fill');
  fill.style.width = `${percent}%`;
  progress.append(fill);
  box.append(progress, el('div', job.line, 'muted'));
  // Another window's job too: this window's server asks the one that runs it.
  if (job.state === 'running') box.append(button('Cancel', () => post({ type: 'cancel', jobId: job.jobId }), cancelKey(job.jobId), `Cancel ${JOB_NAMES[job.kind].toLowerCase()} of ${fileName(job.task)}`));
  if (job.kind === 'evaluate') {
    box.append(...anyEvaluationTables(job));
    return box;
  }
  if (job.kind === 'scan') {
    if (job.layerScan) box.append(scanTable(job.layerScan));
    return box;
  }
  // Nothing trained yet (still in the backbone pass, or stopped before the first epoch).
  if (job.heads.length === 0) return box;
  box.append(lossCurve(job));
  const table = el('table');
  table.append(el('caption', 'dev token accuracy per epoch (flat = last-layer baseline)', 'muted'));
  const epochs = Math.max(0, ...job.heads.map((h) => h.devAccuracy.length));
  const head = el('tr');
  const column = (text: string): HTMLElement => Object.assign(el('th', text), { scope: 'col' });
  head.append(column('head'), ...Array.from({ length: epochs }, (_, i) => column(`ep ${i + 1}`)));
  table.append(head);
  job.heads.forEach((h, i) => {
    const tr = el('tr', '', h.name === 'flat' ? 'baseline' : '');
    const name = Object.assign(el('th'), { scope: 'row' });
    // The swatch ties the row to its curve by colour; a screen reader would say "black square".
    const swatch = el('span', '■ ', `swatch s${i % 6}`);
    swatch.setAttribute('aria-hidden', 'true');
    name.append(swatch, el('span', headName(h)));
    tr.append(name, ...h.devAccuracy.map((a) => el('td', `${(a * 100).toFixed(1)}%`)));
    table.append(tr);
  });
  box.append(table);
  return box;
}

/** A dataset: its path (click to open it) and a button that makes a task file from it. */
function datasetRow(d: TaskPanelState['datasets'][number], hasTasks: boolean): HTMLElement {
  const row = el('div', '', 'dataset');
  const open = linkButton(d.path, () => post({ type: 'open', uri: d.uri }), `${d.uri}#open`);
  const file = fileName(d.path);
  // Evaluating on a file needs a task to evaluate: offered once the workspace has one.
  const evaluate = hasTasks ? [button('Evaluate on it', () => post({ type: 'evaluateOnFile', uri: d.uri }), `${d.uri}#evaluateOnFile`, `Evaluate a task on ${file}`)] : [];
  row.append(open, button('New task', () => post({ type: 'createTask', uri: d.uri }), `${d.uri}#createTask`, `New task from ${file}`), ...evaluate);
  return row;
}

/** The captions of the tables wider than the panel, which scroll sideways (the layout is computed on reading scrollWidth). */
function wideTables(): string[] {
  return [...document.querySelectorAll<HTMLElement>('.table')].filter((box) => box.scrollWidth > box.clientWidth + 1).map((box) => box.querySelector('caption')?.textContent ?? '');
}

function render(state: TaskPanelState): void {
  details = new Details();
  const header = el('section', '', 'model');
  header.append(el('div', `Model: ${state.model || 'not loaded yet'}`), el('div', `Device: ${state.device || '…'}${state.layers ? ` · ${state.layers} layers` : ''}`, 'muted'));
  const tasks = el('section');
  tasks.append(el('h3', 'Tasks'));
  if (state.tasks.length === 0) tasks.append(el('p', 'No task files (*.hdlm.json) in the workspace: make one from a dataset below.', 'muted'));
  for (const t of state.tasks) tasks.append(taskCard(t, state));
  const datasets = el('section');
  datasets.append(el('h3', 'Datasets'), ...(state.datasets.length ? state.datasets.map((d) => datasetRow(d, state.tasks.length > 0)) : [el('p', 'No JSON Lines files.', 'muted')]));
  const recent = el('section');
  if (state.recentJobs.length > 0) recent.append(el('h3', 'Earlier jobs'), ...state.recentJobs.map((j) => el('div', `${j.jobId} · ${j.task} · ${j.state}: ${j.line}`, 'muted')));
  const problem = state.problem ? [el('div', state.problem, 'error')] : [];
  showContent(header, ...problem, ...(state.job ? [jobSection(state.job)] : []), tasks, datasets, recent, details.box());
  // The job's line (epoch, loss, examples done) to a screen reader as it changes.
  announce(state.job ? `${JOB_NAMES[state.job.kind]} ${state.job.state === 'running' ? '' : `${state.job.state}: `}${state.job.line}` : '');
  vscode.setState(state);
  post({
    type: 'rendered',
    tasks: state.tasks.length,
    job: state.job ? `${state.job.kind}:${state.job.state}:${state.job.heads.length}` : '',
    jobId: state.job?.jobId ?? '',
    heads: state.tasks.reduce((n, t) => n + t.heads.length, 0),
    evaluations: state.tasks.filter((t) => t.evaluation ?? t.thoughtEvaluation).length,
    jobThoughtSamples: state.job?.thoughtEvaluation?.samples.length ?? 0,
    taskThoughtSamples: state.tasks.reduce((n, t) => n + (t.thoughtEvaluation?.samples.length ?? 0), 0),
    pairedRows: document.querySelectorAll('tr.paired').length,
    sinceRows: document.querySelectorAll('tr.since').length,
    historyRows: document.querySelectorAll('.history tr.entry').length,
    scanRows: document.querySelectorAll('.scan tr.scan-level').length,
    exitRows: document.querySelectorAll('tr.exits').length,
    notices: document.querySelectorAll('.notice').length,
    wideTables: wideTables(),
    levelPickers: levelPickers(),
  });
}

window.addEventListener('message', (event: MessageEvent<HostToTaskPanel>) => {
  if (event.data.type === 'state') render(event.data.state);
});
const saved = vscode.getState() as TaskPanelState | undefined;
// State saved by an older version of the page may lack fields: render it only when complete.
if (saved?.tasks && Array.isArray(saved.recentJobs) && saved.datasets.every((d) => typeof d === 'object')) render(saved);
post({ type: 'ready' });
