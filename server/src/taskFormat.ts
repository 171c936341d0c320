// Format Document / Format Selection for task files. Their language is hdlm-task, not JSON, so the
// editor's JSON formatter does not take them; this one keeps comments, the author's line breaks
// (a short `levels` list stays on one line) and the editor's indentation settings.
import { format } from 'jsonc-parser';
import type { FormattingOptions, Range, TextEdit } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';

export function formatTaskFile(doc: TextDocument, options: FormattingOptions, range?: Range): TextEdit[] {
  const text = doc.getText();
  const span = range && { offset: doc.offsetAt(range.start), length: doc.offsetAt(range.end) - doc.offsetAt(range.start) };
  const edits = format(text, span, {
    tabSize: options.tabSize,
    insertSpaces: options.insertSpaces,
    eol: text.includes('\r\n') ? '\r\n' : '\n',
    insertFinalNewline: options.insertFinalNewline ?? false,
    keepLines: true,
  });
  return edits.map((e) => ({ range: { start: doc.positionAt(e.offset), end: doc.positionAt(e.offset + e.length) }, newText: e.content }));
}
