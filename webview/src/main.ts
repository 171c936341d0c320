// Browser side of the HdLM webviews. The layer view and task panel grow here (editor issue);
// for now it proves the typed message loop: announce readiness, ask the host for engine info
// and render the reply.
import type { HostToWebview, WebviewToHost } from './messages';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

function post(message: WebviewToHost): void {
  vscode.postMessage(message);
}

function render(message: HostToWebview): void {
  const target = document.getElementById('engine');
  if (!target) return;
  switch (message.type) {
    case 'engineInfo':
      target.textContent = `onnxruntime-node ${message.runtimeVersion} on ${message.device}`;
      break;
    case 'error':
      target.textContent = `error: ${message.message}`;
      break;
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => render(event.data));
post({ type: 'ready' });
post({ type: 'requestEngineInfo', id: 1 });
