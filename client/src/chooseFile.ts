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
