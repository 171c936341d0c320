// This server's fine-tuning, evaluation and layer-scan jobs, as HdlmServer hosts them: the job
// processes (Jobs) and their journal, which heads folder each job writes into (one job per
// folder), and the editor's work-done progress of each. HdlmServer checks a request and reads the
// settings; this starts, lists and cancels the jobs.
import { basename } from 'node:path';
import { ResponseError } from 'vscode-languageserver';
import { samePath } from '../../engine/src/samePath';
import { Jobs, type JobSettings } from './jobs';
import { JobJournal } from './jobJournal';
import type { OutboundClient, ProgressHandle } from './outboundClient';
import { ErrorCodes, JOB_VERBS, type CancelJobResult, type JobKind, type JobPlan, type JobProgressParams, type JobView } from './protocol';

export class JobHost {
  /** The jobs; replaced (useJournal) on `initialize` by one that keeps the workspace's journal. */
  private jobs: Jobs;
  /** The heads folder each started job works in (entries of ended jobs are dropped when next read). */
  private readonly jobHeads = new Map<string, string>();
  /** LSP work-done progress of each running job. */
  private readonly progress = new Map<string, ProgressHandle>();

  /**
   * @param cli the CLI the job processes run (Defaults.cli).
   * @param onExited called with its id after a job's process has exited.
   */
  constructor(
    private readonly cli: string,
    private readonly client: Pick<OutboundClient, 'startProgress' | 'sendJobProgress' | 'log'>,
    private readonly onExited: (jobId: string) => void,
  ) {
    this.jobs = this.newJobs(new JobJournal(undefined));
  }

  /** Keeps the jobs in `journal` from now on (the workspace's, shared with its other windows). */
  useJournal(journal: JobJournal): void {
    this.jobs = this.newJobs(journal);
  }

  private newJobs(journal: JobJournal): Jobs {
    return new Jobs(this.cli, journal, (p) => this.onProgress(p), (m) => this.client.log(m), this.onExited);
  }

  /** Calls `onChange` with other windows' running jobs on this workspace whenever they change (Jobs.followOthers). */
  followOthers(onChange: (running: JobView[]) => void): void {
    this.jobs.followOthers(onChange);
  }

  /** The job writing into `headsDir` now, if any (jobs that have sent their result write no more). */
  busyOn(headsDir: string): string | undefined {
    const writing = new Set(this.jobs.writing);
    for (const id of [...this.jobHeads.keys()]) if (!writing.has(id)) this.jobHeads.delete(id);
    return [...this.jobHeads].find(([, dir]) => samePath(dir, headsDir))?.[0];
  }

  /**
   * One job at a time per heads folder: two fine-tunings would interleave their heads, and an
   * evaluation during a fine-tuning would measure a mix of old and new heads. (Two task files
   * can share a folder: the folder decides, not the file.)
   */
  refuseIfHeadsBusy(file: string, headsDir: string): void {
    const busy = this.busyOn(headsDir);
    if (busy === undefined) return;
    const view = this.jobs.journal.get(busy);
    const what = view ? `${JOB_VERBS[view.kind]} ${basename(view.task)}` : 'running';
    throw new ResponseError(ErrorCodes.badRequest, `${basename(file)}: its heads (${headsDir}) are in use by ${busy} (${what}); wait for it to end or cancel it`);
  }

  /** Starts a job on `file`, writing into `headsDir`, with the editor's progress (cancellable there); its id. */
  start(kind: JobKind, file: string, headsDir: string, settings: JobSettings, extra: string[], plan: JobPlan): string {
    const jobId = this.jobs.start(kind, file, settings, extra, plan);
    this.jobHeads.set(jobId, headsDir);
    this.progress.set(jobId, this.client.startProgress(`HdLM: ${JOB_VERBS[kind]} ${basename(file)}`, () => this.jobs.cancel(jobId)));
    return jobId;
  }

  /** The running and recent jobs, newest first (hdlm/jobs). */
  list(): JobView[] {
    return this.jobs.journal.list();
  }

  /** This server's job, or another window's (asked of its server): hdlm/cancelJob. */
  cancel(jobId: string): CancelJobResult {
    return this.jobs.cancelAnywhere(jobId);
  }

  /** The ids of this server's running jobs, oldest first. */
  get running(): string[] {
    return this.jobs.running;
  }

  /** What the newest running job of this server does, as its status said it ("fine-tuning /ws/t.hdlm.json"). */
  runningMessage(): string | undefined {
    const view = this.jobs.running
      .map((id) => this.jobs.journal.get(id))
      .filter((v) => v !== undefined)
      .at(-1);
    return view === undefined ? undefined : `${JOB_VERBS[view.kind]} ${view.task}`;
  }

  /** Ends every job's progress in the editor and stops the jobs. */
  dispose(): void {
    for (const handle of this.progress.values()) handle.done();
    this.jobs.dispose();
  }

  /** A job moved on: the client hears it (hdlm/jobProgress), and the editor's progress shows it until the job ends. */
  private onProgress(params: JobProgressParams): void {
    this.client.sendJobProgress(params);
    const view = this.jobs.journal.get(params.jobId);
    const handle = this.progress.get(params.jobId);
    if (view && handle) {
      handle.report(view.line, Math.round((view.overall ?? view.fraction) * 100));
      if (view.state !== 'running') {
        handle.done();
        this.progress.delete(params.jobId);
      }
    }
  }
}
