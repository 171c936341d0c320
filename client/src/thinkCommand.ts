// "HdLM: Think Then Answer": the selection (or the current line) goes to the server, where the
// task's first-level layer drafts a thought and the last layer writes the answer on the same
// decode state. Both stream into a cancellable progress notification (and into the layer view,
// which follows hdlm/generationStep); the result is offered in a quick pick: insert the answer
// after the selection, or copy it.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { textToClassify } from './classifyCommand';
import type { ServerConnection } from './serverConnection';

let requests = 0;

export async function thinkCommand(server: ServerConnection, output: vscode.LogOutputChannel, text?: string): Promise<proto.ThinkThenAnswerResult | undefined> {
  const editor = vscode.window.activeTextEditor;
  const input = text ?? textToClassify(editor);
  if (!input) {
    void vscode.window.showWarningMessage('HdLM: select some text to think about (or put the cursor on a non-empty line).');
    return undefined;
  }
  const requestId = `think-${process.pid}-${++requests}`;
  let result: proto.ThinkThenAnswerResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'HdLM: thinking…', cancellable: true },
      (progress, token) => {
        const listener = server.onGenerationStep((step) => {
          if (step.id !== requestId || step.part === 'done') return;
          progress.report({ message: `${step.part} (layer ${step.layer}/${step.layers}): ${step.text.trim().slice(-80)}` });
        });
        return server.request(proto.thinkThenAnswer, { text: input, requestId }, token).finally(() => listener.dispose());
      },
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/cancelled/i.test(message)) return undefined;
    output.error(`think then answer: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Show Log').then((choice) => choice && output.show(true));
    return undefined;
  }
  output.info(`thought at layer ${result.thoughtLayer} (${percent(result.thoughtProbability)} sure): ${JSON.stringify(result.thought)} → answer at layer ${result.answerLayer}: ${JSON.stringify(result.answer)} (${result.caughtUp} positions caught up; ${(result.ms.thought + result.ms.answer).toFixed(0)} ms)`);
  void offer(result, text === undefined ? editor : undefined);
  return result;
}

/** The quick pick with the result; picking an action inserts or copies the answer. */
async function offer(result: proto.ThinkThenAnswerResult, editor: vscode.TextEditor | undefined): Promise<void> {
  type Item = vscode.QuickPickItem & { run: () => Thenable<unknown> };
  const answer = result.answer.trim();
  const items: Item[] = [{ label: '$(copy) Copy answer', description: answer, run: () => vscode.env.clipboard.writeText(answer) }];
  if (editor && answer) {
    const at = editor.selection.isEmpty ? editor.document.lineAt(editor.selection.active.line).range.end : editor.selection.end;
    items.unshift({ label: '$(insert) Insert answer', description: answer, run: () => editor.edit((e) => e.insert(at, ` ${answer}`)) });
  }
  const pick = await vscode.window.showQuickPick(items, {
    title: `HdLM · thought (layer ${result.thoughtLayer}/${result.layers}, ${percent(result.thoughtProbability)} sure): ${result.thought.trim() || '(empty)'}`,
    placeHolder: `answer (layer ${result.answerLayer}): ${answer || '(empty)'}`,
  });
  await pick?.run();
}

/** A probability as "62 %" (one decimal under 10 %, so a small one does not read as 0). */
function percent(p: number): string {
  return `${(p * 100).toFixed(p < 0.1 ? 1 : 0)} %`;
}
