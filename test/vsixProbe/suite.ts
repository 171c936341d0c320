// Runs inside a real VS Code whose extensions folder holds the packaged HdLM .vsix (installed
// with code-server's --install-extension by test/integration/runVsixCheck.ts): the installed
// extension, not the development tree, must activate, start its server from the packaged
// bundle and classify with the packaged default model and heads. Plain asserts, no mocha: the
// packaged extension is the thing under test, this folder only hosts the check.
// HDLM_VSIX_MODE=restricted: the window is in Restricted Mode and its workspace settings name a
// model and a task that do not exist and turn inline completions on (restricted.ts); the same
// checks must pass, Select Model must refuse to write a setting that would not be used, the inline
// settings must read as the defaults, and a job must not start.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HdlmApi } from '../../client/src/extension';
import type { ClassifyResult } from '../../server/src/protocol';
import { RESTRICTED_WORKSPACE_SETTINGS } from './restricted';

const EXTENSION_ID = 'hdlm.hdlm-vscode';
const MODE = process.env['HDLM_VSIX_MODE'] === 'restricted' ? 'restricted' : 'trusted';

async function check(): Promise<string[]> {
  assert.equal(vscode.workspace.isTrusted, MODE === 'trusted', `the workspace is ${MODE}`);
  const extension = vscode.extensions.getExtension<HdlmApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed`);
  const installedFrom = process.env['HDLM_VSIX_EXTENSIONS_DIR'] ?? '';
  assert.ok(installedFrom && extension.extensionPath.startsWith(installedFrom), `loaded from the extensions folder (${extension.extensionPath}), not the development tree`);
  const api = await extension.activate();
  const status = await api.waitForStatus((s) => !s.busy, 120_000);
  assert.equal(status.health, 'ok', JSON.stringify(status));
  const result = await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify', 'a large wild cat of Africa and Asia with a tawny coat and a mane');
  assert.ok(result, `classification answered; log: ${api.outputText().split('\n').slice(-5).join(' | ')}`);
  assert.equal(result.path.length, 3);
  assert.deepEqual(result.trainedHeads, [true, true, true], 'the packaged WordNet heads are used');
  await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  if (MODE === 'restricted') return [...(await restrictedChecks(api)), `classified: ${result.path.map((d) => `${d.label}@${d.layer}`).join(' › ')}`];
  return [`installed at ${extension.extensionPath}`, `activated: ${api.statusBarText()}`, `classified: ${result.path.map((d) => `${d.label}@${d.layer}`).join(' › ')} in ${result.ms.toFixed(0)} ms`];
}

/** Restricted Mode: the log says why the workspace's settings are not used; Select Model writes nothing. */
async function restrictedChecks(api: HdlmApi): Promise<string[]> {
  assert.match(api.outputText(), /Restricted Mode: this workspace's hdlm\.model and hdlm\.task settings are not used/);
  const settingsFile = join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, '.vscode', 'settings.json');
  const before = readFileSync(settingsFile, 'utf8');
  assert.deepEqual(JSON.parse(before), RESTRICTED_WORKSPACE_SETTINGS);
  const chosen = await vscode.commands.executeCommand<string | undefined>('hdlm.selectModel', 'default');
  assert.equal(chosen, undefined, 'Select Model refuses in Restricted Mode');
  assert.equal(readFileSync(settingsFile, 'utf8'), before, 'the workspace settings file is unchanged');
  assert.equal(vscode.workspace.getConfiguration('hdlm').get('inline.enabled'), false, 'the workspace cannot turn inline completions on');
  assert.deepEqual(vscode.workspace.getConfiguration('hdlm').get('inline.languages'), ['plaintext', 'markdown']);
  // A task file of the folder (as a repository could commit it) whose heads go outside it: its
  // code lens's Fine-tune must not start a job, nor make its heads folder.
  const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  writeFileSync(join(folder, 'probe.jsonl'), '{"text": "a cat", "labels": ["animal", "cat"]}\n{"text": "a dog", "labels": ["animal", "dog"]}\n');
  const task = join(folder, 'probe.hdlm.json');
  writeFileSync(task, JSON.stringify({ name: 'probe', dataset: 'probe.jsonl', levels: [2, 'last'], heads: '../restricted-heads' }));
  const logged = api.outputText().length;
  const end = await vscode.commands.executeCommand<unknown>('hdlm.fineTune', vscode.Uri.file(task));
  assert.equal(end, undefined, `Fine-tune does not run in Restricted Mode; it ended with ${JSON.stringify(end)}`);
  assert.equal(existsSync(join(folder, '..', 'restricted-heads')), false, 'no heads folder was made');
  assert.doesNotMatch(api.outputText().slice(logged), /probe/, 'no job was started or refused by the server');
  return ['restricted mode: the workspace model, task and inline settings were not used; Select Model wrote nothing; Fine-tune started no job'];
}

export async function run(): Promise<void> {
  const results = process.env['HDLM_TEST_RESULTS'];
  try {
    const lines = await check();
    for (const line of lines) console.log(`vsix (${MODE}): ${line}`);
    if (results) writeFileSync(join(results, `vsix-${MODE}.json`), JSON.stringify({ passes: 1, failures: 0, lines }, null, 2));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.log(`vsix (${MODE}): FAILED: ${message}`);
    if (results) writeFileSync(join(results, `vsix-${MODE}.json`), JSON.stringify({ passes: 0, failures: 1, lines: [`${MODE}: ${message}`] }, null, 2));
    throw err;
  }
}
