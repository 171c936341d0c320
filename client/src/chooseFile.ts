// Which file a command works on: the one it was given (a URI from the explorer or a test, or a
// file: URI string), else the active editor's when it is of the kind, else a pick among the
// workspace's. Fine-tune, Evaluate and New Task from Dataset all ask this way.
import * as vscode from 'vscode';

export interface FileKind {
  /** Whether a document is of this kind (the active editor's is then taken without asking). */
  isOne: (doc: vscode.TextDocument) => boolean;
  /** Workspace files of this kind, and how many to list at most. */
  glob: string;
  max: number;
  /** The quick pick's title. */
  title: string;
  /** Says there is none in the workspace. */
  none: () => void;
  /** A single file of the kind is taken without asking. */
  takeSingle: boolean;
}

export async function chooseFile(arg: unknown, kind: FileKind): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string') return arg.startsWith('file:') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  const active = vscode.window.activeTextEditor?.document;
  if (active && kind.isOne(active)) return active.uri;
  const files = await vscode.workspace.findFiles(kind.glob, '**/node_modules/**', kind.max);
  if (files.length === 0) {
    kind.none();
    return undefined;
  }
  if (files.length === 1 && kind.takeSingle) return files[0]!;
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
    { title: kind.title },
  );
  return pick?.uri;
}

/** A dataset: the argument (a URI or path), the active *.jsonl editor, or a pick among the workspace's. */
export function chooseDataset(arg: unknown, purpose: string): Promise<vscode.Uri | undefined> {
  return chooseFile(arg, {
    isOne: (doc) => doc.uri.fsPath.endsWith('.jsonl'),
    glob: '**/*.jsonl',
    max: 200,
    title: `HdLM: ${purpose} which dataset?`,
    none: () => void vscode.window.showWarningMessage('HdLM: no dataset (*.jsonl) in the workspace. A line is {"text": "...", "labels": ["coarse", "fine"]}, or {"input", "thought", "answer"}.'),
    takeSingle: false,
  });
}

/**
 * The server reads files on disk: an open editor's unsaved edits would be left out silently, so
 * the user chooses to save them or go on without them. False when they chose neither (or the save failed).
 */
export async function readyOnDisk(file: vscode.Uri, what: string): Promise<boolean> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.toString());
  if (!open?.isDirty) return true;
  const choice = await vscode.window.showWarningMessage(`HdLM: ${vscode.workspace.asRelativePath(file)} has unsaved changes; ${what} from the file on disk.`, 'Save and Continue', 'Continue');
  if (!choice) return false;
  return choice === 'Continue' || (await open.save());
}
