// Which kind of HdLM dataset a JSON Lines text is, judged by its first object, and one line of a
// document: what every dataset feature asks first. No imports of the server's own modules, so
// that any of them can use it without an import cycle.
import type { TextDocument } from 'vscode-languageserver-textdocument';

/** The two dataset shapes: labelled examples ({"text", "labels"}) and thought-then-answer ones ({"input", "thought", "answer"}). */
export type DatasetKind = 'hierarchical' | 'guided';

/** The dataset shape a JSON Lines file has, judged by its first object; undefined for other files. */
export function datasetKind(text: string): DatasetKind | undefined {
  for (const line of text.split('\n', 50)) {
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (v && typeof v === 'object') {
        if ('labels' in v && 'text' in v) return 'hierarchical';
        if ('input' in v && 'answer' in v) return 'guided';
        return undefined;
      }
    } catch {
      // Not JSON; keep looking for the first object.
    }
  }
  return undefined;
}

/** Line `row` of a document, without its line break. */
export function lineText(doc: TextDocument, row: number): string {
  return doc.getText({ start: { line: row, character: 0 }, end: { line: row + 1, character: 0 } }).replace(/\r?\n$/, '');
}
