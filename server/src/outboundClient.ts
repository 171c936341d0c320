// What the server sends to, and asks of, the editor on the other side of the connection:
// server.ts implements it over the LSP connection, the tests with a fake client. HdlmServer and
// JobHost both use it; its own module so JobHost need not import HdlmServer (which imports it:
// an import cycle).
import type { GenerationStepParams, JobProgressParams, StatusParams, ThoughtParams } from './protocol';

/** A piece of LSP work-done progress the server started (a job's, shown by the editor). */
export interface ProgressHandle {
  report(message: string, percentage: number): void;
  done(): void;
}

/** What the server needs from the other side of the connection. */
export interface OutboundClient {
  /**
   * Starts server-initiated work-done progress (`window/workDoneProgress/create`), cancellable
   * from the editor; a client without the capability gets none, and the handle does nothing.
   */
  startProgress(title: string, onCancel: () => void): ProgressHandle;
  sendStatus(params: StatusParams): void;
  sendThought(params: ThoughtParams): void;
  sendJobProgress(params: JobProgressParams): void;
  sendGenerationStep(params: GenerationStepParams): void;
  log(message: string): void;
  /** Reads the `hdlm` settings section; resolves to undefined when the client cannot tell. */
  fetchSettings(): Promise<unknown>;
}
