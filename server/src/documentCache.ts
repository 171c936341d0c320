// What the server derives from an open document (a dataset's index, its label uses), built at
// most once per version and kept for the few documents an editor has open at once.
import type { TextDocument } from 'vscode-languageserver-textdocument';

export class DocumentCache<T> {
  private readonly entries = new Map<string, { version: number; value: T }>();

  constructor(private readonly capacity: number) {}

  /** `build(text)` of `doc` at its current version (its unsaved edits count). */
  get(doc: TextDocument, build: (text: string) => T): T {
    const cached = this.entries.get(doc.uri);
    if (cached?.version === doc.version) return cached.value;
    const value = build(doc.getText());
    this.entries.delete(doc.uri);
    this.entries.set(doc.uri, { version: doc.version, value });
    // Maps iterate in insertion order, so the first key is the least recently built.
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  /** Drops a closed document's entry. */
  forget(uri: string): void {
    this.entries.delete(uri);
  }
}
