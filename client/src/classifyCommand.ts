// "HdLM: Classify Hierarchically": the selection (or the current line) goes to the server; the
// coarse-to-fine path comes back and is shown in a quick pick, one row per level with its
// probability, the layer that decided it and the runners-up. Picking a row copies its label.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import type { ServerConnection } from './serverConnection';

/** The text to classify: the selection, else the cursor's line. */
export function textToClassify(editor: vscode.TextEditor | undefined): string {
  if (!editor) return '';
  const { selection, document } = editor;
  return (selection.isEmpty ? document.lineAt(selection.active.line).text : document.getText(selection)).trim();
}

function percent(p: number): string {
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}

export function levelItems(result: proto.ClassifyResult): (vscode.QuickPickItem & { copy: string })[] {
  return result.path.map((d) => ({
    label: `${'  '.repeat(d.level - 1)}${d.label}`,
    description: `${percent(d.probability)} · level ${d.level} from layer ${d.layer}/${result.layers}${result.trainedHeads[d.level - 1] ? '' : ' (untrained head)'}`,
    detail: d.runnersUp.length > 0 ? `next: ${d.runnersUp.map((r) => `${r.label} ${percent(r.probability)}`).join(', ')}` : undefined,
    copy: d.label,
  }));
}

export async function classifyCommand(server: ServerConnection, output: vscode.LogOutputChannel, text?: string): Promise<proto.ClassifyResult | undefined> {
  const input = text ?? textToClassify(vscode.window.activeTextEditor);
  if (!input) {
    void vscode.window.showWarningMessage('HdLM: select some text to classify (or put the cursor on a non-empty line).');
    return undefined;
  }
  let result: proto.ClassifyResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'HdLM: classifying…', cancellable: true },
      (_progress, token) => server.request(proto.classify, { text: input }, token),
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/cancelled/i.test(message)) return undefined;
    output.error(`classify: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Show Log').then((choice) => choice && output.show(true));
    return undefined;
  }
  const summary = `${result.path.map((d) => d.label).join(' › ')} (${percent(result.pathProbability)}, ${result.ms.toFixed(0)} ms on ${result.device})`;
  output.info(`classified with ${result.task}: ${summary}`);
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { copy: string }>();
  pick.title = `HdLM · ${result.task}: ${summary}`;
  pick.placeholder = 'Pick a level to copy its label';
  pick.items = levelItems(result);
  pick.onDidAccept(() => {
    const chosen = pick.selectedItems[0];
    if (chosen) void vscode.env.clipboard.writeText(chosen.copy);
    pick.hide();
  });
  pick.onDidHide(() => pick.dispose());
  pick.show();
  return result;
}
