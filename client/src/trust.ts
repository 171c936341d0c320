// Restricted Mode (an untrusted workspace). package.json declares the extension's support as
// "limited": VS Code then hides the workspace's own values of the settings listed in its
// `restrictedConfigurations` (hdlm.model, hdlm.task), so that opening a folder cannot make the
// engine load, and write gigabytes of converted graphs for, a model the folder names. Jobs
// (fine-tune, evaluate, scan layers) are refused there too: a task file loads the model it names
// from any path and writes into a heads folder it may put anywhere, and one click on its code lens
// would start them (jobTrust.ts decides). Classifying, thinking and the layer view still work, on
// the shipped model and task or the user's own settings. Writing those settings into such a
// workspace would have no effect, so the commands that would do it say why and offer the trust
// editor instead.
import * as vscode from 'vscode';
import { pathKey } from '../../engine/src/samePath';
import { realPath } from '../../engine/src/realPath';
import { jobGate, refusesJobs } from './jobTrust';

/**
 * The settings whose workspace values Restricted Mode hides that choose what runs (package.json's
 * restrictedConfigurations also lists hdlm.inline.enabled and hdlm.inline.languages, which would
 * run the model on every keystroke).
 */
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
  offerTrust(`HdLM: this workspace is in Restricted Mode, where its ${setting} setting is not used. Trust the workspace to choose ${what} for it.`);
  return false;
}

/** Says why something was not done and offers the trust editor. */
function offerTrust(message: string): void {
  void vscode.window.showWarningMessage(message, MANAGE_TRUST).then((choice) => choice && vscode.commands.executeCommand('workbench.trust.manage'));
}

/** Heads folders outside the workspace the user agreed to, per task file, for this session. */
const agreed = new Set<string>();

/** The workspace folders as real paths (a folder opened through a link holds what its target holds). */
function realFolders(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => realPath(f.uri.fsPath));
}

/**
 * Whether jobs may start at all: not in Restricted Mode, which says so and offers the trust
 * editor. Asked before a task is picked, so nothing is chosen in vain.
 */
export function jobsAllowed(what: string): boolean {
  if (!refusesJobs(vscode.workspace.isTrusted, vscode.workspace.workspaceFolders?.length ?? 0)) return true;
  offerTrust(`HdLM: this workspace is in Restricted Mode, where jobs do not run: ${what} would load the model its task file names and write into its heads folder. Trust the workspace to run it.`);
  return false;
}

/**
 * Whether a job of `task` (a task file) may write into `headsDir`: at once inside a workspace
 * folder; outside every one (symbolic links followed) only once the user agrees in a modal
 * naming the real folder, remembered for this task and folder until the window closes. Refused
 * in Restricted Mode (jobsAllowed).
 */
export async function confirmJobWrites(what: string, task: string, headsDir: string): Promise<boolean> {
  const gate = jobGate(vscode.workspace.isTrusted, realFolders(), realPath(headsDir));
  if (gate.decision === 'refuse') return jobsAllowed(what);
  if (gate.decision === 'start') return true;
  const key = `${pathKey(task)}\0${pathKey(gate.headsDir)}`;
  if (agreed.has(key)) return true;
  const choice = await vscode.window.showWarningMessage(
    `HdLM: ${what} will write into ${gate.headsDir}, outside the workspace (the heads folder of ${vscode.workspace.asRelativePath(task)}). Continue?`,
    { modal: true },
    'Continue',
  );
  if (choice !== 'Continue') return false;
  agreed.add(key);
  return true;
}

/** What the log says at activation in Restricted Mode (undefined when trusted). */
export function restrictedModeNotice(): string | undefined {
  if (vscode.workspace.isTrusted || !vscode.workspace.workspaceFolders) return undefined;
  return `Restricted Mode: this workspace's ${RESTRICTED_SETTINGS.join(' and ')} settings are not used until you trust it (the shipped model and task, or your user settings, serve), nor its hdlm.inline settings, and jobs (fine-tune, evaluate, suggest layers) do not run`;
}
