// The page every HdLM webview starts from: a strict CSP (nothing but our own built script, with
// a fresh nonce, and our stylesheet), assets only from dist/webview through asWebviewUri.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Webview options that allow scripts and nothing outside the built webview folder. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
}

/** HTML loading dist/webview/<entry>.js and <entry>.css. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry: string, title: string): string {
  const asset = (name: string): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', name)).toString();
  const nonce = randomBytes(16).toString('base64');
  const csp = `default-src 'none'; img-src ${webview.cspSource}; style-src ${webview.cspSource}; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${asset(`${entry}.css`)}">
  <title>${title}</title>
</head>
<body>
  <p>Loading…</p>
  <script nonce="${nonce}" src="${asset(`${entry}.js`)}"></script>
</body>
</html>`;
}
