// "HdLM: Fine-tune Heads": picks a task file (the active one, or from the workspace), starts the
// job on the server and follows it in a cancellable progress notification until it reports.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import type { ServerConnection } from './serverConnection';

/** The task to train: the argument, the active *.hdlm.json editor, or a pick among the workspace's. */
async function chooseTask(arg: unknown): Promise<string | undefined> {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const active = vscode.window.activeTextEditor?.document;
  if (active?.languageId === 'hdlm-task') return active.uri.fsPath;
  const files = await vscode.workspace.findFiles('**/*.hdlm.json', '**/node_modules/**', 50);
  if (files.length === 0) {
    void vscode.window.showWarningMessage('HdLM: no task file (*.hdlm.json) in the workspace. Create one to fine-tune heads.');
    return undefined;
  }
  if (files.length === 1) return files[0]!.fsPath;
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { title: 'HdLM: which task to fine-tune?' },
  );
  return pick?.uri.fsPath;
}

function describe(event: proto.TrainJobEvent): string | undefined {
  switch (event.kind) {
    case 'stage':
      return event.message;
    case 'features':
      return `backbone pass ${event.done}/${event.total} · ${event.examplesPerS.toFixed(0)} ex/s · ETA ${event.etaS.toFixed(0)} s`;
    case 'progress':
      return `${event.head} epoch ${event.epoch}: ${event.examples}/${event.epochExamples} · loss ${event.loss.toFixed(3)} · ${event.examplesPerS.toFixed(0)} rows/s · ETA ${event.etaS.toFixed(0)} s`;
    case 'epoch':
      return `${event.head} epoch ${event.epoch}: dev accuracy ${(event.devAccuracy * 100).toFixed(1)}%${event.improved ? ' (saved)' : ''}`;
    default:
      return undefined;
  }
}

/** Runs the command; resolves with how the job ended (report, failed or cancelled). */
export async function fineTuneCommand(server: ServerConnection, output: vscode.LogOutputChannel, arg?: unknown): Promise<proto.TrainJobEvent | undefined> {
  const task = await chooseTask(arg);
  if (!task) return undefined;
  let jobId: string;
  try {
    ({ jobId } = await server.request(proto.train, { task }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    output.error(`fine-tune: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`);
    return undefined;
  }
  output.info(`fine-tuning ${task} (${jobId})`);
  const end = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `HdLM: fine-tuning ${vscode.workspace.asRelativePath(task)}`, cancellable: true },
    (progress, token) =>
      new Promise<proto.TrainJobEvent>((resolve) => {
        token.onCancellationRequested(() => void server.request(proto.cancelJob, { jobId }).catch(() => undefined));
        const listener = server.onTrainProgress(({ jobId: id, event }) => {
          if (id !== jobId) return;
          const line = describe(event);
          if (line) progress.report({ message: line });
          if (event.kind === 'epoch') output.info(`${jobId}: ${line}`);
          if (event.kind === 'report' || event.kind === 'failed' || event.kind === 'cancelled') {
            listener.dispose();
            resolve(event);
          }
        });
      }),
  );
  if (end.kind === 'report') {
    const heads = end.report.heads.map((h) => `${h.name}@${h.layer} ${(h.bestDevAccuracy * 100).toFixed(1)}%`).join(', ');
    output.info(`${jobId}: done in ${(end.report.seconds.features + end.report.seconds.training).toFixed(0)} s: ${heads}`);
    void vscode.window.showInformationMessage(`HdLM: fine-tuned ${end.report.task} on ${end.report.examples.train} examples — dev token accuracy ${heads}`);
  } else if (end.kind === 'failed') {
    output.error(`${jobId}: ${end.message}`);
    void vscode.window.showErrorMessage(`HdLM: fine-tuning failed: ${end.message}`);
  } else {
    output.warn(`${jobId}: cancelled; the last saved heads are kept`);
  }
  return end;
}
