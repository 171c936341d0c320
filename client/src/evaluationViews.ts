// The views of a task's last evaluation, read from the predictions kept beside its record (no
// model runs):
// - "HdLM: Show Mistakes of the Last Evaluation": the examples it got wrong, as a new unsaved
//   JSON Lines document beside the editor (hdlm/mistakes). Each line is shaped like the task's
//   dataset lines with the gold values, followed by what HdLM and flat said, so the document
//   gets the dataset features (label hover, Classify this example) and can be saved as a dataset.
// - "HdLM: Show Mistakes of One Label…": the same, for one gold label (or thought) picked from the
//   per-label report, the most missed first.
// - "HdLM: Show Per-Label Report of the Last Evaluation": precision, recall and F1 per label and
//   the top confusions, per level, after the change since the previous evaluation and before the
//   task's evaluation history (hdlm/labelReport), as a Markdown document shown in preview.
import * as vscode from 'vscode';
import type { RequestParam, RequestType } from 'vscode-languageclient/node';
import { labelReportMarkdown, labelReportSummary } from '../../engine/src/hdlm/labelReportMarkdown';
import { mistakeLines, mistakesSummary } from '../../engine/src/hdlm/mistakeLines';
import * as proto from '../../server/src/protocol';
import { chooseTask } from './jobCommands';
import type { ServerConnection } from './serverConnection';
import type { TeeOutputChannel } from './teeOutputChannel';
import { errorMessage } from '../../engine/src/errorMessage';

/**
 * Asks the server for a view of a task's last evaluation; undefined when the request failed
 * (said in the log and a message offering to evaluate: most failures are "evaluate it (again)").
 */
async function fromLastEvaluation<P extends { task: string }, R>(server: ServerConnection, output: TeeOutputChannel, what: string, type: RequestType<P, R, void>, params: P): Promise<R | undefined> {
  const { task } = params;
  try {
    return await server.request(type, params as RequestParam<P>);
  } catch (err) {
    const message = errorMessage(err);
    output.error(`${what} of ${task}: ${message}`);
    void vscode.window.showErrorMessage(`HdLM: ${message}`, 'Evaluate').then((choice) => choice && vscode.commands.executeCommand('hdlm.evaluate', task));
    return undefined;
  }
}

/**
 * A new unsaved document with `content`. VS Code can hand back an untitled document just closed,
 * old text and all, when its name is reused at once (seen twice in CI: a report that read as the
 * mistakes closed a moment before); such a document is waited out and the open tried again.
 */
async function openUntitled(language: string, content: string): Promise<vscode.TextDocument> {
  for (let tries = 1; ; tries++) {
    const doc = await vscode.workspace.openTextDocument({ language, content });
    if (doc.getText() === content || tries === 5) return doc;
    await new Promise((resolve) => setTimeout(resolve, 200 * tries));
  }
}

const evaluated = (finishedAt: string): string => `evaluated ${finishedAt.slice(0, 16).replace('T', ' ')} UTC`;

/** Opens the mistakes; resolves with what the server read (undefined when there was nothing to show). */
export async function showMistakesCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<proto.MistakesResult | undefined> {
  const task = await chooseTask(arg, 'show the mistakes of');
  return task ? showMistakes(server, output, { task }) : undefined;
}

/** A label's mistakes: which label, at which level (absent for a thought). */
type LabelPick = { label: string; level?: number };
const isLabelPick = (x: unknown): x is LabelPick => typeof (x as LabelPick | undefined)?.label === 'string' && ['number', 'undefined'].includes(typeof (x as LabelPick).level);

/**
 * "HdLM: Show Mistakes of One Label…": the task, then one of its gold labels (or thoughts) from
 * the per-label report, those with the most misses first, then their mistakes. The label can be
 * given as the second argument (`{ label, level }`) instead of picked.
 */
export async function showLabelMistakesCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown, given?: unknown): Promise<proto.MistakesResult | undefined> {
  const task = await chooseTask(arg, 'show the mistakes of one label of');
  if (!task) return undefined;
  const pick = isLabelPick(given) ? given : await pickLabel(server, output, task);
  return pick ? showMistakes(server, output, { task, ...pick }) : undefined;
}

/** One entry of the label pick: the label, what it missed, and what picking it asks for. */
type LabelItem = vscode.QuickPickItem & { missed: number; pick: LabelPick };

/** Per level, each label with misses: how many (and after a wrong level above), its F1 and flat's. */
function labelItems(report: Extract<proto.LabelReportResult, { kind: 'classify' }>): LabelItem[] {
  return report.levels.flatMap((l) =>
    l.labels
      .filter((r) => r.missed > 0)
      .map((r) => {
        const above = r.missedAbove > 0 ? ` (${r.missedAbove} after a wrong level above)` : '';
        return { label: r.label, description: `level ${l.level}`, detail: `${r.missed} of ${r.examples} missed${above} · F1 ${r.f1.toFixed(3)}, flat ${r.flatF1.toFixed(3)}`, missed: r.missed, pick: { label: r.label, level: l.level } };
      }),
  );
}

/** Each gold thought with a mistake: a thought task's mistake is a wrong thought or a wrong answer. */
function thoughtItems(report: Extract<proto.LabelReportResult, { kind: 'thoughtThenAnswer' }>): LabelItem[] {
  return report.thoughts.flatMap((t) => {
    const wrongAnswers = Math.round((1 - t.answerAccuracy) * t.examples);
    if (t.examples === 0 || (t.missed === 0 && wrongAnswers === 0)) return [];
    return [{ label: t.thought, description: 'thought', detail: `${t.missed} of ${t.examples} thought otherwise, ${wrongAnswers} answers wrong · F1 ${t.f1.toFixed(3)}`, missed: Math.max(t.missed, wrongAnswers), pick: { label: t.thought } }];
  });
}

/** A quick pick of the labels with misses, the most missed first, each with its level and F1. */
async function pickLabel(server: ServerConnection, output: TeeOutputChannel, task: string): Promise<LabelPick | undefined> {
  const report = await fromLastEvaluation(server, output, 'per-label report', proto.labelReport, { task });
  if (!report) return undefined;
  const items = report.kind === 'thoughtThenAnswer' ? thoughtItems(report) : labelItems(report);
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`HdLM: ${report.task}'s last evaluation got every example right.`);
    return undefined;
  }
  items.sort((a, b) => b.missed - a.missed);
  const chosen = await vscode.window.showQuickPick(items, { title: `HdLM: the mistakes of which label of ${report.task}?`, matchOnDescription: true, matchOnDetail: true });
  return chosen?.pick;
}

/** Reads the mistakes (all, or one label's) and opens them beside the editor. */
async function showMistakes(server: ServerConnection, output: TeeOutputChannel, params: proto.MistakesParams): Promise<proto.MistakesResult | undefined> {
  const result = await fromLastEvaluation(server, output, 'mistakes', proto.mistakes, params);
  if (!result) return undefined;
  const of = params.label === undefined ? '' : ` (gold ${params.label}${params.level === undefined ? '' : ` at level ${params.level}`} only)`;
  const summary = `${result.task} on ${result.file} (${evaluated(result.finishedAt)})${of}: ${mistakesSummary(result)}`;
  output.info(summary);
  if (result.mistakes.length === 0) {
    void vscode.window.showInformationMessage(`HdLM: ${summary}.`);
    return result;
  }
  const content = `${mistakeLines(result).map((row) => JSON.stringify(row)).join('\n')}\n`;
  const doc = await openUntitled('jsonl', content);
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  void vscode.window.showInformationMessage(`HdLM: ${summary}.`);
  return result;
}

/**
 * Opens the per-label report as an unsaved Markdown document beside the editor, then its preview
 * in front of it (the source stays in a tab behind, to save or copy tables from). Resolves with
 * the report and the document.
 */
export async function showLabelReportCommand(server: ServerConnection, output: TeeOutputChannel, arg?: unknown): Promise<{ report: proto.LabelReportResult; document: vscode.TextDocument } | undefined> {
  const task = await chooseTask(arg, 'show the per-label report of');
  const report = task ? await fromLastEvaluation(server, output, 'per-label report', proto.labelReport, { task }) : undefined;
  if (!report) return undefined;
  output.info(`per-label report of ${report.task} on ${report.file} (${evaluated(report.finishedAt)}): ${labelReportSummary(report)}`);
  const document = await showMarkdown(labelReportMarkdown(report), output, 'per-label report');
  return { report, document };
}

/**
 * Opens a report as an unsaved Markdown document beside the editor, then its preview in front of
 * it (the source stays in a tab behind, to save or copy tables from).
 */
export async function showMarkdown(content: string, output: TeeOutputChannel, what: string): Promise<vscode.TextDocument> {
  const document = await openUntitled('markdown', content);
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: false });
  try {
    await vscode.commands.executeCommand('markdown.showPreview', document.uri);
  } catch (err) {
    // Without VS Code's built-in Markdown extension (disabled by the user) the source is the report.
    output.warn(`${what}: no Markdown preview (${errorMessage(err)})`);
  }
  return document;
}
