// "HdLM: New Task from Dataset": picks a dataset (the explorer's file, the active JSON Lines
// editor, or one from the workspace), has the server write a task file beside it (hdlm/createTask
// chooses the kind and the layers, and never replaces a file), opens the file and offers to
// fine-tune it.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { chooseFile } from './chooseFile';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';

/** The dataset: the argument (a URI or path), the active *.jsonl editor, or a pick among the workspace's. */
function chooseDataset(arg: unknown): Promise<vscode.Uri | undefined> {
  return chooseFile(arg, {
    isOne: (doc) => doc.uri.fsPath.endsWith('.jsonl'),
    glob: '**/*.jsonl',
    max: 200,
    title: 'HdLM: make a task from which dataset?',
    none: () => void vscode.window.showWarningMessage('HdLM: no dataset (*.jsonl) in the workspace. A line is {"text": "...", "labels": ["coarse", "fine"]}, or {"input", "thought", "answer"}.'),
    takeSingle: false,
  });
}

/** Creates the task file and opens it; resolves with what the server wrote (undefined if nothing). */
export async function createTaskCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<proto.CreateTaskResult | undefined> {
  const dataset = await chooseDataset(arg);
  if (!dataset) return undefined;
  // The server (like training) reads the file on disk: unsaved edits would be left out silently.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === dataset.toString());
  if (open?.isDirty) {
    const choice = await vscode.window.showWarningMessage(`HdLM: ${vscode.workspace.asRelativePath(dataset)} has unsaved changes; the task is made from the file on disk.`, 'Save and Continue', 'Continue');
    if (!choice) return undefined;
    if (choice === 'Save and Continue' && !(await open.save())) return undefined;
  }
  let created: proto.CreateTaskResult;
  try {
    created = await server.request(proto.createTask, { dataset: dataset.fsPath });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.error(`New task from ${dataset.fsPath}: ${message}`);
    // The first line says what is wrong; the dataset's diagnostics show every line.
    void vscode.window.showErrorMessage(`HdLM: ${message.split('\n')[0]}`, 'Open Dataset').then((choice) => choice && vscode.window.showTextDocument(dataset));
    return undefined;
  }
  const uri = vscode.Uri.file(created.task);
  await vscode.window.showTextDocument(uri);
  const layers = created.levels.map((l) => (l === 'last' ? `${created.modelLayers}` : `${l}`)).join(', ');
  const kind = created.kind === 'thoughtThenAnswer' ? 'thought then answer' : `${created.levels.length} levels`;
  const skipped = created.skipped > 0 ? `; ${created.skipped} lines training will skip` : '';
  const summary = `created ${vscode.workspace.asRelativePath(uri)}: ${kind} at layers ${layers} of ${created.modelLayers}, ${created.examples} examples${skipped}`;
  output.info(summary);
  void vscode.window.showInformationMessage(`HdLM: ${summary}. Fine-tune it now?`, 'Fine-tune').then((choice) => choice && vscode.commands.executeCommand('hdlm.fineTune', uri));
  return created;
}
