// "HdLM: New Task from Dataset": picks a dataset (the explorer's file, the active JSON Lines
// editor, or one from the workspace), has the server write a task file beside it (hdlm/createTask
// chooses the kind and the layers, and never replaces a file), opens the file and offers to
// fine-tune it.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { chooseDataset, readyOnDisk } from './chooseFile';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

/** Creates the task file and opens it; resolves with what the server wrote (undefined if nothing). */
export async function createTaskCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<proto.CreateTaskResult | undefined> {
  const dataset = await chooseDataset(arg, 'make a task from');
  if (!dataset) return undefined;
  // The server (like training) reads the file on disk.
  if (!(await readyOnDisk(dataset, 'the task is made'))) return undefined;
  let created: proto.CreateTaskResult;
  try {
    created = await server.request(proto.createTask, { dataset: dataset.fsPath });
  } catch (err) {
    const message = errorMessage(err);
    output.error(`New task from ${dataset.fsPath}: ${message}`);
    // The first line says what is wrong; the dataset's diagnostics show every line.
    void vscode.window.showErrorMessage(`HdLM: ${message.split('\n')[0]}`, 'Open Dataset').then((choice) => choice && vscode.window.showTextDocument(dataset));
    return undefined;
  }
  const uri = vscode.Uri.file(created.task);
  await vscode.window.showTextDocument(uri);
  const layers = created.levels.map((l) => (l === 'last' ? `${created.modelLayers}` : `${l}`)).join(', ');
  const kind = created.kind === 'thoughtThenAnswer' ? 'thought then answer' : `${created.levels.length} levels`;
  const skipped = created.skipped > 0 ? `; ${created.skipped} ${created.skipped === 1 ? 'line' : 'lines'} training will skip (see the log)` : '';
  const bare = created.listCandidates ? '' : '; candidate lists left out of the prompt (they would not fit the context)';
  const summary = `created ${vscode.workspace.asRelativePath(uri)}: ${kind} at layers ${layers} of ${created.modelLayers}, ${created.examples} examples${created.firstLines === undefined ? '' : ` in its first ${created.firstLines.toLocaleString('en-US')} lines`}${skipped}${bare}`;
  output.info(summary);
  // Why the candidate lists were left out, and which lines training will skip: the log keeps them.
  for (const notice of created.notices) output.info(notice);
  // The layers are spread by rule; the scan can measure them first.
  void vscode.window.showInformationMessage(`HdLM: ${summary}. Fine-tune it now?`, 'Fine-tune', 'Suggest Layers').then((choice) => choice && vscode.commands.executeCommand(choice === 'Fine-tune' ? 'hdlm.fineTune' : 'hdlm.scanLayers', uri));
  return created;
}
