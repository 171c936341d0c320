// Shows the thought behind an inline completion: when the server offers ghost text it also sends
// `hdlm/thought`, and the thought appears, faded, after the line the completion is for. It goes
// away as soon as that document changes or the cursor leaves the line.
import * as vscode from 'vscode';
import type { ThoughtParams } from '../../server/src/protocol';

export class ThoughtDecorations implements vscode.Disposable {
  private readonly type = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic', margin: '0 0 0 2em' },
  });
  private shown: { uri: string; line: number } | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly thoughtEmitter = new vscode.EventEmitter<ThoughtParams>();
  /** Fires for every thought received (the extension's API exposes it to scripts and tests). */
  readonly onDidReceive = this.thoughtEmitter.event;

  constructor() {
    this.disposables.push(
      this.type,
      this.thoughtEmitter,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === this.shown?.uri) this.clear();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor.document.uri.toString() === this.shown?.uri && e.selections[0]?.active.line !== this.shown.line) this.clear();
      }),
    );
  }

  show(params: ThoughtParams): void {
    this.thoughtEmitter.fire(params);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === params.uri);
    if (!editor || !params.thought.trim()) return;
    this.clear();
    const end = editor.document.lineAt(Math.min(params.line, editor.document.lineCount - 1)).range.end;
    const text = `💭 ${params.thought.trim()} (layer ${params.thoughtLayer}, ${Math.round(params.thoughtProbability * 100)} % sure) → answer from layer ${params.answerLayer}`;
    editor.setDecorations(this.type, [{ range: new vscode.Range(end, end), renderOptions: { after: { contentText: text } } }]);
    this.shown = { uri: params.uri, line: params.line };
  }

  clear(): void {
    for (const editor of vscode.window.visibleTextEditors) editor.setDecorations(this.type, []);
    this.shown = undefined;
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
