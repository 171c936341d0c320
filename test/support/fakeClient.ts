// The other side of the language server's connection, for driving HdlmServer in unit tests:
// it records what the server sends and answers settings requests from a plain object.
import type { OutboundClient } from '../../server/src/hdlmServer';
import type { GenerationStepParams, JobProgressParams, StatusParams, ThoughtParams } from '../../server/src/protocol';

export class FakeClient implements OutboundClient {
  readonly statuses: StatusParams[] = [];
  readonly thoughts: ThoughtParams[] = [];
  readonly progress: JobProgressParams[] = [];
  readonly steps: GenerationStepParams[] = [];
  readonly lines: string[] = [];

  constructor(public settings: unknown = undefined) {}

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
