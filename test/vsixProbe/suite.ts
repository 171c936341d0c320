// Runs inside a real VS Code whose extensions folder holds the packaged HdLM .vsix (installed
// with code-server's --install-extension by test/integration/runVsixCheck.ts): the installed
// extension, not the development tree, must activate, start its server from the packaged
// bundle and classify with the packaged default model and heads. Plain asserts, no mocha: the
// packaged extension is the thing under test, this folder only hosts the check.
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HdlmApi } from '../../client/src/extension';
import type { ClassifyResult } from '../../server/src/protocol';

const EXTENSION_ID = 'hdlm.hdlm-vscode';

async function check(): Promise<string[]> {
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
  return [`installed at ${extension.extensionPath}`, `activated: ${api.statusBarText()}`, `classified: ${result.path.map((d) => `${d.label}@${d.layer}`).join(' › ')} in ${result.ms.toFixed(0)} ms`];
}

export async function run(): Promise<void> {
  const results = process.env['HDLM_TEST_RESULTS'];
  try {
    const lines = await check();
    for (const line of lines) console.log(`vsix: ${line}`);
    if (results) writeFileSync(join(results, 'vsix.json'), JSON.stringify({ passes: 1, failures: 0, lines }, null, 2));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.log(`vsix: FAILED: ${message}`);
    if (results) writeFileSync(join(results, 'vsix.json'), JSON.stringify({ passes: 0, failures: 1, lines: [message] }, null, 2));
    throw err;
  }
}
