// Restricted Mode (an untrusted workspace). package.json declares the extension's support as
// "limited": VS Code then hides the workspace's own values of the settings listed in its
// `restrictedConfigurations` (hdlm.model, hdlm.task), so that opening a folder cannot make the
// engine load, and write gigabytes of converted graphs for, a model the folder names. Everything
// the user runs on a file still works. Writing those settings into such a workspace would have
// no effect, so the commands that would do it say why and offer the trust editor instead.
import * as vscode from 'vscode';

/** The settings whose workspace values Restricted Mode hides (package.json's restrictedConfigurations). */
export const RESTRICTED_SETTINGS = ['hdlm.model', 'hdlm.task'] as const;

const MANAGE_TRUST = 'Manage Workspace Trust';

/**
 * Whether a choice of `setting` can be written where it will be used: always in a trusted
 * workspace or a window without a folder (user settings); in Restricted Mode it tells the user
 * and offers the trust editor.
 */
export function canChooseInWorkspace(setting: (typeof RESTRICTED_SETTINGS)[number]): boolean {
  if (vscode.workspace.isTrusted || !vscode.workspace.workspaceFolders) return true;
  const what = setting === 'hdlm.model' ? 'a model' : 'a task';
  void vscode.window
    .showWarningMessage(`HdLM: this workspace is in Restricted Mode, where its ${setting} setting is not used. Trust the workspace to choose ${what} for it.`, MANAGE_TRUST)
    .then((choice) => choice && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/** What the log says at activation in Restricted Mode (undefined when trusted). */
export function restrictedModeNotice(): string | undefined {
  if (vscode.workspace.isTrusted || !vscode.workspace.workspaceFolders) return undefined;
  return `Restricted Mode: this workspace's ${RESTRICTED_SETTINGS.join(' and ')} settings are not used until you trust it (the shipped model and task, or your user settings, serve)`;
}
