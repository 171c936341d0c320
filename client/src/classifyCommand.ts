// "HdLM: Classify Hierarchically": the selection (or the current line) goes to the server; the
// coarse-to-fine path comes back and is shown in a quick pick, one row per level with its
// probability, the layer that decided it and the runners-up. Picking a row copies its label;
// two action rows copy the whole path or insert it as a comment above the classified text
// (also commands, so keybindings and tests reach them).
import * as vscode from 'vscode';
import * as proto from '../../server/src/protocol';
import { RequestErrors } from './requestErrors';
import type { ServerConnection } from './serverConnection';
import { insertOutcomes, TrackedText } from './trackedText';
import { errorMessage } from '../../engine/src/errorMessage';

/** The text to classify: the selection, else the cursor's line. */
export function textToClassify(editor: vscode.TextEditor | undefined): string {
  if (!editor) return '';
  return editor.document.getText(sourceRange(editor)).trim();
}

/** Where that text is: the selection, else the whole of the cursor's line. */
export function sourceRange(editor: vscode.TextEditor): vscode.Range {
  const { selection, document } = editor;
  return selection.isEmpty ? document.lineAt(selection.active.line).range : selection;
}

function percent(p: number): string {
  return `${(p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1)}%`;
}

type PickItem = vscode.QuickPickItem & { run?: () => Thenable<unknown> };

/** Fires with the items of every classification quick pick shown (tests read it through the extension's API). */
export const classifyPickShown = new vscode.EventEmitter<vscode.QuickPickItem[]>();

/** "noun.animal › feline › big cat". */
export function pathText(result: proto.ClassifyResult): string {
  return result.path.map((d) => d.label).join(' › ');
}

export function levelItems(result: proto.ClassifyResult): PickItem[] {
  return result.path.map((d) => ({
    label: `${'  '.repeat(d.level - 1)}${d.label}`,
    description: `${percent(d.probability)} · level ${d.level} from layer ${d.layer}/${result.layers}${result.trainedHeads[d.level - 1] ? '' : ' (untrained head)'}`,
    detail: d.runnersUp.length > 0 ? `next: ${d.runnersUp.map((r) => `${r.label} ${percent(r.probability)}`).join(', ')}${beamNote(d)}` : 'the only child of its parent: nothing to decide',
    run: () => vscode.env.clipboard.writeText(d.label),
  }));
}

/**
 * Why a level's label is not its likeliest: the hierarchy beam kept the path that is surer as a
 * whole (its finer levels are surer), which is what the path probability ranks.
 */
function beamNote(d: proto.LevelDecision): string {
  return d.runnersUp.some((r) => r.probability > d.probability) ? ' · kept by the hierarchy beam: the surer path as a whole (below)' : '';
}

/** The other paths the hierarchy beam weighed, surest first; picking one copies it. */
export function alternativeItems(result: proto.ClassifyResult): PickItem[] {
  if (result.alternatives.length === 0) return [];
  return [
    { label: 'other paths the hierarchy beam weighed', kind: vscode.QuickPickItemKind.Separator },
    ...result.alternatives.map((a) => ({
      label: a.labels.join(' › '),
      description: `${percent(a.probability)} (the chosen path ${percent(result.pathProbability)})`,
      run: () => vscode.env.clipboard.writeText(a.labels.join(' › ')),
    })),
  ];
}

function actionItems(result: proto.ClassifyResult, source: TrackedText | undefined): PickItem[] {
  const items: PickItem[] = [
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(copy) Copy path', description: pathText(result), run: () => vscode.commands.executeCommand('hdlm.copyClassification', result) },
  ];
  if (source) items.push({ label: '$(comment) Insert as comment', description: `above the classified text (line ${source.line + 1} of ${vscode.workspace.asRelativePath(source.uri)})`, run: () => insertAboveSource(result, source) });
  return items;
}

/**
 * Insert as comment from the pick: above the classified text where it is now (lines added or
 * removed above it since the command started moved it); refused, with a message, when its lines
 * were edited or deleted meanwhile.
 */
async function insertAboveSource(result: proto.ClassifyResult, source: TrackedText): Promise<string | undefined> {
  const place = await source.place();
  if ('problem' in place) {
    void vscode.window.showWarningMessage(`HdLM: ${place.problem}; the classification was not inserted (Copy path still has it).`);
    insertOutcomes.fire({ what: 'comment', uri: source.uri.toString(), problem: place.problem });
    return undefined;
  }
  const line = place.span.start.line;
  const inserted = await vscode.commands.executeCommand<string | undefined>('hdlm.insertClassificationComment', result, { uri: source.uri.toString(), line });
  insertOutcomes.fire({ what: 'comment', uri: source.uri.toString(), ...(inserted === undefined ? { problem: 'the edit was not applied' } : { line }) });
  return inserted;
}

/** Where `hdlm.insertClassificationComment` writes: a document and a line of it, as given (scripts, keybindings). */
export interface InsertTarget {
  uri: string;
  line: number;
}

/** `hdlm.copyClassification`: the path and its probability on the clipboard. */
export async function copyClassification(result: proto.ClassifyResult): Promise<string> {
  const text = `${pathText(result)} (${percent(result.pathProbability)})`;
  await vscode.env.clipboard.writeText(text);
  return text;
}

/**
 * `hdlm.insertClassificationComment`: inserts "HdLM <task>: a › b › c (p%)" as a line above
 * the classified text, commented with the language's own line comment (VS Code's Add Line
 * Comment). Languages without comments (plain text) get the line as it is. Returns the line.
 */
export async function insertClassificationComment(result: proto.ClassifyResult, target: InsertTarget): Promise<string | undefined> {
  const uri = vscode.Uri.parse(target.uri);
  // An untitled document that was closed is gone: there is nothing to insert into.
  if (uri.scheme === 'untitled' && !vscode.workspace.textDocuments.some((d) => d.uri.toString() === target.uri)) {
    void vscode.window.showWarningMessage(`HdLM: ${uri.path} was closed; the classification was not inserted (Copy path still has it).`);
    return undefined;
  }
  // The edit goes to the document the text was classified in, whichever editor is active now,
  // and opens it again if it was closed.
  const doc = await vscode.workspace.openTextDocument(uri);
  const line = Math.min(target.line, doc.lineCount - 1);
  const indent = /^\s*/.exec(doc.lineAt(line).text)![0];
  const text = `${indent}HdLM ${result.task}: ${pathText(result)} (${percent(result.pathProbability)})`;
  const edit = new vscode.WorkspaceEdit();
  edit.insert(uri, new vscode.Position(line, 0), `${text}\n`);
  if (!(await vscode.workspace.applyEdit(edit))) return undefined;
  // The language's line comment is VS Code's own Add Line Comment, which works on an editor.
  const editor = await vscode.window.showTextDocument(doc);
  editor.selection = new vscode.Selection(line, indent.length, line, text.length);
  await vscode.commands.executeCommand('editor.action.addCommentLine');
  return doc.lineAt(line).text;
}

export async function classifyCommand(server: ServerConnection, output: vscode.LogOutputChannel, text?: string): Promise<proto.ClassifyResult | undefined> {
  const editor = vscode.window.activeTextEditor;
  const input = text ?? textToClassify(editor);
  if (!input) {
    void vscode.window.showWarningMessage('HdLM: select some text to classify (or put the cursor on a non-empty line).');
    return undefined;
  }
  // The classified text, followed from now on: by the time the result comes the user may have
  // moved the cursor, switched files or edited above it. Text passed in (a code lens, a script)
  // has no place in a document. It is let go when the pick closes (after its action has run).
  const source = text === undefined && editor ? new TrackedText(editor.document, sourceRange(editor)) : undefined;
  const result = await classify(server, output, input);
  if (!result) {
    source?.dispose();
    return undefined;
  }
  showResult(result, source, output);
  return result;
}

/** The classification, under a cancellable progress notification; undefined when cancelled or failed (said). */
async function classify(server: ServerConnection, output: vscode.LogOutputChannel, input: string): Promise<proto.ClassifyResult | undefined> {
  let result: proto.ClassifyResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'HdLM: classifying…', cancellable: true },
      (_progress, token) => server.request(proto.classify, { text: input }, token),
    );
  } catch (err) {
    const message = errorMessage(err);
    if (/cancelled/i.test(message)) return undefined;
    output.error(`classify: ${message}`);
    RequestErrors.show(`HdLM: ${message}`, err, output);
    return undefined;
  }
  output.info(`classified with ${result.task}: ${summaryOf(result)}`);
  return result;
}

function summaryOf(result: proto.ClassifyResult): string {
  return `${pathText(result)} (${percent(result.pathProbability)}, ${result.ms.toFixed(0)} ms on ${result.device})`;
}

/** The result's quick pick; `source` is let go once it closes and the action chosen has run. */
function showResult(result: proto.ClassifyResult, source: TrackedText | undefined, output: vscode.LogOutputChannel): void {
  const pick = vscode.window.createQuickPick<PickItem>();
  pick.title = `HdLM · ${result.task}: ${summaryOf(result)}`;
  pick.placeholder = 'Pick a level to copy its label, or an action';
  pick.items = [...levelItems(result), ...alternativeItems(result), ...actionItems(result, source)];
  classifyPickShown.fire(pick.items.map(({ label, description, detail, kind }) => ({ label, description, detail, kind })));
  let accepted = false;
  pick.onDidAccept(() => {
    accepted = true;
    const chosen = pick.selectedItems[0];
    pick.hide();
    void Promise.resolve(chosen?.run?.())
      .catch((err: unknown) => output.error(`classify action: ${errorMessage(err)}`))
      .finally(() => source?.dispose());
  });
  pick.onDidHide(() => {
    pick.dispose();
    if (!accepted) source?.dispose();
  });
  pick.show();
}
