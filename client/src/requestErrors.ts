// How a failed request is shown: its message, and when the model serves without its task (the
// error's data is the server's UnfitTaskData) the ways out as buttons: open the task file, pick
// another task. Every such notice is also an event, which tests read through the extension's API.
import * as vscode from 'vscode';
import { ResponseError } from 'vscode-languageclient';
import { ErrorCodes, isUnfitTaskData, type UnfitTaskData } from '../../server/src/protocol';
import { TASK_ACTIONS } from '../../webview/src/messages';
import { RESTART_SERVER, SHOW_LOG, type Notice } from './notices';

/** A notice shown: its text and its buttons. */
export type ShownError = Notice;

export class RequestErrors {
  /** Fires with every notice shown (tests read it through the extension's API). */
  static readonly onDidShow = new vscode.EventEmitter<ShownError>();

  /** Shows `message` for `err`, with the task's buttons when the model serves without its task. */
  static show(message: string, err: unknown, output: vscode.OutputChannel): void {
    const task = unfitTask(err);
    const actions = [...(task?.exists ? [TASK_ACTIONS.open] : []), ...(task ? [TASK_ACTIONS.select] : []), SHOW_LOG];
    RequestErrors.notify({ message, actions }, output, async (choice) => {
      if (choice === TASK_ACTIONS.open && task) await openTaskFile(task.taskFile);
      else if (choice === TASK_ACTIONS.select) await selectTask();
    });
  }

  /**
   * Shows a notice (notices.ts) and carries out its common buttons: Show Log, Restart Server;
   * `other` gets any other button chosen.
   */
  static notify(notice: Notice, output: vscode.OutputChannel, other?: (choice: string) => Promise<void>): void {
    RequestErrors.onDidShow.fire(notice);
    void vscode.window.showErrorMessage(notice.message, ...notice.actions).then(async (choice) => {
      if (choice === SHOW_LOG) output.show(true);
      else if (choice === RESTART_SERVER) await vscode.commands.executeCommand('hdlm.restartServer');
      else if (choice) await other?.(choice);
    });
  }
}

/** TASK_ACTIONS.open: the task file in an editor. */
export async function openTaskFile(file: string): Promise<void> {
  await vscode.window.showTextDocument(vscode.Uri.file(file));
}

/** TASK_ACTIONS.select: HdLM: Select Task. */
export async function selectTask(): Promise<void> {
  await vscode.commands.executeCommand('hdlm.selectTask');
}

/** The task a `modelUnavailable` error says the model serves without, if that is what it says. */
function unfitTask(err: unknown): UnfitTaskData | undefined {
  return err instanceof ResponseError && err.code === ErrorCodes.modelUnavailable && isUnfitTaskData(err.data) ? err.data : undefined;
}
