// The client's own `hdlm.*` settings, typed once and cached; the cache is cleared when the
// configuration changes. Settings the server uses are read by the server itself
// (workspace/configuration), so only client-side ones live here.
import * as vscode from 'vscode';

export interface ClientSettings {
  /** Restarts allowed within RESTART_WINDOW_MS before the client gives up on the server. */
  maxRestarts: number;
  /** Languages whose documents go to the server for inline completions (the server checks them too). */
  inlineLanguages: string[];
}

let cached: ClientSettings | undefined;

export function clientSettings(): ClientSettings {
  if (!cached) {
    const config = vscode.workspace.getConfiguration('hdlm');
    const languages = config.get<unknown>('inline.languages', ['plaintext', 'markdown']);
    cached = {
      maxRestarts: Math.max(0, config.get<number>('server.maxRestarts', 4)),
      inlineLanguages: Array.isArray(languages) ? languages.filter((l): l is string => typeof l === 'string') : ['plaintext', 'markdown'],
    };
  }
  return cached;
}

export function watchSettings(): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('hdlm')) cached = undefined;
    // The client's document selector is fixed while the server runs; a restart applies the change.
    if (e.affectsConfiguration('hdlm.inline.languages')) {
      void vscode.window.showInformationMessage('HdLM: restart the server to offer inline completions in the new languages.', 'Restart Server').then((choice) => choice && vscode.commands.executeCommand('hdlm.restartServer'));
    }
  });
}
