// Waiting for a document's diagnostics in the real VS Code of the integration tests: they arrive
// after the server's debounce, so a test waits on VS Code's event for that URI, never a sleep.
import * as vscode from 'vscode';

/** The diagnostics of `uri` once `accept` likes them; rejects after `ms`, naming what was there. */
export function diagnosticsWhen(uri: vscode.Uri, accept: (found: vscode.Diagnostic[]) => boolean, ms: number): Promise<vscode.Diagnostic[]> {
  return new Promise((resolveDiagnostics, reject) => {
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`no matching diagnostics of ${uri.path} within ${ms} ms: ${JSON.stringify(vscode.languages.getDiagnostics(uri).map((d) => d.message))}`));
    }, ms);
    const check = (): void => {
      const found = vscode.languages.getDiagnostics(uri);
      if (!accept(found)) return;
      clearTimeout(timer);
      listener.dispose();
      resolveDiagnostics(found);
    };
    const listener = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) check();
    });
    check();
  });
}
