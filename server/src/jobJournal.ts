// What the server knows of its jobs: one JobView per job, rebuilt from the job's events, kept
// for the running jobs and the most recent ended ones. The journal is written to a file (one per
// workspace), so a reopened panel, a reloaded window or a restarted server still sees where a
// job stands or how it ended. A job that was running when its server died is shown as
// interrupted: its child process ends with the server (its output pipe closes), and the heads
// it saved before are kept, so fine-tuning again resumes from them.
//
// Several servers share one file: two windows on one workspace, and every window without a
// folder. The file is never read once and then overwritten with a private copy:
// - Each server writes only the entries of the jobs it started. A write reads the file again,
//   puts this server's entries in place of their stored copies, keeps every other entry as
//   stored, and replaces the file atomically (no lock: two writes in the same instant can lose
//   the first one's change until its server writes again, which a running job does within a
//   second of its next event, and every server does for its own jobs when it closes).
// - Listing reads the file again, so another server's job is seen moving on and ending.
// - A job's id carries a random tag of the server that started it (`train-3-k2f9`): two servers
//   numbering from the same file at once (each counts on from the highest number in it) do not
//   give the same id (two tags alike: one chance in 1.7 million).
// - A job stored as running whose server is gone shows as interrupted (and is stored so by the
//   next write of any server). A server is its pid and its process's start (processAlive.ts), so
//   a pid now reused by another process does not keep a dead server's job running forever.
//   Where the start cannot be read (not Linux), the pid alone decides, and a reused pid can.
import { createHash, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../../engine/src/checkpoint/safetensors';
import { processAlive, processStart } from '../../engine/src/processAlive';
import { applyJobEvent, newJobView } from './jobView';
import type { JobEvent, JobKind, JobPlan, JobView } from './protocol';

/** Ended jobs kept beside the running ones. */
const KEEP_ENDED = 20;
/** Progress writes are coalesced to at most one per this many milliseconds. */
const WRITE_DELAY_MS = 1000;

interface StoredJob extends JobView {
  /** Process id of the server that ran the job: its death means the job was interrupted. */
  serverPid: number;
  /** When that process started (processStart), where the system tells: a reused pid is not it. */
  serverStart?: string;
}

/** The journal file of a workspace: `<stateDir>/jobs/<hash of the workspace folder>.json`. */
export function journalFile(stateDir: string, workspaceRoot: string | undefined): string {
  const key = createHash('sha256').update(workspaceRoot ?? '(no workspace)').digest('hex').slice(0, 16);
  return join(stateDir, 'jobs', `${key}.json`);
}

export class JobJournal {
  /** The jobs this server started, newest first: the only entries it writes. */
  private own: StoredJob[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** This server's part of its jobs' ids. */
  private readonly tag = randomInt(36 ** 4).toString(36).padStart(4, '0');
  private readonly serverStart = processStart(process.pid);
  /** Whether the last read found another server's running job interrupted (its server gone): list() stores it. */
  private foundInterrupted = false;
  /** The last problem reading the file that was logged: a damaged file is logged once, not at each read. */
  private logged: string | undefined;

  /** `file` undefined keeps the journal in memory only. */
  constructor(
    private readonly file: string | undefined,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Registers a new running job and returns its id (unique across servers and their restarts). */
  create(kind: JobKind, task: string, plan?: JobPlan): string {
    const n = 1 + Math.max(0, ...this.all().map((j) => jobNumber(j.jobId)));
    const jobId = `${kind}-${n}-${this.tag}`;
    const job: StoredJob = { ...newJobView(jobId, kind, task, new Date(), plan), serverPid: process.pid };
    if (this.serverStart !== undefined) job.serverStart = this.serverStart;
    this.own = trimmed([job, ...this.own]);
    this.write();
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
    const jobs = this.all();
    // An interruption found is stored, so that it keeps the time it was found at.
    if (this.foundInterrupted) this.write();
    const mine = new Set(this.own.map((j) => j.jobId));
    return jobs.map((j) => (mine.has(j.jobId) ? withoutBookkeeping(j) : { ...withoutBookkeeping(j), elsewhere: true as const }));
  }

  /** A job of this server as it knows it, else as the file has it. */
  get(jobId: string): JobView | undefined {
    const job = this.own.find((j) => j.jobId === jobId) ?? this.all().find((j) => j.jobId === jobId);
    return job && withoutBookkeeping(job);
  }

  /** Writes now what is pending, and this server's jobs as it knows them (on shutdown). */
  flush(): void {
    if (this.timer !== undefined || this.own.length > 0) this.write();
  }

  /** This server's jobs as it knows them, and the other servers' as stored, newest first. */
  private all(): StoredJob[] {
    const mine = new Set(this.own.map((j) => j.jobId));
    const stored = this.read().filter((j) => !mine.has(j.jobId));
    const others = stored.map(interruptedIfOrphaned);
    this.foundInterrupted = others.some((j, i) => j !== stored[i]);
    return trimmed([...this.own, ...others].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0)));
  }

  private read(): StoredJob[] {
    if (!this.file || !existsSync(this.file)) return [];
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { jobs?: unknown };
      this.logged = undefined;
      return Array.isArray(parsed.jobs) ? (parsed.jobs as StoredJob[]).filter((j) => typeof j?.jobId === 'string' && Array.isArray(j.heads)) : [];
    } catch (err) {
      // A damaged journal costs the job history, never the server: the next write starts it afresh.
      const problem = err instanceof Error ? err.message : String(err);
      if (problem !== this.logged) this.log(`job journal ${this.file} is unreadable and starts afresh: ${problem}`);
      this.logged = problem;
      return [];
    }
  }

  private scheduleWrite(): void {
    // unref: a pending write must not keep a finished server process alive; flush() writes it.
    this.timer ??= setTimeout(() => this.write(), WRITE_DELAY_MS).unref();
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.file) return;
    try {
      const jobs = this.all();
      mkdirSync(dirname(this.file), { recursive: true });
      writeAtomically(this.file, [Buffer.from(`${JSON.stringify({ jobs }, null, 1)}\n`)]);
    } catch (err) {
      this.log(`could not write the job journal ${this.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The number in a job's id (`train-3-k2f9`, or `train-3` as ids were before they had a tag). */
function jobNumber(jobId: string): number {
  return Number(/^[a-z]+-(\d+)/.exec(jobId)?.[1] ?? 0);
}

/** Every running job and the newest ended ones, in the order given. */
function trimmed(jobs: StoredJob[]): StoredJob[] {
  let ended = 0;
  return jobs.filter((j) => j.state === 'running' || ++ended <= KEEP_ENDED);
}

/** Another server's job as it stands: a running job whose server is gone was interrupted. */
function interruptedIfOrphaned(job: StoredJob): StoredJob {
  if (job.state !== 'running' || processAlive(job.serverPid, job.serverStart)) return job;
  const line = job.kind === 'train' ? 'the language server stopped during this job; fine-tune again to resume from the last saved epoch' : `the language server stopped during this ${job.kind === 'scan' ? 'layer scan' : 'evaluation'}`;
  return { ...job, state: 'interrupted', line, endedAt: new Date().toISOString() };
}

function withoutBookkeeping({ serverPid: _pid, serverStart: _start, ...view }: StoredJob): JobView {
  return view;
}
