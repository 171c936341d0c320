// What the server knows of its jobs: one JobView per job, rebuilt from the job's events, kept
// for the running jobs and the most recent ended ones. The journal is written to a file (one per
// workspace), so a reopened panel, a reloaded window or a restarted server still sees where a
// job stands or how it ended. A job that was running when its server died is shown as
// interrupted: its child process ends with the server (its output pipe closes), and the heads
// it saved before are kept, so fine-tuning again resumes from them.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../../engine/src/checkpoint/safetensors';
import { processAlive } from '../../engine/src/processAlive';
import { applyJobEvent, newJobView } from './jobView';
import type { JobEvent, JobKind, JobPlan, JobView } from './protocol';

/** Ended jobs kept beside the running ones. */
const KEEP_ENDED = 20;
/** Progress writes are coalesced to at most one per this many milliseconds. */
const WRITE_DELAY_MS = 1000;

interface StoredJob extends JobView {
  /** Process id of the server that ran the job: its death means the job was interrupted. */
  serverPid: number;
}

/** The journal file of a workspace: `<stateDir>/jobs/<hash of the workspace folder>.json`. */
export function journalFile(stateDir: string, workspaceRoot: string | undefined): string {
  const key = createHash('sha256').update(workspaceRoot ?? '(no workspace)').digest('hex').slice(0, 16);
  return join(stateDir, 'jobs', `${key}.json`);
}

export class JobJournal {
  private jobs: StoredJob[];
  private timer: NodeJS.Timeout | undefined;

  /** `file` undefined keeps the journal in memory only. */
  constructor(
    private readonly file: string | undefined,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.jobs = this.read();
  }

  /** Registers a new running job and returns its id (unique across restarts of the server). */
  create(kind: JobKind, task: string, plan?: JobPlan): string {
    const n = 1 + Math.max(0, ...this.jobs.map((j) => Number(/-(\d+)$/.exec(j.jobId)?.[1] ?? 0)));
    const jobId = `${kind}-${n}`;
    this.jobs.unshift({ ...newJobView(jobId, kind, task, new Date(), plan), serverPid: process.pid });
    this.trim();
    this.write();
    return jobId;
  }

  apply(jobId: string, event: JobEvent): void {
    const job = this.jobs.find((j) => j.jobId === jobId);
    if (!job) return;
    applyJobEvent(job, event);
    if (job.state === 'running') this.scheduleWrite();
    else this.write();
  }

  /** Running and recent jobs, newest first, without the journal's own bookkeeping. */
  list(): JobView[] {
    return this.jobs.map(({ serverPid: _pid, ...view }) => view);
  }

  get(jobId: string): JobView | undefined {
    return this.list().find((j) => j.jobId === jobId);
  }

  /** Writes now what is pending (on shutdown). */
  flush(): void {
    if (this.timer) this.write();
  }

  private read(): StoredJob[] {
    if (!this.file || !existsSync(this.file)) return [];
    let jobs: StoredJob[];
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { jobs?: unknown };
      jobs = Array.isArray(parsed.jobs) ? (parsed.jobs as StoredJob[]).filter((j) => typeof j?.jobId === 'string' && Array.isArray(j.heads)) : [];
    } catch (err) {
      // A damaged journal costs the job history, never the server: start a new one.
      this.log(`job journal ${this.file} is unreadable and starts afresh: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
    for (const job of jobs) {
      if (job.state === 'running' && !processAlive(job.serverPid)) {
        job.state = 'interrupted';
        job.line = job.kind === 'train' ? 'the language server stopped during this job; fine-tune again to resume from the last saved epoch' : `the language server stopped during this ${job.kind === 'scan' ? 'layer scan' : 'evaluation'}`;
        job.endedAt = new Date().toISOString();
      }
    }
    return jobs;
  }

  private trim(): void {
    const running = this.jobs.filter((j) => j.state === 'running');
    const ended = this.jobs.filter((j) => j.state !== 'running').slice(0, KEEP_ENDED);
    const keep = new Set([...running, ...ended]);
    this.jobs = this.jobs.filter((j) => keep.has(j));
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
      mkdirSync(dirname(this.file), { recursive: true });
      writeAtomically(this.file, [Buffer.from(`${JSON.stringify({ jobs: this.jobs }, null, 1)}\n`)]);
    } catch (err) {
      this.log(`could not write the job journal ${this.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
