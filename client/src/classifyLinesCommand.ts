// "HdLM: Classify Each Line": every non-empty line of the selection (or of the whole document)
// goes through hdlm/classifyMany in batches, under one cancellable progress notification, and the paths
// come back as a new, unsaved JSON Lines document beside it: nothing is written into the user's
// file. In a JSON Lines document a line's "text" is classified, and its "labels", when present,
// are kept beside the prediction and scored.
import * as vscode from 'vscode';
// Shared with `hdlm classify --file`, so a line means the same in both: plain functions, no model.
import { classifyInputsOf, goldIssues } from '../../engine/src/hdlm/classifyInputs';
import type { JsonlIssue } from '../../engine/src/hdlm/dataset/jsonl';
import { describeAgainstGold } from '../../engine/src/hdlm/metrics';
import * as proto from '../../server/src/protocol';
import { selectedLines } from './lineRange';
import { RequestErrors } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

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

/**
 * The inputs: each non-empty line of the selection or document, read as `hdlm classify --file`
 * reads a file's (classifyInputsOf): a JSON Lines line gives its "text" and its "labels". What
 * that command warns of is in `issues`, by document line: lines that are not inputs (skipped),
 * and gold labels that are not a list of strings (the line is classified, its labels left out of
 * the accuracy). Depth and taxonomy are not checked here: the editor has no task's taxonomy.
 */
function lineInputs(editor: vscode.TextEditor): { inputs: LineInput[]; issues: JsonlIssue[] } {
  const { document, selection } = editor;
  const [first, last] = selection.isEmpty ? [0, document.lineCount - 1] : selectedLines(selection);
  const jsonl = document.languageId === 'jsonl' || document.uri.path.endsWith('.jsonl');
  const text = document.getText(new vscode.Range(first, 0, last, document.lineAt(last).text.length));
  const { inputs, skipped } = classifyInputsOf(text, jsonl, first + 1);
  const issues = [...skipped, ...goldIssues(inputs)].sort((a, b) => a.line - b.line);
  return { inputs: inputs.map(({ line, text, labels }) => ({ line, text, ...(labels ? { gold: labels } : {}) })), issues };
}

/** "line 7: …", one per issue, as the CLI names them by line (without its file name: the document is in front). */
function lineIssueMessages(issues: readonly JsonlIssue[]): string[] {
  return issues.map((issue) => `line ${issue.line}: ${issue.message}`);
}

function againstGold(rows: readonly ClassifiedLine[]): string {
  const described = describeAgainstGold(rows);
  return described ? `; against their labels ${described}` : '';
}

export async function classifyLinesCommand(server: ServerConnection, output: TeeOutputChannel): Promise<ClassifiedLine[] | undefined> {
  const editor = vscode.window.activeTextEditor;
  const { inputs, issues } = editor ? lineInputs(editor) : { inputs: [], issues: [] };
  // Said before classifying, as `classify --file` says them: by line, in the HdLM output.
  for (const message of lineIssueMessages(issues)) output.warn(`classify each line: ${message}`);
  if (!editor || inputs.length === 0) {
    const why = issues.length > 0 ? ` (${issues.length} ${issues.length === 1 ? 'line' : 'lines'} not an input: see the HdLM output)` : '';
    void vscode.window.showWarningMessage(`HdLM: nothing to classify: open a document with text lines (or select some lines)${why}.`);
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
          const message = errorMessage(err);
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
  const warned = issues.length > 0 ? `; ${issues.length} ${issues.length === 1 ? 'line' : 'lines'} warned of by line in the HdLM output` : '';
  const summary = `classified ${rows.length} of ${inputs.length} lines in ${((Date.now() - started) / 1000).toFixed(1)} s${partial}${againstGold(rows)}${warned}`;
  output.info(summary);
  void vscode.window.showInformationMessage(`HdLM: ${summary}`);
  return rows;
}
