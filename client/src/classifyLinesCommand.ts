// "HdLM: Classify Each Line": every non-empty line of the selection (or of the whole document)
// goes through hdlm/classifyMany in batches, under one cancellable progress notification, and the paths
// come back as a new, unsaved JSON Lines document beside it: nothing is written into the user's
// file. In a JSON Lines document a line's "text" is classified, and its "labels", when present,
// are kept beside the prediction and scored.
import * as vscode from 'vscode';
// Shared with `hdlm classify --file`, so a line means the same in both: plain functions, no model.
import { inputFields } from '../../engine/src/hdlm/classifyInputs';
import { describeAgainstGold } from '../../engine/src/hdlm/metrics';
import * as proto from '../../server/src/protocol';
import { selectedLines } from './lineRange';
import { RequestErrors } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';

/** Above this many lines the command asks first (each takes tens of milliseconds on a CPU). */
const CONFIRM_ABOVE = 1000;
/** Lines per hdlm/classifyMany: about half a second of work with the shipped model. */
const BATCH = 25;

/** One classified line, as the result document holds it. */
export interface ClassifiedLine {
  /** 1-based line in the source document. */
  line: number;
  text: string;
  labels: string[];
  probabilities: number[];
  pathProbability: number;
  /** The line's own labels (a JSON Lines dataset's), when it has them. */
  gold?: string[];
}

interface LineInput {
  line: number;
  text: string;
  gold?: string[];
}

/** The inputs: each non-empty line of the selection or document; a JSON Lines line gives its "text". */
function lineInputs(editor: vscode.TextEditor): LineInput[] {
  const { document, selection } = editor;
  const [first, last] = selection.isEmpty ? [0, document.lineCount - 1] : selectedLines(selection);
  const jsonl = document.languageId === 'jsonl' || document.uri.path.endsWith('.jsonl');
  const inputs: LineInput[] = [];
  for (let i = first; i <= last; i++) {
    const raw = document.lineAt(i).text.trim();
    if (!raw) continue;
    const input = jsonl ? fromJsonLine(raw) : { text: raw };
    if (input) inputs.push({ line: i + 1, ...input });
  }
  return inputs;
}

function fromJsonLine(raw: string): { text: string; gold?: string[] } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined; // not JSON: the dataset's diagnostics already say so
  }
  // The line number only names an id-less line, which these inputs do not use.
  const fields = inputFields(value, 0);
  return 'problem' in fields ? undefined : { text: fields.text, ...(fields.labels ? { gold: fields.labels } : {}) };
}

function againstGold(rows: readonly ClassifiedLine[]): string {
  const described = describeAgainstGold(rows);
  return described ? `; against their labels ${described}` : '';
}

export async function classifyLinesCommand(server: ServerConnection, output: TeeOutputChannel): Promise<ClassifiedLine[] | undefined> {
  const editor = vscode.window.activeTextEditor;
  const inputs = editor ? lineInputs(editor) : [];
  if (!editor || inputs.length === 0) {
    void vscode.window.showWarningMessage('HdLM: nothing to classify: open a document with text lines (or select some lines).');
    return undefined;
  }
  if (inputs.length > CONFIRM_ABOVE && !(await vscode.window.showWarningMessage(`HdLM: classify ${inputs.length} lines?`, { modal: true }, 'Classify'))) return undefined;
  const started = Date.now();
  // A request that failed has shown why (RequestErrors): the summary's warning would say less.
  let failed = false;
  const rows = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'HdLM: classifying each line', cancellable: true }, async (progress, token) => {
    const done: ClassifiedLine[] = [];
    // Batches: one settings read and one busy period each, and progress and cancel between them.
    for (let at = 0; at < inputs.length && !token.isCancellationRequested; at += BATCH) {
      const batch = inputs.slice(at, at + BATCH);
      let answer: proto.ClassifyManyResult;
      try {
        const more = at + BATCH < inputs.length;
        answer = await server.request(proto.classifyMany, { texts: batch.map((i) => i.text), more }, token);
      } catch (err) {
        if (!token.isCancellationRequested) {
          const message = err instanceof Error ? err.message : String(err);
          output.error(`classify each line: ${message}`);
          // Nothing more will classify: say why at once, with the task's ways out when it is the task.
          RequestErrors.show(`HdLM: ${message}`, err, output);
        }
        failed = true;
        break;
      }
      answer.results.forEach((r, i) => {
        const input = batch[i]!;
        if ('error' in r) output.error(`classify each line: line ${input.line}: ${r.error}`);
        else done.push({ line: input.line, text: input.text, labels: r.path.map((d) => d.label), probabilities: r.path.map((d) => d.probability), pathProbability: r.pathProbability, ...(input.gold ? { gold: input.gold } : {}) });
      });
      progress.report({ message: `${Math.min(at + BATCH, inputs.length)} of ${inputs.length}`, increment: (100 * batch.length) / inputs.length });
    }
    return done;
  });
  if (rows.length === 0) {
    if (failed) return rows;
    void vscode.window.showWarningMessage('HdLM: no line was classified (see the HdLM output for why).', 'Show Log').then((c) => c && output.show(true));
    return rows;
  }
  const doc = await vscode.workspace.openTextDocument({ language: 'jsonl', content: `${rows.map((r) => JSON.stringify(r)).join('\n')}\n` });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  const partial = rows.length < inputs.length ? ` (${inputs.length - rows.length} not: cancelled or failed)` : '';
  const summary = `classified ${rows.length} of ${inputs.length} lines in ${((Date.now() - started) / 1000).toFixed(1)} s${partial}${againstGold(rows)}`;
  output.info(summary);
  void vscode.window.showInformationMessage(`HdLM: ${summary}`);
  return rows;
}
