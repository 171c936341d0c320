// The text a command ran on, followed through the edits of its document until the command's
// result is used: Insert answer and Insert as comment write beside it where it is then, not at
// the line it had when the command started. Lines added or removed above it move it; an edit of
// its own lines (or their deletion) means that the result is no longer about what is there, and
// the insertion is refused with a message that says so.
import * as vscode from 'vscode';
import { shiftSpan, type Span } from './placeShift';

/** Where the text is now, or why there is nothing to insert beside. */
export type TrackedPlace = { uri: vscode.Uri; span: Span; document: vscode.TextDocument } | { problem: string };

/** What an insertion did; tests read these through the extension's API. */
export interface InsertOutcome {
  /** 'answer' (Think Then Answer) or 'comment' (Classify's Insert as comment). */
  what: 'answer' | 'comment';
  uri: string;
  /** The 0-based line written at, or the problem that stopped it. */
  line?: number;
  problem?: string;
}

/** Fires after every Insert answer / Insert as comment, inserted or refused. */
export const insertOutcomes = new vscode.EventEmitter<InsertOutcome>();

export class TrackedText implements vscode.Disposable {
  readonly uri: vscode.Uri;
  private span: Span;
  /** The whole lines the text is on, as they were when the command started. */
  private readonly lines: string;
  private readonly listener: vscode.Disposable;

  constructor(document: vscode.TextDocument, range: vscode.Range) {
    this.uri = document.uri;
    this.span = { start: range.start, end: range.end };
    this.lines = linesText(document, this.span);
    const key = document.uri.toString();
    this.listener = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.toString() === key && e.contentChanges.length > 0) this.span = shiftSpan(this.span, e.contentChanges);
    });
  }

  /** The first line of the text now (0-based), for people; it may be out of date by the time it is read. */
  get line(): number {
    return this.span.start.line;
  }

  /**
   * The text's place now, in its document (opened again if it was closed); a problem when the
   * document is gone (an untitled one closed) or the text's lines no longer read as they did.
   */
  async place(): Promise<TrackedPlace> {
    const name = vscode.workspace.asRelativePath(this.uri);
    if (this.uri.scheme === 'untitled' && !vscode.workspace.textDocuments.some((d) => d.uri.toString() === this.uri.toString())) return { problem: `${this.uri.path} was closed` };
    const document = await vscode.workspace.openTextDocument(this.uri);
    const { start, end } = this.span;
    const where = start.line === end.line ? `line ${start.line + 1}` : `lines ${start.line + 1}–${end.line + 1}`;
    if (end.line >= document.lineCount || linesText(document, this.span) !== this.lines) return { problem: `${where} of ${name}, where the text was, changed or went since the command started` };
    return { uri: this.uri, span: this.span, document };
  }

  dispose(): void {
    this.listener.dispose();
  }
}

/** The whole lines a span is on. */
function linesText(document: vscode.TextDocument, span: Span): string {
  const last = Math.min(span.end.line, document.lineCount - 1);
  return document.getText(new vscode.Range(span.start.line, 0, last, document.lineAt(last).text.length));
}
