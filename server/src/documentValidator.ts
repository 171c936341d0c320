// Runs diagnostics for open documents, debounced per document so that typing does not validate
// on every keystroke, and publishes them; a closed document's diagnostics are cleared.
import type { Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { datasetDiagnostics, taskFileDiagnostics } from './diagnostics';
import type { FeatureContext } from './taskFacts';

export const DEBOUNCE_MS = 150;

export class DocumentValidator {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly publish: (uri: string, diagnostics: Diagnostic[]) => void,
    private readonly onError: (err: unknown) => void,
    private readonly context: FeatureContext,
  ) {}

  schedule(doc: TextDocument): void {
    clearTimeout(this.timers.get(doc.uri));
    this.timers.set(doc.uri, setTimeout(() => this.validate(doc), DEBOUNCE_MS));
  }

  /** Validates now; returns what was published (tests call this directly). */
  validate(doc: TextDocument): Diagnostic[] {
    this.timers.delete(doc.uri);
    try {
      const diagnostics = doc.languageId === 'hdlm-task' ? taskFileDiagnostics(doc, this.context) : doc.languageId === 'jsonl' ? datasetDiagnostics(doc) : [];
      this.publish(doc.uri, diagnostics);
      return diagnostics;
    } catch (err) {
      this.onError(err);
      return [];
    }
  }

  clear(uri: string): void {
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    this.publish(uri, []);
  }
}
