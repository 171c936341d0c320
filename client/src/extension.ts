// Extension entry point: creates the output channel, status bar and server connection, and
// registers commands. Returns a small API (the extension's exports) that scripts and the
// integration tests read through `vscode.extensions.getExtension(...).exports`.
import * as vscode from 'vscode';
import type { StatusParams, ThoughtParams } from '../../server/src/protocol';
import { classifyPickShown } from './classifyCommand';
import { registerCommands } from './commands';
import { LayerView, registerLayerView, type RenderedSummary } from './layerView';
import { RequestErrors, type ShownError } from './requestErrors';
import { ServerConnection } from './serverConnection';
import { watchSettings } from './settings';
import { StatusBar } from './statusBar';
import { statusMenuCommand } from './jobsMenu';
import { setLevelLayer, TASK_PANEL_VIEW, TaskPanel, type TaskPanelRender } from './taskPanel';
import { TeeOutputChannel } from './teeOutputChannel';
import { RESTRICTED_SETTINGS, restrictedModeNotice } from './trust';
import { ThoughtDecorations } from './thoughtDecorations';
import { insertOutcomes, type InsertOutcome } from './trackedText';

export interface HdlmApi {
  /** The last status shown in the status bar. */
  status(): StatusParams;
  /** The status bar item's current text. */
  statusBarText(): string;
  /** Resolves with the first status for which `predicate` holds (checked now and on every change). */
  waitForStatus(predicate: (s: StatusParams) => boolean, timeoutMs: number): Promise<StatusParams>;
  /** Name of the output channel holding the server's log. */
  readonly outputChannelName: string;
  /** Lines written to that channel so far. */
  outputText(): string;
  /** Resolves with the next thought behind an inline completion. */
  nextThought(timeoutMs: number): Promise<ThoughtParams>;
  /** Resolves with the task panel's next report of what it rendered. */
  nextTaskPanelRender(timeoutMs: number): Promise<TaskPanelRender>;
  /**
   * Resolves with the first later render of the task panel for which `predicate` holds. One
   * listener watches every render, so renders that come in a burst are not missed.
   */
  waitForTaskPanelRender(predicate: (r: TaskPanelRender) => boolean, timeoutMs: number): Promise<TaskPanelRender>;
  /** Resolves with the layer view's next report of what it rendered. */
  nextLayerViewRender(timeoutMs: number): Promise<RenderedSummary>;
  /** Resolves with the first later render of the layer view for which `predicate` holds. */
  waitForLayerViewRender(predicate: (r: RenderedSummary) => boolean, timeoutMs: number): Promise<RenderedSummary>;
  /** Resolves with the next error notice a request's failure shows, with its buttons. */
  nextErrorShown(timeoutMs: number): Promise<ShownError>;
  /** Resolves with the items of the next classification quick pick shown. */
  nextClassifyPick(timeoutMs: number): Promise<vscode.QuickPickItem[]>;
  /** Resolves with what the next Insert answer / Insert as comment did: the line written at, or why it was refused. */
  nextInsertOutcome(timeoutMs: number): Promise<InsertOutcome>;
}

export function activate(context: vscode.ExtensionContext): HdlmApi {
  const output = new TeeOutputChannel(vscode.window.createOutputChannel('HdLM', { log: true }));
  const statusBar = new StatusBar();
  const thoughts = new ThoughtDecorations();
  const server = new ServerConnection(context.asAbsolutePath('dist/server.js'), output, statusBar, thoughts);
  const taskPanel = new TaskPanel(context.extensionUri, server, statusBar, output);
  context.subscriptions.push(
    taskPanel,
    vscode.window.registerWebviewViewProvider(TASK_PANEL_VIEW, taskPanel),
    // The panel's layer pickers go through this command (also usable from keybindings and tests).
    vscode.commands.registerCommand('hdlm.setLevelLayer', (uri: vscode.Uri, level: number, layer: number | 'last') => setLevelLayer(uri, level, layer)),
    // The status bar item's click: the jobs, the panel, model, device and server actions.
    vscode.commands.registerCommand('hdlm.showStatusMenu', () => statusMenuCommand(server, output, statusBar.status)),
  );
  context.subscriptions.push(output, statusBar, thoughts, server, insertOutcomes, watchSettings(), ...registerCommands(context.extensionPath, server, output), ...registerLayerView(context, server, output, statusBar));
  output.info(`HdLM ${String(context.extension.packageJSON.version)} activating`);
  const restricted = restrictedModeNotice();
  if (restricted) output.info(restricted);
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      output.info(`workspace trusted: its ${RESTRICTED_SETTINGS.join(' and ')} settings apply now`);
      server.settingsChanged();
    }),
  );
  server.start().catch(() => undefined); // Failure is shown by the status bar and the log.

  return {
    status: () => statusBar.status,
    statusBarText: () => statusBar.text,
    waitForStatus: (predicate, timeoutMs) => statusBar.waitFor(predicate, timeoutMs),
    outputChannelName: output.name,
    outputText: () => output.text(),
    nextTaskPanelRender: (timeoutMs) => nextEvent(taskPanel.onDidRender.event, timeoutMs, 'the task panel rendered nothing'),
    waitForTaskPanelRender: (predicate, timeoutMs) => nextEvent(taskPanel.onDidRender.event, timeoutMs, 'the task panel rendered nothing of the kind', predicate),
    waitForLayerViewRender: (predicate, timeoutMs) => nextEvent(LayerView.onDidRender.event, timeoutMs, 'the layer view rendered nothing of the kind', predicate),
    nextThought: (timeoutMs) => nextEvent(thoughts.onDidReceive, timeoutMs, 'no thought'),
    nextLayerViewRender: (timeoutMs) => nextEvent(LayerView.onDidRender.event, timeoutMs, 'the layer view rendered nothing'),
    nextErrorShown: (timeoutMs) => nextEvent(RequestErrors.onDidShow.event, timeoutMs, 'no error shown'),
    nextClassifyPick: (timeoutMs) => nextEvent(classifyPickShown.event, timeoutMs, 'no classification shown'),
    nextInsertOutcome: (timeoutMs) => nextEvent(insertOutcomes.event, timeoutMs, 'no insertion'),
  };
}

/** The next value of `event` (that `predicate` accepts), or a rejection naming what did not happen in time. */
function nextEvent<T>(event: vscode.Event<T>, timeoutMs: number, what: string, predicate: (value: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = event((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      listener.dispose();
      resolve(value);
    });
  });
}

export function deactivate(): void {
  // Disposables registered on the context stop the server.
}
