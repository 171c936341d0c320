// A log output channel that also keeps its last lines in memory. The language client writes the
// server's log into it; the extension's API exposes the lines so integration tests can check
// the log through the public API (extension exports) instead of scraping the workbench.
import * as vscode from 'vscode';

export class TeeOutputChannel implements vscode.LogOutputChannel {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(
    private readonly inner: vscode.LogOutputChannel,
    private readonly keep = 2000,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get logLevel(): vscode.LogLevel {
    return this.inner.logLevel;
  }

  get onDidChangeLogLevel(): vscode.Event<vscode.LogLevel> {
    return this.inner.onDidChangeLogLevel;
  }

  trace(message: string, ...args: unknown[]): void {
    this.inner.trace(message, ...args);
    this.record(`[trace] ${message}\n`);
  }

  debug(message: string, ...args: unknown[]): void {
    this.inner.debug(message, ...args);
    this.record(`[debug] ${message}\n`);
  }

  info(message: string, ...args: unknown[]): void {
    this.inner.info(message, ...args);
    this.record(`[info] ${message}\n`);
  }

  warn(message: string, ...args: unknown[]): void {
    this.inner.warn(message, ...args);
    this.record(`[warning] ${message}\n`);
  }

  error(error: string | Error, ...args: unknown[]): void {
    this.inner.error(error, ...args);
    this.record(`[error] ${error instanceof Error ? error.message : error}\n`);
  }

  append(value: string): void {
    this.inner.append(value);
    this.record(value);
  }

  appendLine(value: string): void {
    this.inner.appendLine(value);
    this.record(`${value}\n`);
  }

  replace(value: string): void {
    this.inner.replace(value);
    this.lines.length = 0;
    this.partial = '';
    this.record(value);
  }

  clear(): void {
    this.inner.clear();
    this.lines.length = 0;
    this.partial = '';
  }

  show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserveFocus === 'boolean') this.inner.show(columnOrPreserveFocus);
    else this.inner.show(columnOrPreserveFocus, preserveFocus);
  }

  hide(): void {
    this.inner.hide();
  }

  dispose(): void {
    this.inner.dispose();
  }

  /** The complete lines written so far (at most `keep`). */
  text(): string {
    return this.lines.join('\n');
  }

  private record(value: string): void {
    const parts = (this.partial + value).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
  }
}
