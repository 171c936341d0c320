// "HdLM: Select Model", "HdLM: Select Task" and "HdLM: Select Device": quick picks that write the
// `hdlm.model` and `hdlm.task` settings (workspace settings when a folder is open) and
// `hdlm.executionProviders` (the user's settings: it is this machine's, settingTarget.ts). The server reads settings on each request, so the next request uses the choice.
// In Restricted Mode the workspace's model and task settings are not used (trust.ts), so those
// two commands ask for trust instead of writing a setting that would do nothing.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { SHIPPED_TASK } from '../../server/src/protocol';
import { machineSettingTarget } from './settingTarget';
import { canChooseInWorkspace } from './trust';
import { settingPath } from './workspacePaths';

/** The setting's value for a workspace file: one the server resolves to it (workspacePaths.ts). */
export function settingFor(uri: vscode.Uri): string {
  return settingPath(uri.fsPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
}

function target(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/** Model folders in the workspace: folders with a config.json beside safetensors weights. */
async function workspaceModels(): Promise<vscode.Uri[]> {
  const weights = await vscode.workspace.findFiles('**/{model.safetensors,model.safetensors.index.json}', '**/node_modules/**', 100);
  const folders = new Map(weights.map((w) => [dirname(w.fsPath), vscode.Uri.file(dirname(w.fsPath))]));
  return [...folders.values()];
}

export async function selectModel(arg?: unknown): Promise<string | undefined> {
  if (!canChooseInWorkspace('hdlm.model')) return undefined;
  let choice: string | undefined = typeof arg === 'string' ? arg : undefined;
  if (choice === undefined) {
    const current = vscode.workspace.getConfiguration('hdlm').get<string>('model', 'default');
    const items: (vscode.QuickPickItem & { value: string })[] = [
      { label: '$(package) Default model', description: 'models/hdlm-tiny, shipped with the extension', value: 'default' },
      ...(await workspaceModels()).map((uri) => ({ label: `$(folder) ${vscode.workspace.asRelativePath(uri)}`, description: uri.fsPath, value: settingFor(uri) })),
      { label: '$(folder-opened) Browse…', description: 'a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)', value: '' },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'HdLM: model', placeHolder: `now: ${current}` });
    if (!pick) return undefined;
    choice = pick.value;
    if (!choice) {
      const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model' });
      if (!folder?.[0]) return undefined;
      choice = folder[0].fsPath;
    }
  }
  await vscode.workspace.getConfiguration('hdlm').update('model', choice, target());
  return choice;
}

/** The tasks shipped beside the default model: `models/hdlm-tiny/tasks/*.hdlm.json`, by name. */
function shippedTasks(extensionPath: string): string[] {
  const dir = join(extensionPath, 'models', 'hdlm-tiny', 'tasks');
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.hdlm.json')).map((f) => basename(f, '.hdlm.json')).sort();
  } catch {
    return [];
  }
}

/**
 * Which task classification, the layer view and Think Then Answer use: a shipped one (the
 * WordNet task is the default, written as no setting) or a workspace task file.
 */
export async function selectTask(extensionPath: string, arg?: unknown): Promise<string | undefined> {
  if (!canChooseInWorkspace('hdlm.task')) return undefined;
  let choice: string | undefined = typeof arg === 'string' ? arg : undefined;
  if (choice === undefined) {
    const current = vscode.workspace.getConfiguration('hdlm').get<string>('task', '') || `${SHIPPED_TASK}wordnet (default)`;
    const files = await vscode.workspace.findFiles('**/*.hdlm.json', '**/node_modules/**', 200);
    const items: (vscode.QuickPickItem & { value: string })[] = [
      ...shippedTasks(extensionPath).map((name) => ({ label: `$(package) ${name}`, description: name === 'wordnet' ? 'shipped: a gloss → three levels of WordNet (the default)' : name === 'thought' ? 'shipped: think then answer, with its trained thought and answer heads' : 'shipped with the extension', value: name === 'wordnet' ? '' : `${SHIPPED_TASK}${name}` })),
      ...files.map((uri) => ({ label: `$(file) ${vscode.workspace.asRelativePath(uri)}`, description: 'workspace task', value: settingFor(uri) })),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: 'HdLM: task (classification, layer view, Think Then Answer, inline completions)', placeHolder: `now: ${current}` });
    if (!pick) return undefined;
    choice = pick.value;
  }
  // The default is no setting at all, so that the workspace's settings file stays clean.
  await vscode.workspace.getConfiguration('hdlm').update('task', choice === '' ? undefined : choice, target());
  return choice;
}

const DEVICE_ORDERS: { label: string; description: string; value: string[] }[] = [
  { label: 'CPU', description: 'always available', value: ['cpu'] },
  { label: 'WebGPU, else CPU', description: 'bundled; Vulkan on Linux', value: ['webgpu', 'cpu'] },
  { label: 'CUDA, else CPU', description: 'needs the CUDA provider installed (see README)', value: ['cuda', 'cpu'] },
  { label: 'CUDA, else WebGPU, else CPU', description: '', value: ['cuda', 'webgpu', 'cpu'] },
];

export async function selectDevice(arg?: unknown): Promise<string[] | undefined> {
  let order = Array.isArray(arg) ? (arg as string[]) : undefined;
  if (!order) {
    const pick = await vscode.window.showQuickPick(DEVICE_ORDERS, { title: 'HdLM: execution provider order (the engine falls back and says why)' });
    order = pick?.value;
  }
  if (!order) return undefined;
  const config = vscode.workspace.getConfiguration('hdlm');
  const where = machineSettingTarget(config.inspect('executionProviders'));
  await config.update('executionProviders', order, where === 'workspace' ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global);
  if (where === 'workspace') void vscode.window.showInformationMessage('HdLM: the device order was written to the workspace settings, which already set hdlm.executionProviders (they override your user settings).');
  return order;
}
