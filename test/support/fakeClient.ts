// The other side of the language server's connection, for driving HdlmServer in unit tests:
// it records what the server sends and answers settings requests from a plain object.
import type { OutboundClient, ProgressHandle } from '../../server/src/outboundClient';
import type { GenerationStepParams, JobProgressParams, StatusParams, ThoughtParams } from '../../server/src/protocol';

export class FakeClient implements OutboundClient {
  readonly statuses: StatusParams[] = [];
  readonly thoughts: ThoughtParams[] = [];
  readonly progress: JobProgressParams[] = [];
  readonly steps: GenerationStepParams[] = [];
  readonly lines: string[] = [];
  /** Work-done progress the server started: its title, reports, whether it ended, and its cancel. */
  readonly workDone: { title: string; reports: { message: string; percentage: number }[]; done: boolean; cancel: () => void }[] = [];

  constructor(public settings: unknown = undefined) {}

  startProgress(title: string, onCancel: () => void): ProgressHandle {
    const entry = { title, reports: [] as { message: string; percentage: number }[], done: false, cancel: onCancel };
    this.workDone.push(entry);
    return { report: (message, percentage) => void entry.reports.push({ message, percentage }), done: () => void (entry.done = true) };
  }

  sendStatus(params: StatusParams): void {
    this.statuses.push(params);
  }

  sendThought(params: ThoughtParams): void {
    this.thoughts.push(params);
  }

  sendGenerationStep(params: GenerationStepParams): void {
    this.steps.push(params);
  }

  sendJobProgress(params: JobProgressParams): void {
    this.progress.push(params);
  }

  log(message: string): void {
    this.lines.push(message);
  }

  fetchSettings(): Promise<unknown> {
    return Promise.resolve(this.settings);
  }
}
