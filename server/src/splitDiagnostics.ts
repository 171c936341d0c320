// A dev or test split checked against its training file, line by line: a label (or a thought)
// the training file never has can never be predicted, so each such line gets a warning on the
// label itself. The task file's diagnostics say the same for the whole file; these point at the
// lines, where a rename or an edit mends them. The training file is the split's sibling as New
// Task from Dataset reads the layout (`x.train.jsonl` beside `x.dev.jsonl`, …), read from disk
// into the label index references and rename use (labelUses.ts). A small training file is read at
// once; a large one in the background, without holding the server, and until it is read its
// splits get none of these warnings (the server validates open documents again when it is).
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetLayout } from '../../engine/src/hdlm/taskCreation';
import type { datasetKind } from './datasetKind';
import { readerForKind } from './labelEdits';
import { fileIndexNow } from './labelUses';

/** What a line names, read with JSON.parse (fast); ranges are worked out only for the lines flagged. */
function namedLabels(line: string, kind: 'hierarchical' | 'guided'): string[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { labels, thought } = value as { labels?: unknown; thought?: unknown };
  if (kind === 'guided') return typeof thought === 'string' ? [thought] : undefined;
  return Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? (labels as string[]) : undefined;
}

export function splitDiagnostics(doc: TextDocument, kind: ReturnType<typeof datasetKind>, lines: readonly string[]): Diagnostic[] {
  const read = readerForKind(kind);
  if (!kind || !read || !doc.uri.startsWith('file:')) return [];
  const path = fileURLToPath(doc.uri);
  const train = datasetLayout(path).train;
  const index = train === path ? undefined : fileIndexNow(train);
  if (!index) return [];
  const field = kind === 'hierarchical' ? 'labels' : 'thought';
  const diagnostics: Diagnostic[] = [];
  lines.forEach((line, row) => {
    const named = namedLabels(line, kind);
    // The coarsest unknown level only: the ones below it are unknown for the same reason.
    const level = named?.findIndex((label, d) => !index.labelsAt(field, d)?.has(label)) ?? -1;
    if (level < 0) return;
    const found = read(line, row);
    if (!found?.ranges[level]) return;
    const what = kind === 'hierarchical' ? `'${named![level]}' is not a level-${level + 1} label in ${basename(train)}: no head can predict it` : `thought '${named![level]}' is not in ${basename(train)}: the thought head never learned it`;
    diagnostics.push({ range: found.ranges[level], severity: DiagnosticSeverity.Warning, source: 'hdlm', message: what });
  });
  return diagnostics;
}
