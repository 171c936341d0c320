// The client's own `hdlm.*` settings, typed once and cached; the cache is cleared when the
// configuration changes. Settings the server uses are read by the server itself
// (workspace/configuration), so only client-side ones live here.
import * as vscode from 'vscode';

export interface ClientSettings {
  /** Restarts allowed within RESTART_WINDOW_MS before the client gives up on the server. */
  maxRestarts: number;
}

let cached: ClientSettings | undefined;

export function clientSettings(): ClientSettings {
  if (!cached) {
    const config = vscode.workspace.getConfiguration('hdlm');
    cached = { maxRestarts: Math.max(0, config.get<number>('server.maxRestarts', 4)) };
  }
  return cached;
}

export function watchSettings(): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('hdlm')) cached = undefined;
  });
}
