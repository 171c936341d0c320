// A log output channel that also keeps its last lines in memory. The language client writes the
// server's log into it; the extension's API exposes the lines so integration tests can check
// the log through the public API (extension exports) instead of scraping the workbench.
// Terminal colour codes are taken out on the way: the server's stderr carries onnxruntime's own
// log lines, which colour themselves even into a pipe, and the output channel shows codes raw.
import * as vscode from 'vscode';

/** `text` without ANSI escape sequences (colours, cursor moves). */
export function plainText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

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
    this.inner.trace(plainText(message), ...args);
    this.record(`[trace] ${plainText(message)}\n`);
  }

  debug(message: string, ...args: unknown[]): void {
    this.inner.debug(plainText(message), ...args);
    this.record(`[debug] ${plainText(message)}\n`);
  }

  info(message: string, ...args: unknown[]): void {
    this.inner.info(plainText(message), ...args);
    this.record(`[info] ${plainText(message)}\n`);
  }

  warn(message: string, ...args: unknown[]): void {
    this.inner.warn(plainText(message), ...args);
    this.record(`[warning] ${plainText(message)}\n`);
  }

  error(error: string | Error, ...args: unknown[]): void {
    const clean = typeof error === 'string' ? plainText(error) : error;
    this.inner.error(clean, ...args);
    this.record(`[error] ${clean instanceof Error ? clean.message : clean}\n`);
  }

  append(value: string): void {
    this.inner.append(plainText(value));
    this.record(plainText(value));
  }

  appendLine(value: string): void {
    this.inner.appendLine(plainText(value));
    this.record(`${plainText(value)}\n`);
  }

  replace(value: string): void {
    this.inner.replace(plainText(value));
    this.lines.length = 0;
    this.partial = '';
    this.record(plainText(value));
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
