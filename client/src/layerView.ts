// The layer view: a webview panel showing, for the selection (or current line), what every
// layer reads out, which layer decided each level of the task (and which layers that decision
// skipped), and, live, the latest thought-then-answer generation token by token with the layer
// each token came from. It follows the selection while visible, survives reloads (a serializer
// restores it from the webview's state) and only loads scripts and styles from the built
// webview folder, under a nonce-based CSP.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import type { GenerationView, HostToWebview, LayerViewData, WebviewToHost } from '../../webview/src/messages';
import { textToClassify } from './classifyCommand';
import { openTaskFile, selectTask } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import type { StatusBar } from './statusBar';
import { webviewHtml, webviewOptions } from './webviewHtml';
import { errorMessage } from '../../engine/src/errorMessage';

export const LAYER_VIEW_TYPE = 'hdlm.layerView';
const FOLLOW_DELAY_MS = 600;

export interface RenderedSummary {
  rows: number;
  decisions: number;
  summary: string;
  /** Why the task decided nothing, when it does not fit the model or its file cannot be read; '' otherwise. */
  notice: string;
  /** The buttons under the notice. */
  noticeActions: string[];
  /** Tokens of the generation shown, and whether it has ended. */
  generationTokens: number;
  generationDone: boolean;
  /** Decisions shown as made by an untrained head (the model's own head standing in). */
  untrained: number;
}

export class LayerView implements vscode.Disposable {
  private static current: LayerView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private text = '';
  private data: LayerViewData | undefined;
  private generation: GenerationView | undefined;
  private pending: vscode.CancellationTokenSource | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  /**
   * A fine-tuning job ended since the readout shown was made: its decisions may name heads that
   * have been replaced (shown as untrained when they are trained now). Read out again once the
   * server is idle (the job's process gone, the new heads opened), or when the view is next shown.
   */
  private headsChanged = false;
  /** Fires when the webview reports what it rendered. */
  static readonly onDidRender = new vscode.EventEmitter<RenderedSummary>();
  static lastRendered: RenderedSummary | undefined;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly server: ServerConnection,
    private readonly output: vscode.LogOutputChannel,
    statusBar: StatusBar,
  ) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'layerView', 'HdLM Layers');
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: WebviewToHost) => this.receive(m)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.follow(e.textEditor)),
      server.onGenerationStep((step) => this.onGenerationStep(step)),
      server.onJobProgress((p) => {
        if (p.kind === 'train' && ['report', 'failed', 'cancelled'].includes(p.event.kind)) this.headsChanged = true;
      }),
      // Idle after a fine-tuning: only now does a request open the heads it wrote.
      statusBar.onDidChange((s) => !s.busy && this.panel.visible && this.readAgainIfHeadsChanged()),
      // Shown again: read out again if heads changed meanwhile, else send the latest state, in case the page missed messages while hidden.
      panel.onDidChangeViewState(() => panel.visible && !this.readAgainIfHeadsChanged() && this.resend()),
    );
  }

  /** Reads the text out again when a fine-tuning ended since the readout shown; whether it did. */
  private readAgainIfHeadsChanged(): boolean {
    if (!this.headsChanged || !this.data) return false;
    this.headsChanged = false;
    void this.update(this.text);
    return true;
  }

  /** Opens (or reveals) the view and reads out `text`. */
  static show(extensionUri: vscode.Uri, server: ServerConnection, output: vscode.LogOutputChannel, statusBar: StatusBar, text: string): LayerView {
    if (!LayerView.current) {
      const panel = vscode.window.createWebviewPanel(LAYER_VIEW_TYPE, 'HdLM Layers', vscode.ViewColumn.Beside, { ...webviewOptions(extensionUri), retainContextWhenHidden: true });
      LayerView.current = new LayerView(panel, extensionUri, server, output, statusBar);
    } else {
      LayerView.current.panel.reveal(undefined, true);
    }
    void LayerView.current.update(text);
    return LayerView.current;
  }

  /** Restores a panel after a reload; the webview shows its saved state and asks for nothing. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, server: ServerConnection, output: vscode.LogOutputChannel, statusBar: StatusBar, state: unknown): void {
    LayerView.current?.dispose();
    LayerView.current = new LayerView(panel, extensionUri, server, output, statusBar);
    const saved = state as { data?: LayerViewData; generation?: GenerationView } | undefined;
    if (saved?.data?.text) {
      LayerView.current.text = saved.data.text;
      LayerView.current.data = saved.data;
    }
    LayerView.current.generation = saved?.generation;
  }

  async update(text: string): Promise<void> {
    if (!text) return;
    this.text = text;
    this.pending?.cancel();
    const source = (this.pending = new vscode.CancellationTokenSource());
    this.post({ type: 'busy', text });
    try {
      const result = await this.server.request(proto.layers, { text, topK: 5 }, source.token);
      if (source.token.isCancellationRequested) return;
      this.data = toViewData(text, result);
      this.post({ type: 'layers', data: this.data });
    } catch (err) {
      if (source.token.isCancellationRequested) return;
      const message = errorMessage(err);
      this.output.error(`layer view: ${message}`);
      this.post({ type: 'error', message });
    }
  }

  dispose(): void {
    if (LayerView.current === this) LayerView.current = undefined;
    this.pending?.cancel();
    clearTimeout(this.followTimer);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private receive(message: WebviewToHost): void {
    switch (message.type) {
      case 'ready':
        this.resend();
        return;
      case 'refresh':
        void this.update(this.text);
        return;
      case 'cancel':
        this.pending?.cancel();
        // Show what was there before the cancelled readout, if anything.
        if (this.data) this.post({ type: 'layers', data: this.data });
        else this.post({ type: 'error', message: 'Cancelled. Select text and run HdLM: Show Layer View again.' });
        return;
      case 'openTask':
        void openTaskFile(message.file);
        return;
      case 'selectTask':
        void selectTask();
        return;
      case 'rendered':
        LayerView.lastRendered = { rows: message.rows, decisions: message.decisions, summary: message.summary, notice: message.notice, noticeActions: message.noticeActions, generationTokens: message.generationTokens, generationDone: message.generationDone, untrained: message.untrained };
        LayerView.onDidRender.fire(LayerView.lastRendered);
        return;
    }
  }

  /** While visible, a new selection in a text editor is read out after a short pause. */
  private follow(editor: vscode.TextEditor): void {
    if (!this.panel.visible || editor.document.uri.scheme === 'output') return;
    clearTimeout(this.followTimer);
    this.followTimer = setTimeout(() => {
      const text = textToClassify(editor);
      if (text && text !== this.text) void this.update(text);
    }, FOLLOW_DELAY_MS);
  }

  private resend(): void {
    if (this.data) this.post({ type: 'layers', data: this.data });
    if (this.generation) this.post({ type: 'generation', generation: this.generation });
  }

  /** A generation step: the same generation grows, a new id starts a new one. */
  private onGenerationStep(step: proto.GenerationStepParams): void {
    if (this.generation?.id !== step.id) this.generation = { id: step.id, source: step.source, layers: step.layers, tokens: [] };
    const g = this.generation;
    if (step.part === 'done') g.done = { caughtUp: step.caughtUp, thoughtLayer: step.thoughtLayer, thoughtProbability: step.thoughtProbability, ms: step.ms, ...(step.cancelled ? { cancelled: true } : {}) };
    else g.tokens.push({ part: step.part, text: step.token, layer: step.layer, probability: step.probability });
    this.post({ type: 'generation', generation: g });
  }

  private post(message: HostToWebview): void {
    void this.panel.webview.postMessage(message);
  }
}

export function toViewData(text: string, r: proto.LayersResult): LayerViewData {
  return {
    text,
    model: r.model,
    device: r.device,
    layers: r.layers,
    tokens: r.tokens,
    readouts: r.readouts.map((x) => ({ layer: x.layer, top: x.top.map((t) => ({ text: t.text, probability: t.probability })) })),
    segments: r.segments,
    decisions: (r.classification?.path ?? []).map((d) => ({ level: d.level, label: d.label, probability: d.probability, layer: d.layer, trained: r.classification!.trainedHeads[d.level - 1] ?? false })),
    task: r.classification?.task ?? '',
    ...(r.unfitTask ? { notice: r.unfitTask } : {}),
    ...(r.unfitTaskData ? { noticeTask: { file: r.unfitTaskData.taskFile, exists: r.unfitTaskData.exists } } : {}),
    ms: r.ms,
  };
}

export function registerLayerView(context: vscode.ExtensionContext, server: ServerConnection, output: vscode.LogOutputChannel, statusBar: StatusBar): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('hdlm.showLayerView', (text?: unknown) => {
      const input = typeof text === 'string' ? text : textToClassify(vscode.window.activeTextEditor);
      if (!input) {
        void vscode.window.showWarningMessage('HdLM: select some text (or put the cursor on a non-empty line) to see its layers.');
        return;
      }
      LayerView.show(context.extensionUri, server, output, statusBar, input);
    }),
    vscode.window.registerWebviewPanelSerializer(LAYER_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state) => {
        LayerView.revive(panel, context.extensionUri, server, output, statusBar, state);
        return Promise.resolve();
      },
    }),
    LayerView.onDidRender,
  ];
}
