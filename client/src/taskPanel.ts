// The task panel's host side: a webview view in the HdLM sidebar. It gathers the state (status,
// task files with their trained heads and last evaluation from hdlm/taskSummary, datasets, the
// jobs from hdlm/jobs), sends it to the page, and carries out what the page asks: fine-tune,
// evaluate, cancel, open a file, make a task from a dataset, use a task, change a level's layer (an edit of the task file
// that keeps its comments and layout, then a save). The jobs belong to the server, which keeps
// them across panel closes and its own restarts; the panel only shows them.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { parseTaskText, TaskFileError } from '../../engine/src/hdlm/taskFile';
import type { HostToTaskPanel, TaskEntry, TaskPanelState, TaskPanelToHost } from '../../webview/src/messages';
import type { CancelOutcome } from './jobsMenu';
import { panelFailedNotice } from './notices';
import { checkPanelMessage, stateUris } from './panelMessages';
import { RequestErrors } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import type { StatusBar } from './statusBar';
import { layerProblem, levelLayers, withLevelLayers, type LevelLayer } from './taskLevels';
import { settingFor } from './selectCommands';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { isSettingFor } from './workspacePaths';
import { errorMessage } from '../../engine/src/errorMessage';

export const TASK_PANEL_VIEW = 'hdlm.tasks';

/** What the page reports it rendered: tasks listed, the job shown (`kind:state:heads`), heads and evaluations listed. */
export interface TaskPanelRender {
  tasks: number;
  job: string;
  /** Id of the job shown, '' if none: tells a new job from an earlier one in the same state. */
  jobId: string;
  heads: number;
  evaluations: number;
  /** Sample rows of the thought-then-answer evaluation shown in the job section. */
  jobThoughtSamples: number;
  /** Sample rows of thought-then-answer evaluations shown in the task cards (from evaluation.json). */
  taskThoughtSamples: number;
  /** "HdLM − flat" rows shown under evaluation tables, of either task kind (the paired comparison). */
  pairedRows: number;
  /** "HdLM − previous" rows (an evaluation that replaced an earlier one), of either task kind. */
  sinceRows: number;
  /** Rows of the task cards' evaluation history tables. */
  historyRows: number;
  /** Level rows of the layer scan tables, in the task cards and the job section. */
  scanRows: number;
  /** "decided at" rows under evaluations of HdLM exiting when sure (exitWhenSure). */
  exitRows: number;
  /** Notices shown in the task cards (what a task cannot follow yet). */
  notices: number;
  /** Captions of the tables wider than the panel (they scroll sideways): none at the sidebar's usual width. */
  wideTables: string[];
  /** What each task card's level pickers show, one entry per task: "bare.hdlm.json: layer 3, last". */
  levelPickers: string[];
}

export class TaskPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** The current view's own listeners: replaced when VS Code resolves the view again. */
  private viewListeners: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The URIs of the last state sent: the only ones the page's messages may name (panelMessages.ts). */
  private sentUris = new Set<string>();
  /** Fires with what the page reports it rendered (tests read it through the extension's API). */
  readonly onDidRender = new vscode.EventEmitter<TaskPanelRender>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly server: ServerConnection,
    private readonly statusBar: StatusBar,
    private readonly output: vscode.LogOutputChannel,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.{hdlm.json,jsonl}');
    this.disposables.push(
      watcher,
      this.onDidRender,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidChange(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      statusBar.onDidChange(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('hdlm') && this.refresh()),
      server.onJobProgress(() => this.refresh()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    // A view resolved again (the sidebar closed and reopened) replaces the old one: the old one's
    // listeners go with it, so that each message is handled once.
    this.disposeView();
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'taskPanel', 'HdLM Tasks');
    this.viewListeners.push(
      view.webview.onDidReceiveMessage((raw: unknown) => {
        const checked = checkPanelMessage(raw, this.sentUris);
        if ('problem' in checked) return this.output.warn(`task panel: ignored a message from the page: ${checked.problem}`);
        const m = checked.message;
        void this.receive(m).catch((err: unknown) => this.failed(m, err));
      }),
      // Shown again after being hidden: what happened meanwhile is asked afresh.
      view.onDidChangeVisibility(() => view.visible && this.refresh()),
      view.onDidDispose(() => this.view === view && this.disposeView()),
    );
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.disposeView();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private disposeView(): void {
    this.view = undefined;
    for (const d of this.viewListeners.splice(0)) d.dispose();
  }

  /** A panel action that failed (a server that is restarting, an edit that could not be made) is said, not lost. */
  private failed(message: TaskPanelToHost, err: unknown): void {
    const error = errorMessage(err);
    this.output.error(`task panel: ${message.type} failed: ${error}`);
    RequestErrors.notify(panelFailedNotice(message, error), this.output);
  }

  /** Rebuilds and sends the state, coalescing bursts of changes. */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.send(), 100);
  }

  private async send(): Promise<void> {
    if (!this.view) return;
    const message: HostToTaskPanel = { type: 'state', state: await this.state() };
    this.sentUris = stateUris(message.state);
    void this.view.webview.postMessage(message);
  }

  private async state(): Promise<TaskPanelState> {
    const status = this.statusBar.status;
    const active = vscode.workspace.getConfiguration('hdlm').get<string>('task', '');
    const taskFiles = await vscode.workspace.findFiles('**/*.hdlm.json', '**/node_modules/**', 100);
    const problems: string[] = [];
    const tasks = await Promise.all(taskFiles.map((uri) => this.readTask(uri, active, problems)));
    const datasets = (await vscode.workspace.findFiles('**/*.jsonl', '**/node_modules/**', 100)).map((u) => ({ path: vscode.workspace.asRelativePath(u), uri: u.toString() }));
    const jobs = await this.server.request(proto.jobs, {}).then(
      (r) => r.jobs,
      (err: unknown) => {
        problems.push(`jobs: ${errorMessage(err)}`);
        return [];
      },
    );
    const running = jobs.find((j) => j.state === 'running') ?? jobs[0];
    const job = running && { ...running, taskUri: vscode.Uri.file(running.task).toString() };
    const recentJobs = jobs.filter((j) => j !== running).slice(0, 5).map(({ jobId, kind, task, state, line }) => ({ jobId, kind, task: vscode.workspace.asRelativePath(task), state, line }));
    return { model: status.model ?? '', device: status.device, layers: status.layers, tasks, datasets, job, recentJobs, problem: problems[0] };
  }

  /** A task file as the panel lists it; a file that does not parse is listed with its problem. */
  private async readTask(uri: vscode.Uri, active: string, problems: string[]): Promise<TaskEntry> {
    const entry = await readTask(uri, active);
    if (entry.problem) return entry;
    try {
      const summary = await this.server.request(proto.taskSummary, { task: uri.fsPath });
      return { ...entry, ...(summary.modelLayers !== undefined ? { modelLayers: summary.modelLayers } : {}), heads: summary.heads, evaluation: summary.evaluation, thoughtEvaluation: summary.thoughtEvaluation, history: summary.history, layerScan: summary.layerScan, notices: summary.notices ?? [] };
    } catch (err) {
      // An invalid task file is already named by its diagnostics; other failures go to the panel.
      const message = errorMessage(err);
      if (!message.includes(uri.fsPath)) problems.push(`heads: ${message}`);
      return entry;
    }
  }

  private async receive(message: TaskPanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        return this.send();
      case 'train':
        await vscode.commands.executeCommand('hdlm.fineTune', vscode.Uri.parse(message.uri));
        return;
      case 'evaluate':
        await vscode.commands.executeCommand('hdlm.evaluate', vscode.Uri.parse(message.uri));
        return;
      case 'showMistakes':
        await vscode.commands.executeCommand('hdlm.showMistakes', vscode.Uri.parse(message.uri));
        return;
      case 'showLabelReport':
        await vscode.commands.executeCommand('hdlm.showLabelReport', vscode.Uri.parse(message.uri));
        return;
      case 'cancel': {
        // Through the command: another window's job is asked of its server and followed to its end.
        const outcome = await vscode.commands.executeCommand<CancelOutcome | undefined>('hdlm.cancelJob', message.jobId);
        // This window gets no progress of another window's job: the panel shows it again once it ended.
        void outcome?.ended?.then(() => this.refresh());
        return;
      }
      case 'open':
        await vscode.window.showTextDocument(vscode.Uri.parse(message.uri));
        return;
      case 'createTask':
        await vscode.commands.executeCommand('hdlm.createTask', vscode.Uri.parse(message.uri));
        return;
      case 'evaluateOnFile':
        await vscode.commands.executeCommand('hdlm.evaluateOnFile', vscode.Uri.parse(message.uri));
        return;
      case 'activate':
        await vscode.commands.executeCommand('hdlm.selectTask', settingFor(vscode.Uri.parse(message.uri)));
        return;
      case 'setLayer':
        await vscode.commands.executeCommand('hdlm.setLevelLayer', vscode.Uri.parse(message.uri), message.level, message.layer);
        return;
      case 'scanLayers':
        await vscode.commands.executeCommand('hdlm.scanLayers', vscode.Uri.parse(message.uri));
        return;
      case 'useScanLayers':
        await setLevelLayers(vscode.Uri.parse(message.uri), new Map(message.layers.map((layer, i) => [i + 1, layer])));
        return;
      case 'rendered': {
        const { type: _type, ...render } = message;
        this.onDidRender.fire(render);
        return;
      }
    }
  }
}

/**
 * The task file's own fields; a file that does not parse is listed with its problem. Read by
 * parseTaskText, as the command line and the diagnostics read it: a syntax error or a key given
 * twice is listed as they word it (by line and column), not shown with layers the task would not
 * run with.
 */
async function readTask(uri: vscode.Uri, active: string): Promise<TaskEntry> {
  const path = vscode.workspace.asRelativePath(uri);
  const base = { uri: uri.toString(), path, active: isSettingFor(active, uri.fsPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath), heads: [] };
  try {
    const raw = parseTaskText(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), uri.fsPath) as Record<string, unknown> | undefined;
    const levels = levelLayers(raw);
    const split = raw?.['dataset'] as { train?: unknown } | undefined;
    const dataset = typeof raw?.['dataset'] === 'string' ? raw['dataset'] : typeof split?.train === 'string' ? split.train : '';
    const kind = raw?.['kind'] === 'thoughtThenAnswer' ? 'thoughtThenAnswer' : 'classify';
    return { ...base, name: String(raw?.['name'] ?? ''), kind, dataset, levels };
  } catch (err) {
    const problem = err instanceof TaskFileError ? err.problems.join('; ') : errorMessage(err);
    return { ...base, name: '', kind: 'classify', dataset: '', levels: [], problem };
  }
}

/** Sets level `level`'s layer in a task file, keeping comments and layout, and saves it. */
export async function setLevelLayer(uri: vscode.Uri, level: number, layer: LevelLayer): Promise<boolean> {
  return setLevelLayers(uri, new Map([[level, layer]]));
}

/**
 * Sets several levels' layers in one edit and one save (each level alone could leave the file
 * with layers out of order in between), keeping comments and layout; whether it was saved. A
 * level or layer that is not one (from a script, or a page that sent NaN) is refused, naming the
 * file, before anything is written.
 */
export async function setLevelLayers(uri: vscode.Uri, layers: ReadonlyMap<number, LevelLayer>): Promise<boolean> {
  for (const [level, layer] of layers) {
    const problem = layerProblem(level, layer);
    if (problem) throw new Error(`${vscode.workspace.asRelativePath(uri)}: ${problem}; the file was not changed`);
  }
  const doc = await vscode.workspace.openTextDocument(uri);
  const text = withLevelLayers(doc.getText(), layers);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
  return (await vscode.workspace.applyEdit(edit)) && (await doc.save());
}
