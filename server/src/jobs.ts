// Long jobs (fine-tuning, evaluation, layer scans) run outside the language server's process: each is the
// `hdlm` CLI with `--events` in a child process, so a long run never blocks requests, hover or
// diagnostics. Its JSON lines become `hdlm/jobProgress` notifications and update the job's view
// in the journal (jobJournal.ts). Cancelling closes the job's stdin, which the CLI
// (--stop-on-stdin-end) turns into a cooperative stop, as it does Ctrl-C: the last saved heads and
// resume points stay as they were. A pipe's end, unlike a signal, means the same on every
// platform, and it comes too when this server dies. Only this server holds a job's stdin, so
// another window cancels it by asking this server (a request in the journal's folder, which this
// server watches while it runs jobs, or all along when it follows other windows' jobs:
// JobJournal.watch), and this server cancels it exactly as it cancels its own.
import { ChildProcess, spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { JOB_VERBS, type CancelJobResult, type JobEvent, type JobKind, type JobPlan, type JobProgressParams, type JobView } from './protocol';
import type { JobJournal } from './jobJournal';
import { withHugePageMalloc } from '../../engine/src/runtime/hugePages';

export interface JobSettings {
  providers: readonly string[];
  threads: number;
}

/** The CLI command and options of each kind of job. */
function cliArgs(kind: JobKind, taskFile: string, settings: JobSettings, extra: readonly string[]): string[] {
  const command = { train: 'train', evaluate: 'eval', scan: 'scan-layers' }[kind];
  return [command, '--task', taskFile, '--events', '--stop-on-stdin-end', '--device', settings.providers.join(','), '--threads', String(settings.threads), ...extra];
}

/**
 * Niceness of a job's process. A fine-tuning or evaluation run keeps every core busy; at the
 * editor's own priority the extension host and this server queue behind it for each hop of a
 * hover or completion. Below it, the editor's short bursts come first and the job loses only
 * the time they take. (On Linux niceness is per thread; the job's compute threads are created
 * after this is set, so they inherit it.)
 */
const JOB_NICENESS = 10;

/** The event that ends a job of this kind successfully. */
function isResult(event: JobEvent): boolean {
  return event.kind === 'report' || event.kind === 'evaluation' || event.kind === 'thoughtEvaluation' || event.kind === 'layerScan';
}

/**
 * Why a job's process ended without its result, for people; never empty. A process killed by a
 * signal says nothing itself (whatever it wrote last to stderr was written before, and is not why
 * it ended): the signal is named, and SIGKILL, which nothing catches, is most often the system's
 * out-of-memory killer. Otherwise the CLI's error is its last line on stderr, and a process that
 * wrote none is named by its exit code.
 */
export function failureMessage(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return "the job's process was killed by SIGKILL (out of memory? the system kills the largest process when memory runs out)";
  if (signal) return `the job's process was killed by ${signal}`;
  const last = stderr.trim().split('\n').pop()?.trim().replace(/^hdlm: /, '');
  return last || `the job's process exited with code ${code ?? 'unknown'} without saying why`;
}

export class Jobs {
  private readonly children = new Map<string, ChildProcess>();
  /** Running jobs that have sent their result: their process is only exiting. */
  private readonly settled = new Set<string>();
  /** The journal's folder is watched for other windows' cancel requests while this server runs jobs, and all along once followOthers is called. */
  private journalWatch: { dispose(): void } | undefined;
  /** Told of other windows' running jobs as they change (followOthers). */
  private othersListener: ((running: JobView[]) => void) | undefined;

  constructor(
    private readonly cliPath: string,
    readonly journal: JobJournal,
    private readonly notify: (params: JobProgressParams) => void,
    private readonly log: (message: string) => void,
    /** Called with its id after a job's process has exited (it no longer counts as running, nor holds its heads). */
    private readonly onExit: (jobId: string) => void = () => undefined,
  ) {}

  /** Runs the job below the editor's priority; where the system refuses, it runs at the same one, and the log says so. */
  private lowerPriority(jobId: string, pid: number | undefined): void {
    if (pid === undefined) return; // spawning failed; 'close' reports it
    try {
      setPriority(pid, JOB_NICENESS);
    } catch (err) {
      this.log(`${jobId}: could not lower the job's priority (${(err as Error).message}); it runs at the editor's`);
    }
  }

  /** The `hdlm` CLI beside the server bundle. */
  static defaultCli(): string {
    return join(__dirname, 'hdlm.js');
  }

  /**
   * Starts a job; `extra` are further CLI options (e.g. `--max-examples 50`), `plan` what the
   * progress scale needs to know up front (jobView.ts `jobPlan`).
   */
  start(kind: JobKind, taskFile: string, settings: JobSettings, extra: readonly string[] = [], plan?: JobPlan): string {
    const jobId = this.journal.create(kind, taskFile, plan);
    // With huge-page malloc even where the editor started this server without it (hugePages.ts).
    const child = spawn(process.execPath, [this.cliPath, ...cliArgs(kind, taskFile, settings, extra)], { stdio: ['pipe', 'pipe', 'pipe'], env: withHugePageMalloc(process.env) });
    // Closing stdin is how a job is cancelled; a job already gone answers it with EPIPE.
    child.stdin.on('error', () => undefined);
    this.children.set(jobId, child);
    this.watchJournal();
    this.log(`${jobId}: started ${JOB_VERBS[kind]} ${taskFile} (pid ${child.pid})`);
    this.lowerPriority(jobId, child.pid);
    const emit = (event: JobEvent): void => {
      this.journal.apply(jobId, event);
      // The journal's view knows the plan: its overall fraction goes with the event.
      const overall = this.journal.get(jobId)?.overall;
      this.notify({ jobId, kind, task: taskFile, event, ...(overall !== undefined ? { overall } : {}) });
    };
    let stderr = '';
    let finished = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: JobEvent;
      try {
        event = JSON.parse(line) as JobEvent;
      } catch {
        this.log(`${jobId}: ${line}`);
        return;
      }
      if (isResult(event)) {
        finished = true;
        this.settled.add(jobId);
      }
      emit(event);
    });
    child.on('close', (code, signal) => {
      this.children.delete(jobId);
      this.settled.delete(jobId);
      if (this.children.size === 0 && !this.othersListener) this.stopWatchingJournal();
      if (!finished) {
        const cancelled = signal === 'SIGINT' || code === 130;
        if (cancelled) {
          this.log(`${jobId}: cancelled`);
          emit({ kind: 'cancelled' });
        } else {
          const message = failureMessage(stderr, code, signal);
          // The whole stderr goes to the log (a stack, warnings before the error); the job's line has one.
          this.log(`${jobId}: failed: ${message}${stderr.trim().includes('\n') || signal ? `\n${stderr.trim()}` : ''}`.trimEnd());
          emit({ kind: 'failed', message });
        }
      }
      this.onExit(jobId);
    });
    return jobId;
  }

  /** Cancels a job of this server; false when it runs none by that id. */
  cancel(jobId: string): boolean {
    const child = this.children.get(jobId);
    if (!child) return false;
    child.stdin?.end();
    return true;
  }

  /**
   * `hdlm/cancelJob`: a job of this server is cancelled; a running job of another server on the
   * journal (another window) is asked of that server, which cancels it as its own.
   */
  cancelAnywhere(jobId: string): CancelJobResult {
    if (this.cancel(jobId)) return { cancelled: true };
    const outcome = this.journal.requestCancel(jobId);
    if (outcome.requested) {
      this.log(`${jobId}: asked the window that runs it to cancel it`);
      return { cancelled: true, elsewhere: true };
    }
    return outcome.reason === undefined ? { cancelled: false } : { cancelled: false, reason: outcome.reason };
  }

  /** Another window asked to cancel a job of this server. */
  private cancelRequested(jobId: string): void {
    if (this.cancel(jobId)) this.log(`${jobId}: cancelling, as another window asked`);
  }

  /**
   * Calls `onChange` with other windows' running jobs on this journal as they start, move on and
   * end (JobJournal.watch), until disposed: the server's status says that they run.
   */
  followOthers(onChange: (running: JobView[]) => void): void {
    this.othersListener = onChange;
    this.stopWatchingJournal(); // a watch started for cancel requests only gains the listener
    this.watchJournal();
  }

  private watchJournal(): void {
    const listener = this.othersListener;
    this.journalWatch ??= this.journal.watch({ cancel: (id) => this.cancelRequested(id), ...(listener ? { othersChanged: listener } : {}) });
  }

  private stopWatchingJournal(): void {
    this.journalWatch?.dispose();
    this.journalWatch = undefined;
  }

  get running(): string[] {
    return [...this.children.keys()];
  }

  /**
   * Running jobs that may still write: their result is not sent yet. A job writes its heads and
   * records before it sends its result, so its heads folder is free from then on, while its
   * process still exits (a moment in which an Evaluate clicked at "done" must not be refused).
   */
  get writing(): string[] {
    return this.running.filter((id) => !this.settled.has(id));
  }

  dispose(): void {
    this.othersListener = undefined;
    this.stopWatchingJournal();
    for (const child of this.children.values()) child.stdin?.end();
    this.journal.flush();
  }
}
