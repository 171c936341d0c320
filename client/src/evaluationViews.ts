// The views of a task's last evaluation, read from the predictions kept beside its record (no
// model runs):
// - "HdLM: Show Mistakes of the Last Evaluation": the examples it got wrong, as a new unsaved
//   JSON Lines document beside the editor (hdlm/mistakes). Each line is shaped like the task's
//   dataset lines with the gold values, followed by what HdLM and flat said, so the document
//   gets the dataset features (label hover, Classify this example) and can be saved as a dataset.
// - "HdLM: Show Per-Label Report of the Last Evaluation": precision, recall and F1 per label and
//   the top confusions, per level, after the change since the previous evaluation and before the
//   task's evaluation history (hdlm/labelReport), as a Markdown document shown in preview.
import * as vscode from 'vscode';
import type { RequestType } from 'vscode-languageclient/node';
import { labelReportMarkdown, labelReportSummary } from '../../engine/src/hdlm/labelReportMarkdown';
import { mistakeLines, mistakesSummary } from '../../engine/src/hdlm/mistakeLines';
import * as proto from '../../server/src/protocol';
import { chooseTask } from './jobCommands';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';

/**
 * Asks the server for a view of the chosen task's last evaluation; undefined when no task was
 * chosen or the request failed (said in the log and a message offering to evaluate: most
 * failures are "evaluate it (again)").
 */
async function fromLastEvaluation<R>(server: ServerConnection, output: TeeOutputChannel, arg: unknown, what: string, type: RequestType<{ task: string }, R, void>): Promise<R | undefined> {
  const task = await chooseTask(arg, `show the ${what} of`);
  if (!task) return undefined;
  try {
    return await server.request(type, { task });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.error(`${what} of ${task}: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Evaluate').then((choice) => choice && vscode.commands.executeCommand('hdlm.evaluate', task));
    return undefined;
  }
}

const evaluated = (finishedAt: string): string => `evaluated ${finishedAt.slice(0, 16).replace('T', ' ')} UTC`;

/** Opens the mistakes; resolves with what the server read (undefined when there was nothing to show). */
export async function showMistakesCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<proto.MistakesResult | undefined> {
  const result = await fromLastEvaluation(server, output, arg, 'mistakes', proto.mistakes);
  if (!result) return undefined;
  const summary = `${result.task} on ${result.file} (${evaluated(result.finishedAt)}): ${mistakesSummary(result)}`;
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

/**
 * Opens the per-label report as an unsaved Markdown document beside the editor, then its preview
 * in front of it (the source stays in a tab behind, to save or copy tables from). Resolves with
 * the report and the document.
 */
export async function showLabelReportCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<{ report: proto.LabelReportResult; document: vscode.TextDocument } | undefined> {
  const report = await fromLastEvaluation(server, output, arg, 'per-label report', proto.labelReport);
  if (!report) return undefined;
  output.info(`per-label report of ${report.task} on ${report.file} (${evaluated(report.finishedAt)}): ${labelReportSummary(report)}`);
  const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: labelReportMarkdown(report) });
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  try {
    await vscode.commands.executeCommand('markdown.showPreview', document.uri);
  } catch (err) {
    // Without VS Code's built-in Markdown extension (disabled by the user) the source is the report.
    output.warn(`per-label report: no Markdown preview (${err instanceof Error ? err.message : String(err)})`);
  }
  return { report, document };
}
