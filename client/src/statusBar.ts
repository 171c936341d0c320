// The status bar item. It shows what the server last said in `hdlm/status`, plus the client's
// own view of the connection (starting, restarting, stopped), which the server cannot report,
// and what another window's jobs on the workspace do (the server follows them in the journal),
// so that this window does not look idle while another fine-tunes the same model.
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';
import { statusLine } from './jobCounts';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<StatusParams>();
  /** Fires after every update, with the status now shown. */
  readonly onDidChange = this.changed.event;
  private current: StatusParams = { health: 'ok', busy: true, message: 'starting the HdLM server', device: '' };

  constructor() {
    this.item = vscode.window.createStatusBarItem('hdlm.status', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'HdLM';
    this.item.command = 'hdlm.showStatusMenu';
    this.render();
    this.item.show();
  }

  /** The last status shown (from the server or the client). */
  get status(): StatusParams {
    return this.current;
  }

  get text(): string {
    return this.item.text;
  }

  update(status: StatusParams): void {
    this.current = status;
    this.render();
    this.changed.fire(status);
  }

  /** Resolves with the first status for which `predicate` holds (checked now and on every update). */
  waitFor(predicate: (s: StatusParams) => boolean, timeoutMs: number): Promise<StatusParams> {
    if (predicate(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listener.dispose();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the HdLM status; last: ${JSON.stringify(this.current)}`));
      }, timeoutMs);
      const listener = this.onDidChange((s) => {
        if (!predicate(s)) return;
        clearTimeout(timer);
        listener.dispose();
        resolve(s);
      });
    });
  }

  dispose(): void {
    this.item.dispose();
    this.changed.dispose();
  }

  private render(): void {
    const { health, busy, device, model, elsewhere } = this.current;
    const icon = busy ? '$(sync~spin)' : health === 'error' ? '$(error)' : health === 'warning' ? '$(warning)' : '$(layers)';
    const where = [model, device, elsewhere].filter(Boolean).join(' · ');
    this.item.text = `${icon} HdLM${where ? `: ${where}` : ''}`;
    this.item.tooltip = `HdLM — ${statusLine(this.current)}${device ? ` (device: ${device}${model ? `, model: ${model}` : ''})` : ''}. Click for the jobs (cancel one), model, device, log and server.`;
    this.item.backgroundColor =
      health === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : health === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }
}
