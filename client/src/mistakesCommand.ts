// "HdLM: Show Mistakes of the Last Evaluation": the examples the task's last evaluation got
// wrong, as a new unsaved JSON Lines document beside the editor (hdlm/mistakes reads the
// predictions kept beside the evaluation; no model runs). Each line is shaped like the task's
// dataset lines with the gold values, followed by what HdLM and flat said, so the document gets
// the dataset features (label hover, Classify this example) and can be saved as a dataset.
import * as vscode from 'vscode';
import { mistakeLines, mistakesSummary } from '../../engine/src/hdlm/mistakeLines';
import * as proto from '../../server/src/protocol';
import { chooseTask } from './jobCommands';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';

/** Opens the mistakes; resolves with what the server read (undefined when there was nothing to show). */
export async function showMistakesCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<proto.MistakesResult | undefined> {
  const task = await chooseTask(arg, 'show the mistakes of');
  if (!task) return undefined;
  let result: proto.MistakesResult;
  try {
    result = await server.request(proto.mistakes, { task });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.error(`mistakes of ${task}: ${message}`);
    // Most failures are "evaluate it (again)": offer that.
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Evaluate').then((choice) => choice && vscode.commands.executeCommand('hdlm.evaluate', task));
    return undefined;
  }
  const summary = `${result.task} on ${result.file} (evaluated ${result.finishedAt.slice(0, 16).replace('T', ' ')} UTC): ${mistakesSummary(result)}`;
  output.info(summary);
  if (result.mistakes.length === 0) {
    void vscode.window.showInformationMessage(`HdLM: ${summary}.`);
    return result;
  }
  const content = `${mistakeLines(result).map((row) => JSON.stringify(row)).join('\n')}\n`;
  const doc = await vscode.workspace.openTextDocument({ language: 'jsonl', content });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  void vscode.window.showInformationMessage(`HdLM: ${summary}.`);
  return result;
}
