// The jobs the server runs, from anywhere: "HdLM: Cancel a Running Job…" (the job given, the only
// one running, or a pick among them), "HdLM: Show Jobs…" (running and recent ones, each running
// one with a Cancel button; choosing one shows the task panel) and the status bar item's menu,
// which gathers these with the model, device and server actions. A job started from the task
// panel or the explorer menu, or whose notification was closed, can be stopped here too, and so
// can another window's: its server is asked to cancel it, and this window follows it to its end.
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { cancellable, runningText, stateText, statusLine } from './jobCounts';
import { waitForJobEnd } from './jobWait';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

/** How long a job another window was asked to cancel is followed: a cancel takes effect between batches, within seconds. */
const FOLLOW_ELSEWHERE_MS = 120_000;

/** What a job is, in a few words: "fine-tuning wn.hdlm.json". */
function jobTitle(job: proto.JobView): string {
  return `${proto.JOB_VERBS[job.kind]} ${vscode.workspace.asRelativePath(job.task)}`;
}

const STATE_ICONS: Record<proto.JobView['state'], string> = { running: '$(sync~spin)', done: '$(check)', failed: '$(error)', cancelled: '$(circle-slash)', interrupted: '$(debug-disconnect)' };

async function listJobs(server: ServerConnection, output: TeeOutputChannel): Promise<proto.JobView[] | undefined> {
  try {
    return (await server.request(proto.jobs, {})).jobs;
  } catch (err) {
    const message = `HdLM: could not list the jobs: ${errorMessage(err)}`;
    output.error(message);
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
}

/** What Cancel did: whether the job was running; for another window's, `ended` resolves with the job as it ended (running still: it did not end in time). */
export interface CancelOutcome {
  jobId: string;
  cancelled: boolean;
  elsewhere?: true;
  ended?: Promise<proto.JobView | undefined>;
}

/**
 * Cancels a job: `arg` (a job id), else the only running one, else the one picked. Resolves with
 * the job and whether the server had it running, or asked another window's server to cancel it
 * (undefined when nothing was cancelled).
 */
export async function cancelJobCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<CancelOutcome | undefined> {
  let jobId = typeof arg === 'string' ? arg : undefined;
  let title = jobId ?? '';
  if (!jobId) {
    const running = (await listJobs(server, output))?.filter(cancellable);
    if (!running) return undefined;
    if (running.length === 0) {
      void vscode.window.showInformationMessage('HdLM: no job is running.');
      return undefined;
    }
    const job = running.length === 1 ? running[0]! : (await vscode.window.showQuickPick(running.map((j) => ({ label: jobTitle(j), description: j.jobId, detail: j.line, job: j })), { title: 'HdLM: which job to cancel?' }))?.job;
    if (!job) return undefined;
    jobId = job.jobId;
    title = `${job.jobId} (${jobTitle(job)})`;
  }
  let result: proto.CancelJobResult;
  try {
    result = await server.request(proto.cancelJob, { jobId });
  } catch (err) {
    // The server stopped (its jobs with it) or is restarting: say so instead of failing silently.
    const message = `HdLM: could not cancel ${title}: ${errorMessage(err)}`;
    output.error(message);
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
  const { cancelled, elsewhere, reason } = result;
  if (elsewhere) return { jobId, cancelled, elsewhere, ended: followElsewhere(server, output, jobId, title) };
  if (reason !== undefined) {
    output.warn(`cannot cancel ${title}: ${reason}`);
    void vscode.window.showWarningMessage(`HdLM: cannot cancel ${title}: ${reason}`);
    return { jobId, cancelled };
  }
  output.info(cancelled ? `cancelling ${title}` : `${title} was not running`);
  void (cancelled ? vscode.window.showInformationMessage(`HdLM: cancelling ${title}.`) : vscode.window.showWarningMessage(`HdLM: ${title} is not running.`));
  return { jobId, cancelled };
}

/**
 * Another window's job whose server was asked to cancel it: a notification says the cancel was
 * requested until the job ends, then how it ended (this window gets no progress of it, so the
 * job list is read). Resolves with the job as last listed.
 */
async function followElsewhere(server: ServerConnection, output: TeeOutputChannel, jobId: string, title: string): Promise<proto.JobView | undefined> {
  output.info(`cancel of ${title} requested from the window that runs it`);
  let job: proto.JobView | undefined;
  try {
    job = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `HdLM: cancel of ${title} requested from the window that runs it…` }, () =>
      waitForJobEnd(() => server.request(proto.jobs, {}).then((r) => r.jobs), jobId, { intervalMs: 1000, timeoutMs: FOLLOW_ELSEWHERE_MS }),
    );
  } catch (err) {
    output.warn(`stopped following ${title}: ${errorMessage(err)}`);
    return undefined;
  }
  const said =
    job === undefined ? `HdLM: ${title} is no longer listed.`
    : job.state === 'cancelled' ? `HdLM: ${title} was cancelled in the window that ran it.`
    : job.state === 'running' ? `HdLM: ${title} still runs ${FOLLOW_ELSEWHERE_MS / 1000} s after its cancel was requested: the window that runs it has not acted on it (busy, or not responding?); cancel it there.`
    : `HdLM: ${title} ended ${job.state} before the cancel took effect: ${job.line}`;
  output.info(said.replace(/^HdLM: /, ''));
  void (job?.state === 'cancelled' ? vscode.window.showInformationMessage(said) : vscode.window.showWarningMessage(said));
  return job;
}

const CANCEL_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('debug-stop'), tooltip: 'Cancel this job' };

type JobItem = vscode.QuickPickItem & { job: proto.JobView };

/** Running jobs first, then the ended ones, newest first (the server's order within each). */
function jobItems(jobs: readonly proto.JobView[]): JobItem[] {
  const ordered = [...jobs.filter((j) => j.state === 'running'), ...jobs.filter((j) => j.state !== 'running')];
  return ordered.map((job) => ({
    label: `${STATE_ICONS[job.state]} ${jobTitle(job)}`,
    description: `${job.jobId} · ${stateText(job)} · started ${job.startedAt.slice(0, 16).replace('T', ' ')}`,
    detail: job.line,
    buttons: cancellable(job) ? [CANCEL_BUTTON] : [],
    job,
  }));
}

/**
 * "HdLM: Show Jobs…": the running and recent jobs; a running one's button cancels it, choosing
 * one shows the task panel (which follows the running job, or the last one that ended). Resolves
 * with the job chosen.
 */
export async function showJobsCommand(server: ServerConnection, output: TeeOutputChannel): Promise<proto.JobView | undefined> {
  const jobs = await listJobs(server, output);
  if (!jobs) return undefined;
  if (jobs.length === 0) {
    void vscode.window.showInformationMessage('HdLM: no jobs yet. Fine-tune, evaluate or scan a task to start one.');
    return undefined;
  }
  const pick = vscode.window.createQuickPick<JobItem>();
  pick.title = 'HdLM: jobs (running first)';
  pick.items = jobItems(jobs);
  const chosen = await new Promise<proto.JobView | undefined>((resolve) => {
    let shown = true;
    const relist = async (): Promise<void> => {
      const now = shown ? await listJobs(server, output) : undefined;
      if (now && shown) pick.items = jobItems(now);
    };
    pick.onDidTriggerItemButton(async ({ item }) => {
      const outcome = await cancelJobCommand(server, output, item.job.jobId);
      await relist();
      // Another window's job ends there: listed again once it has.
      void outcome?.ended?.then(relist);
    });
    pick.onDidAccept(() => {
      resolve(pick.selectedItems[0]?.job);
      pick.hide();
    });
    pick.onDidHide(() => {
      shown = false;
      resolve(undefined);
    });
    pick.show();
  });
  pick.dispose();
  if (chosen) await vscode.commands.executeCommand('hdlm.tasks.focus');
  return chosen;
}

type MenuItem = vscode.QuickPickItem & { command: string };

/**
 * The status bar item's menu: the jobs while one runs, then the panel, model, device and server
 * actions. Resolves with the command chosen (after running it).
 */
export async function statusMenuCommand(server: ServerConnection, output: TeeOutputChannel, status: proto.StatusParams): Promise<string | undefined> {
  const listed = await server.request(proto.jobs, {}).then((r) => r.jobs, () => [] as proto.JobView[]);
  const running = listed.filter(cancellable);
  const jobs: MenuItem[] = [
    ...(running.length > 0 ? [{ label: '$(debug-stop) Cancel a Running Job…', description: running.length === 1 ? jobTitle(running[0]!) : `${running.length} running`, command: 'hdlm.cancelJob' }] : []),
    { label: '$(list-unordered) Show Jobs…', description: runningText(listed), command: 'hdlm.showJobs' },
  ];
  const items: MenuItem[] = [
    ...jobs,
    { label: '$(layers) Show Task Panel', command: 'hdlm.tasks.focus' },
    { label: '$(file-directory) Select Model…', description: status.model ?? '', command: 'hdlm.selectModel' },
    { label: '$(checklist) Select Task…', description: vscode.workspace.getConfiguration('hdlm').get<string>('task', '') || 'shipped WordNet task', command: 'hdlm.selectTask' },
    { label: '$(chip) Select Device…', description: status.device, command: 'hdlm.selectDevice' },
    { label: '$(info) Show Engine Info', command: 'hdlm.showEngineInfo' },
    { label: '$(trash) Clear Engine Cache…', command: 'hdlm.clearCache' },
    { label: '$(output) Show Server Log', command: 'hdlm.showLog' },
    { label: '$(refresh) Restart Server', command: 'hdlm.restartServer' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `HdLM — ${statusLine(status)}` });
  if (!pick) return undefined;
  output.info(`status menu: ${pick.command}`);
  await vscode.commands.executeCommand(pick.command);
  return pick.command;
}
