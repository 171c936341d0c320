// "HdLM: Think Then Answer": the selection (or the current line) goes to the server, where the
// task's first-level layer drafts a thought and the last layer writes the answer on the same
// decode state. Both stream into a cancellable progress notification (and into the layer view,
// which follows hdlm/generationStep); the result is offered in a quick pick: insert the answer
// after the selection, or copy it.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { sourceRange, textToClassify } from './classifyCommand';
import type { ServerConnection } from './serverConnection';
import { insertOutcomes, TrackedText } from './trackedText';
import { errorMessage } from '../../engine/src/errorMessage';

let requests = 0;

export async function thinkCommand(server: ServerConnection, output: vscode.LogOutputChannel, text?: string): Promise<proto.ThinkThenAnswerResult | undefined> {
  const editor = vscode.window.activeTextEditor;
  const input = text ?? textToClassify(editor);
  if (!input) {
    void vscode.window.showWarningMessage('HdLM: select some text to think about (or put the cursor on a non-empty line).');
    return undefined;
  }
  // The text the answer is for, followed from now on: the answer streams for seconds, during
  // which the user may move the cursor, switch files, close this one or edit above the text.
  // It is let go once the user has chosen what to do with the answer, or when there is none.
  const at = text === undefined && editor ? new TrackedText(editor.document, sourceRange(editor)) : undefined;
  const result = await think(server, output, input);
  if (!result) {
    at?.dispose();
    return undefined;
  }
  // Not awaited: the command resolves with the result (scripts, tests) while the pick waits for the user.
  offer(result, at)
    .catch((err: unknown) => output.error(`think then answer: ${errorMessage(err)}`))
    .finally(() => at?.dispose());
  return result;
}

/** The thought and answer, streamed into a progress notification; undefined when cancelled or failed (said). */
async function think(server: ServerConnection, output: vscode.LogOutputChannel, input: string): Promise<proto.ThinkThenAnswerResult | undefined> {
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
    const message = errorMessage(err);
    if (/cancelled/i.test(message)) return undefined;
    output.error(`think then answer: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Show Log').then((choice) => choice && output.show(true));
    return undefined;
  }
  output.info(`thought at layer ${result.thoughtLayer} (${percent(result.thoughtProbability)} sure): ${JSON.stringify(result.thought)} → answer at layer ${result.answerLayer}: ${JSON.stringify(result.answer)} (${result.caughtUp} positions caught up; ${(result.ms.thought + result.ms.answer).toFixed(0)} ms)`);
  return result;
}

/**
 * Inserts the answer after the text it is for, where that text is now, through the document's
 * URI (it is opened again if it was closed); refused, with a message, when the text's lines were
 * edited or deleted meanwhile.
 */
async function insertAnswer(answer: string, at: TrackedText): Promise<boolean> {
  const place = await at.place();
  if ('problem' in place) {
    void vscode.window.showWarningMessage(`HdLM: ${place.problem}; the answer was not inserted (Copy answer still has it).`);
    insertOutcomes.fire({ what: 'answer', uri: at.uri.toString(), problem: place.problem });
    return false;
  }
  const edit = new vscode.WorkspaceEdit();
  edit.insert(place.uri, new vscode.Position(place.span.end.line, place.span.end.character), ` ${answer}`);
  const inserted = await vscode.workspace.applyEdit(edit);
  insertOutcomes.fire({ what: 'answer', uri: at.uri.toString(), ...(inserted ? { line: place.span.end.line } : { problem: 'the edit was not applied' }) });
  return inserted;
}

/** The quick pick with the result; picking an action inserts or copies the answer. */
async function offer(result: proto.ThinkThenAnswerResult, at: TrackedText | undefined): Promise<void> {
  type Item = vscode.QuickPickItem & { run: () => Thenable<unknown> };
  const answer = result.answer.trim();
  const items: Item[] = [{ label: '$(copy) Copy answer', description: answer, run: () => vscode.env.clipboard.writeText(answer) }];
  if (at && answer) items.unshift({ label: '$(insert) Insert answer', description: answer, run: () => insertAnswer(answer, at) });
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
