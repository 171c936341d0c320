// What the server knows of its jobs: one JobView per job, rebuilt from the job's events, kept
// for the running jobs and the most recent ended ones. The journal is written to files (per
// workspace), so a reopened panel, a reloaded window or a restarted server still sees where a
// job stands or how it ended. A job that was running when its server died is shown as
// interrupted: its child process ends with the server (its output pipe closes), and the heads
// it saved before are kept, so fine-tuning again resumes from them.
//
// Several servers share a workspace's journal: two windows on one workspace, and every window
// without a folder. Each server writes its own file in the workspace's journal folder, and only
// its own jobs into it; listing reads every file there and merges them, so another server's job
// is seen moving on and ending. A file with one writer needs no lock: a write replaces it
// atomically, and no other server's write can put back an older copy of it (as one shared file
// read, changed and replaced by each server did when two wrote in the same instant). A lock
// would have to be waited for in the middle of a write, and a lock left by a killed server
// told from one held by a slow one; one file per server asks neither.
// - Nothing is written into another server's file. A job stored as running whose server is gone
//   is shown as interrupted at the time its server last wrote (the file's time: a running job
//   writes within a second of each event, so that is about when it stopped). A server is its
//   pid and its process's start (processAlive.ts), so a pid now reused by another process does
//   not keep a dead server's job running forever; for entries written before the start was
//   recorded, a process that started after the job did is not its server (processAliveSince).
//   Where the start cannot be read (not Linux), the pid alone decides, and a reused pid can.
// - The files of servers that are gone are removed once none of their jobs is among those kept
//   (when a server starts a job), so the folder holds about as many files as jobs are kept; so
//   are the temporary files of servers killed in the middle of a write (sweepDeadTemps).
// - A job's id carries a random tag of the server that started it (`train-3-k2f9`), which also
//   names the server's file: two servers numbering from the folder at once (each counts on from
//   the highest number in it) do not give the same id (two tags alike: one chance in 1.7 million).
// - Another window cancels a job by leaving a request file for it in the folder
//   (`<jobId>.cancel`); the server that runs the job watches the folder, cancels the job as it
//   cancels its own, and removes the request (watch). The same watch tells a server of the
//   other servers' running jobs as their files change, so its status can say that a job runs in
//   another window and how far it is (each server writes its running jobs' progress into its
//   file, at most once a second: WRITE_DELAY_MS).
// - The single shared file of earlier versions (`<folder>.json`) is still read, never written:
//   its jobs are listed with the others, and removed with it once none of them is kept. Its
//   running jobs belong to servers of those versions, which take no cancel requests.
import { createHash, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import { sweepDeadTemps, writeAtomically } from '../../engine/src/atomicFile';
import { processAlive, processAliveSince, processStart } from '../../engine/src/processAlive';
import { applyJobEvent, newJobView } from './jobView';
import type { JobEvent, JobKind, JobPlan, JobView } from './protocol';
import { errorMessage } from '../../engine/src/errorMessage';

/** Ended jobs kept beside the running ones. */
const KEEP_ENDED = 20;
/** Progress writes are coalesced to at most one per this many milliseconds. */
const WRITE_DELAY_MS = 1000;
/** How often a server running jobs looks for cancel requests, besides watching the folder (a watch can miss events, or be refused). */
const CANCEL_POLL_MS = 2000;
/** A cancel request this old whose job is listed nowhere (its files removed) is removed too. */
const STALE_REQUEST_MS = 60 * 60 * 1000;
const REQUEST_SUFFIX = '.cancel';

interface StoredJob extends JobView {
  /** Process id of the server that ran the job: its death means the job was interrupted. */
  serverPid: number;
  /** When that process started (processStart), where the system tells: a reused pid is not it. */
  serverStart?: string;
}

/** A job as read from a file of the folder, and that file. */
interface ReadJob {
  job: StoredJob;
  file: string;
}

/** What one read of the folder found: every job, newest first and trimmed, and the files read, each with the jobs stored in it. */
interface FolderRead {
  jobs: ReadJob[];
  files: Map<string, StoredJob[]>;
}

/** What a watch of the journal's folder (JobJournal.watch) passes on. */
export interface JournalWatchHandlers {
  /** Another window asks to cancel this server's running job. */
  cancel(jobId: string): void;
  /** The other servers' running jobs, as they now stand (`elsewhere`), when they may have changed. */
  othersChanged?(running: JobView[]): void;
}

/** Whether a cancel request was left for another server's job; if not, why, for people, where there is more to say than that it is not running. */
export type CancelRequestOutcome = { requested: true } | { requested: false; reason?: string };

/**
 * The journal of a workspace: this path (`<stateDir>/jobs/<hash of the workspace folder>.json`)
 * is the shared file of earlier versions, read still; the folder of the same name without
 * `.json` holds one file per server and the cancel requests.
 */
export function journalFile(stateDir: string, workspaceRoot: string | undefined): string {
  const key = createHash('sha256').update(workspaceRoot ?? '(no workspace)').digest('hex').slice(0, 16);
  return join(stateDir, 'jobs', `${key}.json`);
}

export class JobJournal {
  /** The jobs this server started, newest first: the only entries it writes. */
  private own: StoredJob[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** This server's part of its jobs' ids, and its file's name. */
  private readonly tag = randomInt(36 ** 4).toString(36).padStart(4, '0');
  private readonly serverStart = processStart(process.pid);
  /** The folder of per-server files and cancel requests; undefined in memory only. */
  private readonly dir: string | undefined;
  /** Problems reading each file that were logged: a damaged file is logged once, not at each read. */
  private readonly logged = new Map<string, string>();

  /** `file` (journalFile) undefined keeps the journal in memory only. */
  constructor(
    private readonly file: string | undefined,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.dir = file === undefined ? undefined : file.endsWith('.json') ? file.slice(0, -'.json'.length) : `${file}.d`;
  }

  /** This server's own file in the folder. */
  private get ownFile(): string | undefined {
    return this.dir && join(this.dir, `${this.tag}.json`);
  }

  /** Registers a new running job and returns its id (unique across servers and their restarts). */
  create(kind: JobKind, task: string, plan?: JobPlan): string {
    const read = this.readFolder();
    const n = 1 + Math.max(0, ...read.jobs.map((j) => jobNumber(j.job.jobId)));
    const jobId = `${kind}-${n}-${this.tag}`;
    const job: StoredJob = { ...newJobView(jobId, kind, task, new Date(), plan), serverPid: process.pid };
    if (this.serverStart !== undefined) job.serverStart = this.serverStart;
    this.own = trimmed([job, ...this.own], (j) => j);
    this.write();
    this.sweep(read);
    return jobId;
  }

  apply(jobId: string, event: JobEvent): void {
    const job = this.own.find((j) => j.jobId === jobId);
    if (!job) return;
    applyJobEvent(job, event);
    if (job.state === 'running') this.scheduleWrite();
    else this.write();
  }

  /** Running and recent jobs of every server on this journal, newest first, without the journal's own bookkeeping. */
  list(): JobView[] {
    const mine = new Set(this.own.map((j) => j.jobId));
    return this.readFolder().jobs.map(({ job }) => (mine.has(job.jobId) ? withoutBookkeeping(job) : { ...withoutBookkeeping(job), elsewhere: true as const }));
  }

  /** A job of this server as it knows it, else as the files have it. */
  get(jobId: string): JobView | undefined {
    const job = this.own.find((j) => j.jobId === jobId) ?? this.readFolder().jobs.find((j) => j.job.jobId === jobId)?.job;
    return job && withoutBookkeeping(job);
  }

  /** Writes now what is pending, and this server's jobs as it knows them (on shutdown). */
  flush(): void {
    if (this.timer !== undefined || this.own.length > 0) this.write();
  }

  /**
   * Asks the server running another server's job to cancel it (a request file it watches for).
   * Not for this server's own jobs, which it cancels itself.
   */
  requestCancel(jobId: string): CancelRequestOutcome {
    const found = this.readFolder().jobs.find((j) => j.job.jobId === jobId);
    if (!this.dir || !found || found.job.state !== 'running' || this.own.some((j) => j.jobId === jobId)) return { requested: false };
    if (found.file === this.file) return { requested: false, reason: `${jobId} runs in a window with an earlier version of HdLM, which takes no cancel requests from other windows: cancel it in that window (or reload that window first)` };
    try {
      writeAtomically(join(this.dir, `${jobId}${REQUEST_SUFFIX}`), [Buffer.from(`${JSON.stringify({ jobId, requestedAt: new Date().toISOString(), by: process.pid })}\n`)]);
      return { requested: true };
    } catch (err) {
      return { requested: false, reason: `could not leave the cancel request in ${this.dir}: ${errorMessage(err)}` };
    }
  }

  /**
   * Watches the folder until disposed: calls `cancel` with each of this server's running jobs
   * that another window asks to cancel (requestCancel), each request removed once passed on; and
   * `othersChanged` with the other servers' running jobs whenever their files change (a job
   * started, moved on, ended), and at each look while any of them runs, since a server that dies
   * writes nothing and its job is then interrupted (its status must not say it runs on). Watches
   * the folder, and looks every CANCEL_POLL_MS too: a watch may miss events (network file
   * systems) or be refused (no inotify watches left). A look when nothing changed reads only the
   * folder's listing and its files' times, not the files.
   */
  watch(handlers: JournalWatchHandlers): { dispose(): void } {
    const dir = this.dir;
    if (!dir) return { dispose: () => undefined };
    let seen: string | undefined;
    let othersRunning = false;
    const look = (): void => {
      // Called from a watch and a timer: a failure here is logged, never thrown into the server.
      try {
        for (const jobId of requestsIn(dir)) {
          const job = this.own.find((j) => j.jobId === jobId);
          if (!job) continue; // another server's job: its server takes it
          rmSync(join(dir, `${jobId}${REQUEST_SUFFIX}`), { force: true });
          if (job.state === 'running') handlers.cancel(jobId);
        }
        if (!handlers.othersChanged) return;
        const files = this.storedFiles().map((f) => {
          const stat = statSync(f, { throwIfNoEntry: false });
          return `${f}:${stat?.mtimeMs}:${stat?.size}`;
        });
        const signature = files.join('\n');
        if (signature === seen && !othersRunning) return;
        seen = signature;
        const mine = new Set(this.own.map((j) => j.jobId));
        const running = this.readFolder().jobs.filter((j) => j.job.state === 'running' && !mine.has(j.job.jobId));
        othersRunning = running.length > 0;
        handlers.othersChanged(running.map(({ job }) => ({ ...withoutBookkeeping(job), elsewhere: true as const })));
      } catch (err) {
        this.log(`job journal ${dir}: could not look at the folder: ${errorMessage(err)}`);
      }
    };
    let watcher: FSWatcher | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      watcher = watch(dir, (_event, name) => {
        // Temporary files of atomic writes (a dot first) say nothing yet: their rename follows.
        if (name === null || !String(name).startsWith('.')) look();
      });
      // Watching must not keep a finished process alive (dispose ends it in a server).
      watcher.unref();
      watcher.on('error', (err) => {
        this.log(`job journal ${dir}: watching the folder failed (${err.message}); looking every ${CANCEL_POLL_MS / 1000} s instead`);
        watcher?.close();
      });
    } catch (err) {
      this.log(`job journal ${dir}: cannot watch the folder (${errorMessage(err)}); looking every ${CANCEL_POLL_MS / 1000} s instead`);
    }
    // unref: looking must not keep a finished server process alive.
    const poll = setInterval(look, CANCEL_POLL_MS).unref();
    look();
    return {
      dispose: () => {
        clearInterval(poll);
        watcher?.close();
      },
    };
  }

  /**
   * Every job in the folder and the file of earlier versions: this server's as it knows them,
   * the others' as stored (a running one whose server is gone, interrupted), newest first, the
   * ended ones trimmed to the newest KEEP_ENDED.
   */
  private readFolder(): FolderRead {
    const files = new Map<string, StoredJob[]>();
    const others: ReadJob[] = [];
    const mine = new Set(this.own.map((j) => j.jobId));
    const seen = new Set(mine);
    for (const file of this.storedFiles()) {
      const stored = this.read(file);
      if (!stored) continue;
      files.set(file, stored.jobs);
      for (const job of stored.jobs) {
        // A job is in one file, but a file copied by hand, or an old shared file, may repeat one.
        if (seen.has(job.jobId)) continue;
        seen.add(job.jobId);
        others.push({ job: interruptedIfOrphaned(job, stored.writtenAt), file });
      }
    }
    const own: ReadJob[] = this.own.map((job) => ({ job, file: this.ownFile ?? '' }));
    const jobs = [...own, ...others].sort((a, b) => (a.job.startedAt < b.job.startedAt ? 1 : a.job.startedAt > b.job.startedAt ? -1 : 0));
    return { jobs: trimmed(jobs, (j) => j.job), files };
  }

  /** The files to read: every other server's in the folder, and the shared file of earlier versions. */
  private storedFiles(): string[] {
    const files = this.file && existsSync(this.file) ? [this.file] : [];
    if (!this.dir) return files;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return files; // no folder yet: no server has written
    }
    // Temporary files of atomic writes start with a dot (writeAtomically).
    return [...files, ...names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => join(this.dir!, n)).filter((f) => f !== this.ownFile)];
  }

  /** A file's jobs and when it was last written, or undefined when it is gone or unreadable (logged once). */
  private read(file: string): { jobs: StoredJob[]; writtenAt: Date } | undefined {
    try {
      const writtenAt = statSync(file).mtime;
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { jobs?: unknown };
      this.logged.delete(file);
      const jobs = Array.isArray(parsed.jobs) ? (parsed.jobs as StoredJob[]).filter((j) => typeof j?.jobId === 'string' && Array.isArray(j.heads)) : [];
      return { jobs, writtenAt };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // removed meanwhile (swept)
      // A damaged file costs its jobs' history, never the server: its own server writes it afresh.
      const problem = errorMessage(err);
      if (this.logged.get(file) !== problem) this.log(`job journal ${file} is unreadable and its jobs are left out: ${problem}`);
      this.logged.set(file, problem);
      return undefined;
    }
  }

  /**
   * Removes the files whose servers are all gone and whose jobs are none of those kept, the
   * cancel requests no running job needs, and the temporary files of killed writers. A gone server writes no more, so nothing is lost; a
   * file or request removed by two servers at once is removed once.
   */
  private sweep(read: FolderRead): void {
    if (!this.dir) return;
    const kept = new Set(read.jobs.map((j) => j.job.jobId));
    const running = new Set(read.jobs.filter((j) => j.job.state === 'running').map((j) => j.job.jobId));
    try {
      for (const [file, jobs] of read.files) {
        if (jobs.some((j) => kept.has(j.jobId) || serverAlive(j))) continue;
        rmSync(file, { force: true });
        this.log(`job journal: removed ${file}, whose jobs are older than the ${KEEP_ENDED} kept and whose servers are gone`);
      }
      // Temporary files of writes killed before their rename (a server killed mid-write): swept
      // here, when a server starts a job, as the files of gone servers are. That is often enough
      // (each server leaves at most one per death) and costs a listing the read just made anyway,
      // where listing jobs (every panel refresh) should stay a read. A live server's write in
      // progress stays (sweepDeadTemps).
      for (const temp of sweepDeadTemps(this.dir)) this.log(`job journal: removed ${join(this.dir, temp)}, left by a server killed while writing`);
      for (const jobId of requestsIn(this.dir)) {
        const request = join(this.dir, `${jobId}${REQUEST_SUFFIX}`);
        // A request for a job not listed may be for one started a moment ago: only an old one goes.
        const stale = kept.has(jobId) ? !running.has(jobId) : Date.now() - (statSync(request, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_REQUEST_MS;
        if (stale) rmSync(request, { force: true });
      }
    } catch (err) {
      // Tidying up is never worth a failed job start.
      this.log(`job journal ${this.dir}: could not remove old files: ${errorMessage(err)}`);
    }
  }

  private scheduleWrite(): void {
    // unref: a pending write must not keep a finished server process alive; flush() writes it.
    this.timer ??= setTimeout(() => this.write(), WRITE_DELAY_MS).unref();
  }

  /** Replaces this server's file with its jobs as it knows them. */
  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const file = this.ownFile;
    if (!this.dir || !file) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeAtomically(file, [Buffer.from(`${JSON.stringify({ jobs: this.own }, null, 1)}\n`)]);
    } catch (err) {
      this.log(`could not write the job journal ${file}: ${errorMessage(err)}`);
    }
  }
}

/** The number in a job's id (`train-3-k2f9`, or `train-3` as ids were before they had a tag). */
function jobNumber(jobId: string): number {
  return Number(/^[a-z]+-(\d+)/.exec(jobId)?.[1] ?? 0);
}

/** Every running job and the newest ended ones, in the order given. */
function trimmed<T>(items: T[], view: (item: T) => JobView): T[] {
  let ended = 0;
  return items.filter((item) => view(item).state === 'running' || ++ended <= KEEP_ENDED);
}

/** The ids of the jobs that cancel requests in `dir` name. */
function requestsIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith(REQUEST_SUFFIX) && !n.startsWith('.')).map((n) => basename(n, REQUEST_SUFFIX));
  } catch {
    return [];
  }
}

/**
 * Whether the server that stored a job still runs: its pid and start, or, for entries stored
 * before the start was recorded, its pid and a process that started before the job did.
 */
function serverAlive(job: StoredJob): boolean {
  if (job.serverStart !== undefined) return processAlive(job.serverPid, job.serverStart);
  const startedAt = Date.parse(job.startedAt);
  return Number.isNaN(startedAt) ? processAlive(job.serverPid) : processAliveSince(job.serverPid, startedAt);
}

/** Another server's job as it stands: a running job whose server is gone was interrupted, when its file was last written. */
function interruptedIfOrphaned(job: StoredJob, writtenAt: Date): StoredJob {
  if (job.state !== 'running' || serverAlive(job)) return job;
  const line = job.kind === 'train' ? 'the language server stopped during this job; fine-tune again to resume from the last saved epoch' : `the language server stopped during this ${job.kind === 'scan' ? 'layer scan' : 'evaluation'}`;
  return { ...job, state: 'interrupted', line, endedAt: writtenAt.toISOString() };
}

function withoutBookkeeping({ serverPid: _pid, serverStart: _start, ...view }: StoredJob): JobView {
  return view;
}
