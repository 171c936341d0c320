// "HdLM: Fine-tune Heads" and "HdLM: Evaluate Task": pick a task file (the argument, the active
// *.hdlm.json editor, or one from the workspace), start the job on the server and follow it in
// a cancellable progress notification until it ends. "HdLM: Evaluate a Task on This File" picks
// the dataset file first, then the task, and evaluates on that file instead of the test split. The job belongs to the server (it runs in
// its own process there); closing the notification or the panel does not stop it, Cancel does.
import { isAbsolute } from 'node:path';
import * as vscode from 'vscode';
import { ErrorCodes as RpcErrorCodes, ResponseError } from 'vscode-languageclient';
// jobView.ts lives with the server but is shared on purpose: the server's journal and this
// notification fold a job's events into the same view and word it alike (it is pure: no I/O, no server state).
import { applyJobEvent, evaluationLine, newJobView, progressIncrement, thoughtEvaluationLine } from '../../server/src/jobView';
import * as proto from '../../server/src/protocol';
import { layerScanSummary } from '../../engine/src/hdlm/layerScanMarkdown';
import { readTaskFile } from '../../engine/src/hdlm/taskFile';
import { chooseDataset, chooseFile, readyOnDisk } from './chooseFile';
import { jobFailedNotice, jobNotStartedNotice } from './notices';
import { RequestErrors } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import { errorMessage } from '../../engine/src/errorMessage';
import { confirmJobWrites, jobsAllowed } from './trust';

/** The task: the argument, the active *.hdlm.json editor, or a pick among the workspace's. */
export async function chooseTask(arg: unknown, verb: string): Promise<string | undefined> {
  // A plain path goes to the server as it is: it resolves one relative to the workspace.
  if (typeof arg === 'string' && !arg.startsWith('file:')) return arg;
  const uri = await chooseFile(arg, {
    isOne: (doc) => doc.languageId === 'hdlm-task',
    glob: '**/*.hdlm.json',
    max: 50,
    title: `HdLM: which task to ${verb}?`,
    none: () => void vscode.window.showWarningMessage(`HdLM: no task file (*.hdlm.json) in the workspace. Create one to ${verb}.`, 'New Task from Dataset…').then((choice) => choice && vscode.commands.executeCommand('hdlm.createTask')),
    takeSingle: true,
  });
  return uri?.fsPath;
}

/** The task file a chosen task names: a plain relative path (scripts) is in the first folder, as the server resolves it. */
export function taskUri(task: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return isAbsolute(task) || !folder ? vscode.Uri.file(task) : vscode.Uri.joinPath(folder, task);
}

/** Per kind: what the task pick asks, what the trust questions call the job, and how it starts (an evaluation can be given its file). */
const KINDS: Record<proto.JobKind, { verb: string; doing: string; start: (server: ServerConnection, task: string, file?: vscode.Uri) => Promise<proto.JobStarted> }> = {
  train: { verb: 'fine-tune', doing: 'fine-tuning', start: (server, task) => server.request(proto.train, { task }) },
  evaluate: { verb: 'evaluate', doing: 'evaluating', start: (server, task, file) => server.request(proto.evaluate, { task, ...(file ? { file: file.fsPath } : {}) }) },
  scan: { verb: 'scan the layers of', doing: 'scanning the layers', start: (server, task) => server.request(proto.scanLayers, { task }) },
};

/** Whether jobs of this kind may run here at all (not in Restricted Mode: trust.ts). */
export function jobKindAllowed(kind: proto.JobKind): boolean {
  return jobsAllowed(KINDS[kind].doing);
}

/**
 * Whether the job may write into the task's heads folder (trust.ts asks when it is outside the
 * workspace). A task file that does not read is let through: the server refuses it by name.
 */
async function headsFolderAgreed(kind: proto.JobKind, file: string): Promise<boolean> {
  let headsDir: string;
  try {
    ({ headsDir } = readTaskFile(file));
  } catch {
    return true;
  }
  return confirmJobWrites(KINDS[kind].doing, file, headsDir);
}

function isEnd(event: proto.JobEvent): boolean {
  return ['report', 'evaluation', 'thoughtEvaluation', 'layerScan', 'failed', 'cancelled'].includes(event.kind);
}

/**
 * Starts a job and follows it; resolves with the event it ended with (undefined if it never
 * started). An evaluation can be given the `file` to run on.
 */
export async function runJobCommand(kind: proto.JobKind, server: ServerConnection, output: vscode.LogOutputChannel, arg?: unknown, file?: vscode.Uri): Promise<proto.JobEvent | undefined> {
  const { verb, start } = KINDS[kind];
  const title = proto.JOB_VERBS[kind];
  // Every job passes here (code lenses, the task panel, the commands): Restricted Mode refuses
  // it before anything is picked or read.
  if (!jobKindAllowed(kind)) return undefined;
  const task = await chooseTask(arg, file ? `${verb} on ${vscode.workspace.asRelativePath(file)}` : verb);
  if (!task) return undefined;
  // The job reads the task file on disk: unsaved edits (a level's layer, the epochs) are asked
  // about first, as a dataset's are, instead of being left out silently.
  if (!(await readyOnDisk(taskUri(task), 'the job reads it'))) return undefined;
  if (!(await headsFolderAgreed(kind, taskUri(task).fsPath))) return undefined;
  let jobId: string;
  try {
    ({ jobId } = await start(server, task, file));
  } catch (err) {
    const message = errorMessage(err);
    output.error(`${verb}: ${message}`);
    RequestErrors.notify(jobNotStartedNotice(kind, task, message, answeredByNoServer(err)), output);
    return undefined;
  }
  output.info(`${title} ${task} (${jobId})`);
  const view = newJobView(jobId, kind, task);
  // Set when the server process stops under the job: the failure notice then offers a restart.
  let serverStopped = false;
  const end = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `HdLM: ${title} ${vscode.workspace.asRelativePath(task)}`, cancellable: true },
    (progress, token) =>
      new Promise<proto.JobEvent>((resolve) => {
        token.onCancellationRequested(() => void server.request(proto.cancelJob, { jobId }).catch(() => undefined));
        // The job runs under the server: when the server dies, so does the job (its saved heads stay).
        const stopped = server.onDidStop(() => {
          listener.dispose();
          stopped.dispose();
          const saved = kind === 'train' ? '; the heads saved so far are kept and fine-tuning again resumes from them' : '';
          serverStopped = true;
          resolve({ kind: 'failed', message: `the HdLM server stopped during this job${saved}` });
        });
        let reported = 0;
        const listener = server.onJobProgress(({ jobId: id, event, overall }) => {
          if (id !== jobId) return;
          applyJobEvent(view, event);
          // The notification's bar sums increments: report how far the whole job (the server's
          // scale, which knows the job's plan; else this view's) moved since the last report.
          const increment = progressIncrement(reported, overall ?? view.overall ?? 0);
          reported += increment;
          progress.report({ message: view.line, increment });
          if (event.kind === 'epoch') output.info(`${jobId}: ${view.line}`);
          // A job's stages and notices (lines skipped, texts repeated across splits, examples left
          // out or with labels never seen in training, by file and line) pass through the
          // notification in a moment: the log keeps them.
          else if (event.kind === 'stage') output.info(`${jobId}: ${event.message}`);
          if (isEnd(event)) {
            listener.dispose();
            stopped.dispose();
            resolve(event);
          }
        });
      }),
  );
  announce(jobId, kind, task, end, serverStopped, output);
  return end;
}

/**
 * Evaluates a task on a dataset file (the argument, the active *.jsonl editor, or a pick); the
 * task is the second argument when it names a task file (scripts, tests), else picked. (The
 * explorer's context menu passes the selected files second: those are not a task.)
 */
export async function evaluateOnFileCommand(server: ServerConnection, output: vscode.LogOutputChannel, arg?: unknown, taskArg?: unknown): Promise<proto.JobEvent | undefined> {
  if (!jobKindAllowed('evaluate')) return undefined; // before the dataset is picked
  const file = await chooseDataset(arg, 'evaluate a task on');
  if (!file || !(await readyOnDisk(file, 'the evaluation reads it'))) return undefined;
  const named = taskArg instanceof vscode.Uri ? taskArg.fsPath : taskArg;
  return runJobCommand('evaluate', server, output, typeof named === 'string' && named.endsWith('.hdlm.json') ? named : undefined, file);
}

/**
 * Whether a request failed without a running server's answer: the server was given up on, or
 * the connection went away under the request (a server's own refusal is any other ResponseError).
 */
function answeredByNoServer(err: unknown): boolean {
  return !(err instanceof ResponseError) || err.code === RpcErrorCodes.PendingResponseRejected || err.code === RpcErrorCodes.ConnectionInactive;
}

/** Says how a job ended: a notification for people (naming the task, not the id), a line in the log. */
function announce(jobId: string, kind: proto.JobKind, task: string, end: proto.JobEvent, serverStopped: boolean, output: vscode.LogOutputChannel): void {
  switch (end.kind) {
    case 'report': {
      const heads = end.report.heads.map((h) => `${h.name}@${h.layer} ${(h.bestDevAccuracy * 100).toFixed(1)}%`).join(', ');
      const outcome = proto.retrainedNothing(end.report) ? 'nothing retrained (already trained with these settings and data)' : `done in ${(end.report.seconds.features + end.report.seconds.training).toFixed(0)} s`;
      output.info(`${jobId}: ${outcome}: ${heads}`);
      void vscode.window.showInformationMessage(`HdLM: fine-tuned ${end.report.task} on ${end.report.examples.train} examples — dev token accuracy ${heads}`);
      return;
    }
    case 'evaluation': {
      const line = evaluationLine(end.evaluation);
      output.info(`${jobId}: ${line}`);
      void vscode.window.showInformationMessage(`HdLM: ${line}`, 'Show Task Panel').then((choice) => choice && vscode.commands.executeCommand('hdlm.tasks.focus'));
      return;
    }
    case 'thoughtEvaluation': {
      const line = thoughtEvaluationLine(end.evaluation);
      output.info(`${jobId}: ${line}`);
      void vscode.window.showInformationMessage(`HdLM: ${line}`);
      return;
    }
    case 'layerScan':
      // The scan's command shows the report and offers the layers (layerScanCommand.ts).
      output.info(`${jobId}: ${layerScanSummary(end.scan)}`);
      return;
    case 'failed':
      output.error(`${jobId}: ${end.message}`);
      RequestErrors.notify(jobFailedNotice(kind, task, end.message, serverStopped), output);
      return;
    default:
      output.warn(`${jobId}: ${end.kind === 'cancelled' ? 'cancelled' : end.kind}`);
  }
}
