// The task panel's host side: a webview view in the HdLM sidebar. It gathers the state (status,
// task files, datasets, the training job from hdlm/trainProgress), sends it to the page, and
// carries out what the page asks: fine-tune, cancel, open a file, use a task, change a level's
// layer (an edit of the task file that keeps its comments and layout, then a save).
import { applyEdits, modify, parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import type { HostToTaskPanel, JobView, TaskEntry, TaskPanelState, TaskPanelToHost } from '../../webview/src/messages';
import type { ServerConnection } from './serverConnection';
import type { StatusBar } from './statusBar';
import { webviewHtml, webviewOptions } from './webviewHtml';

export const TASK_PANEL_VIEW = 'hdlm.tasks';

export class TaskPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private job: JobView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Fires with what the page reports it rendered (tests read it through the extension's API). */
  readonly onDidRender = new vscode.EventEmitter<{ tasks: number; job: string }>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly server: ServerConnection,
    private readonly statusBar: StatusBar,
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
      server.onTrainProgress((p) => this.onProgress(p)),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = webviewOptions(this.extensionUri);
    view.webview.html = webviewHtml(view.webview, this.extensionUri, 'taskPanel', 'HdLM Tasks');
    this.disposables.push(view.webview.onDidReceiveMessage((m: TaskPanelToHost) => void this.receive(m)));
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  /** Rebuilds and sends the state, coalescing bursts of changes. */
  refresh(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.send(), 100);
  }

  private async send(): Promise<void> {
    if (!this.view) return;
    const message: HostToTaskPanel = { type: 'state', state: await this.state() };
    void this.view.webview.postMessage(message);
  }

  private async state(): Promise<TaskPanelState> {
    const status = this.statusBar.status;
    const active = vscode.workspace.getConfiguration('hdlm').get<string>('task', '');
    const taskFiles = await vscode.workspace.findFiles('**/*.hdlm.json', '**/node_modules/**', 100);
    const tasks = await Promise.all(taskFiles.map((uri) => readTask(uri, active)));
    const datasets = (await vscode.workspace.findFiles('**/*.jsonl', '**/node_modules/**', 100)).map((u) => vscode.workspace.asRelativePath(u));
    return { model: status.model ?? '', device: status.device, layers: status.layers, tasks, datasets, job: this.job };
  }

  private async receive(message: TaskPanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        return this.send();
      case 'train':
        await vscode.commands.executeCommand('hdlm.fineTune', vscode.Uri.parse(message.uri));
        return;
      case 'cancel':
        await this.server.request(proto.cancelJob, { jobId: message.jobId });
        return;
      case 'open':
        await vscode.window.showTextDocument(vscode.Uri.parse(message.uri));
        return;
      case 'activate':
        await vscode.workspace.getConfiguration('hdlm').update('task', vscode.workspace.asRelativePath(vscode.Uri.parse(message.uri)), vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
        return;
      case 'setLayer':
        await vscode.commands.executeCommand('hdlm.setLevelLayer', vscode.Uri.parse(message.uri), message.level, message.layer);
        return;
      case 'rendered':
        this.onDidRender.fire({ tasks: message.tasks, job: message.job });
        return;
    }
  }

  private onProgress({ jobId, event }: proto.TrainProgressParams): void {
    if (!this.job || this.job.jobId !== jobId) this.job = { jobId, task: '', state: 'running', line: 'starting', fraction: 0, heads: [] };
    const job = this.job;
    const head = (name: string): JobView['heads'][number] => {
      let h = job.heads.find((x) => x.name === name);
      if (!h) job.heads.push((h = { name, layer: undefined, losses: [], devAccuracy: [] }));
      return h;
    };
    switch (event.kind) {
      case 'stage':
        job.line = event.message;
        break;
      case 'features':
        job.fraction = event.done / Math.max(1, event.total);
        job.line = `backbone pass ${event.done}/${event.total} · ${event.examplesPerS.toFixed(0)} ex/s · ETA ${event.etaS.toFixed(0)} s`;
        break;
      case 'progress':
        job.fraction = event.examples / Math.max(1, event.epochExamples);
        job.line = `${event.head} epoch ${event.epoch} · ${event.examplesPerS.toFixed(0)} rows/s · ETA ${event.etaS.toFixed(0)} s`;
        head(event.head).losses.push(event.loss);
        break;
      case 'epoch':
        head(event.head).devAccuracy.push(event.devAccuracy);
        head(event.head).losses.push(event.loss);
        break;
      case 'report':
        job.state = 'done';
        job.fraction = 1;
        job.line = `done in ${(event.report.seconds.features + event.report.seconds.training).toFixed(0)} s on ${event.report.examples.train} examples`;
        for (const h of event.report.heads) head(h.name).layer = h.layer;
        break;
      case 'failed':
        job.state = 'failed';
        job.line = event.message;
        break;
      case 'cancelled':
        job.state = 'cancelled';
        job.line = 'cancelled; the last saved heads are kept';
        break;
      case 'saved':
        break;
    }
    this.refresh();
  }


}

/** A task file as the panel lists it; a file that does not parse is listed with its problem. */
async function readTask(uri: vscode.Uri, active: string): Promise<TaskEntry> {
  const path = vscode.workspace.asRelativePath(uri);
  const base = { uri: uri.toString(), path, active: active !== '' && (active === path || uri.fsPath.endsWith(active)) };
  try {
    const raw = parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as Record<string, unknown> | undefined;
    const levels = Array.isArray(raw?.['levels']) ? (raw['levels'] as { layer?: unknown }[]).map((l) => (l?.layer === 'last' ? 'last' : Number(l?.layer))) : [];
    const dataset = typeof raw?.['dataset'] === 'string' ? raw['dataset'] : JSON.stringify((raw?.['dataset'] as { train?: unknown } | undefined)?.train ?? '');
    return { ...base, name: String(raw?.['name'] ?? ''), dataset, levels };
  } catch (err) {
    return { ...base, name: '', dataset: '', levels: [], problem: err instanceof Error ? err.message : String(err) };
  }
}

/** Sets `levels[level-1].layer` in a task file, keeping comments and layout, and saves it. */
export async function setLevelLayer(uri: vscode.Uri, level: number, layer: number | 'last'): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const edits = modify(doc.getText(), ['levels', level - 1, 'layer'], layer, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
  const text = applyEdits(doc.getText(), edits);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
  if (await vscode.workspace.applyEdit(edit)) await doc.save();
}
