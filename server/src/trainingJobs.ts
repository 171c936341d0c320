// Fine-tuning runs outside the language server's process: each job is `hdlm train --events` in
// a child process, so a long training run never blocks requests, hover or diagnostics. Its JSON
// lines become `hdlm/trainProgress` notifications; cancelling sends SIGINT, which the CLI turns
// into a cooperative stop (the last saved heads and resume points stay as they were).
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TrainProgressParams } from './protocol';

export interface JobSettings {
  providers: readonly string[];
  threads: number;
}

export class TrainingJobs {
  private readonly jobs = new Map<string, ChildProcess>();
  private counter = 0;

  constructor(
    private readonly cliPath: string,
    private readonly notify: (params: TrainProgressParams) => void,
    private readonly log: (message: string) => void,
    /** Called after a job's process has exited (it no longer counts as running). */
    private readonly onExit: () => void = () => undefined,
  ) {}

  /** The `hdlm` CLI beside the server bundle. */
  static defaultCli(): string {
    return join(__dirname, 'hdlm.js');
  }

  start(taskFile: string, settings: JobSettings): string {
    const jobId = `train-${++this.counter}`;
    const args = [this.cliPath, 'train', '--task', taskFile, '--events', '--device', settings.providers.join(','), '--threads', String(settings.threads)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.jobs.set(jobId, child);
    this.log(`${jobId}: started fine-tuning ${taskFile} (pid ${child.pid})`);
    let stderr = '';
    let finished = false;
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as TrainProgressParams['event'];
        if (event.kind === 'report') finished = true;
        this.notify({ jobId, event });
      } catch {
        this.log(`${jobId}: ${line}`);
      }
    });
    child.on('close', (code, signal) => {
      this.jobs.delete(jobId);
      if (finished) return this.onExit();
      const cancelled = signal === 'SIGINT' || code === 130;
      const message = cancelled ? 'cancelled' : (stderr.trim().split('\n').pop() ?? `exited with ${code ?? signal}`).replace(/^hdlm: /, '');
      this.log(`${jobId}: ${cancelled ? 'cancelled' : `failed: ${stderr.trim()}`}`);
      this.notify({ jobId, event: cancelled ? { kind: 'cancelled' } : { kind: 'failed', message } });
      this.onExit();
    });
    return jobId;
  }

  cancel(jobId: string): boolean {
    const child = this.jobs.get(jobId);
    if (!child) return false;
    child.kill('SIGINT');
    return true;
  }

  get running(): string[] {
    return [...this.jobs.keys()];
  }

  dispose(): void {
    for (const child of this.jobs.values()) child.kill('SIGINT');
  }
}
