// Integration tests in a real VS Code workbench, through the public API only. They wait on the
// server's status (through the extension's exported API) instead of sleeping.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HdlmApi } from '../../../client/src/extension';
import type { ClassifiedLine } from '../../../client/src/classifyLinesCommand';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClassifyResult, ClearCacheResult, CreateTaskResult, EngineInfoResult, LabelReportResult, LayerScan, MistakesResult, ThinkThenAnswerResult } from '../../../server/src/protocol';
import { writeTinyModel } from '../../support/tinyCheckpoint';
import { diagnosticsWhen } from '../../support/diagnosticsWhen';
import { screenshot } from '../../support/screenshots';

/**
 * Tasks whose training is not what a test is about name their epochs: left unset, epochs of few
 * steps (these datasets are a few lines) are scaled up to 50 steps' worth (headTrainer's
 * stoppingSchedule), which made the suite run past its time limit. 24 is the default, as before.
 */
const PINNED_EPOCHS = { epochs: 24 };

const EXTENSION_ID = 'hdlm.hdlm-vscode';

/**
 * Chooses the first or last item of the quick pick that is open or about to open (it appears a
 * moment after its command's result), again until `outcome` comes; resolves with that.
 */
async function choosePickItem<T>(which: 'first' | 'last', outcome: Promise<T>): Promise<T> {
  let settled = false;
  const done = outcome.finally(() => (settled = true));
  done.catch(() => undefined);
  for (let tries = 0; !settled && tries < 100; tries++) {
    await vscode.commands.executeCommand(which === 'last' ? 'quickInput.last' : 'quickInput.first');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  }
  return done;
}

async function activate(): Promise<HdlmApi> {
  const extension = vscode.extensions.getExtension<HdlmApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is installed in the development host`);
  return extension.activate();
}

/**
 * Reverts and closes the active editor, and waits until its document is gone. An untitled
 * document opened at once after a close can otherwise get the closed one's name and, in the
 * extension host, its stale text (seen once in a CI run: a report that read as the mistakes).
 */
async function revertAndClose(): Promise<void> {
  const doc = vscode.window.activeTextEditor?.document;
  const closed = new Promise<void>((resolve) => {
    if (!doc) return resolve();
    const timer = setTimeout(() => finish(), 5000);
    const sub = vscode.workspace.onDidCloseTextDocument((d) => d === doc && finish());
    function finish(): void {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    }
  });
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await closed;
}

/**
 * Runs Show Per-Label Report on a task: the report opens as an unsaved Markdown document with VS
 * Code's own Markdown preview of it in front. Closes both and returns the report and its text.
 */
async function showLabelReport(task: vscode.Uri, shot: string): Promise<{ report: LabelReportResult; text: string }> {
  const shown = await vscode.commands.executeCommand<{ report: LabelReportResult; document: vscode.TextDocument } | undefined>('hdlm.showLabelReport', task);
  assert.ok(shown, 'the report was shown');
  return { report: shown.report, text: await closeMarkdownReport(shown.document, shot) };
}

/**
 * A report the extension opened as an unsaved Markdown document with VS Code's preview of it in
 * front: checks both are there, takes the screenshot, closes both and returns the text.
 */
async function closeMarkdownReport(document: vscode.TextDocument, shot: string): Promise<string> {
  assert.equal(document.isUntitled, true);
  assert.equal(document.languageId, 'markdown');
  const text = document.getText();
  const previews = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && /markdown\.preview/.test(t.input.viewType));
  // The preview's panel reaches the tab model a moment after the command returns.
  for (let waited = 0; previews().length === 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  assert.equal(previews().length, 1, `one Markdown preview among ${vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => `${t.label} (${(t.input as { viewType?: string })?.viewType ?? (t.input as object | undefined)?.constructor.name})`).join(', ')}`);
  // The screenshot only documents (nothing is asserted on it): give the preview's page a moment to paint.
  await new Promise((r) => setTimeout(r, 1500));
  await screenshot(shot);
  await vscode.window.tabGroups.close(previews());
  await vscode.window.showTextDocument(document);
  await revertAndClose();
  return text;
}

/**
 * Writes a task `name` on the workspace's WordNet sample with `epochs` epochs (and as much
 * patience), starts fine-tuning it from the command once the server is idle, and resolves when
 * the status says it runs, with the command's promise of the job's end.
 */
async function startLongFineTuning(api: HdlmApi, name: string, epochs: number): Promise<{ running: Thenable<{ kind: string; message?: string } | undefined> }> {
  const folder = vscode.workspace.workspaceFolders![0]!.uri;
  // The fine-tuning test puts the sample there too; a test run alone (HDLM_TEST_GREP) needs it as well.
  copyFileSync(join(resolve(__dirname, '..', '..', '..', '..'), 'data', 'fixtures', 'wordnet.sample.jsonl'), join(folder.fsPath, 'wordnet.jsonl'));
  const uri = vscode.Uri.joinPath(folder, `${name}.hdlm.json`);
  const task = { name, model: 'tiny-model', dataset: 'wordnet.jsonl', levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train: { epochs, patience: epochs, batchSize: 16 } };
  await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
  await api.waitForStatus((s) => !s.busy, 60_000);
  const running = vscode.commands.executeCommand<{ kind: string; message?: string } | undefined>('hdlm.fineTune', uri);
  await api.waitForStatus((s) => s.busy && /fine-tuning/.test(s.message), 30_000);
  // In an object: an awaited thenable would wait for the job's end.
  return { running };
}

describe('HdLM extension in a real VS Code', () => {
  let api: HdlmApi;

  before(async () => {
    api = await activate();
  });

  it('activates and reaches a ready status from the server', async () => {
    const status = await api.waitForStatus((s) => !s.busy, 60_000);
    assert.equal(status.health, 'ok', `status: ${JSON.stringify(status)}`);
    assert.equal(status.device, 'cpu');
    assert.equal(vscode.extensions.getExtension(EXTENSION_ID)?.isActive, true);
  });

  it('shows the device in the status bar item', () => {
    assert.match(api.statusBarText(), /HdLM: cpu/);
    assert.doesNotMatch(api.statusBarText(), /sync~spin|error/);
  });

  it('round-trips hdlm/engineInfo through the command', async () => {
    const info = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.ok(info, 'the command returned engine info');
    assert.equal(info.device, 'cpu');
    assert.match(info.runtimeVersion, /^1\.\d+\.\d+$/);
    assert.ok(info.backends.some((b) => b.name === 'cpu'));
    assert.notEqual(info.pid, process.pid, 'the engine runs in the server process, not the extension host');
    assert.ok(info.rssMiB > 10, `server memory ${info.rssMiB} MiB`);
    assert.match(api.outputText(), /HdLM engine: .*\. (No model loaded yet \(.*\)|Model .* opened in [\d.]+ s\)); server \d+ MiB; cache .+ \([\d.]+ [MG]iB\)/);
    // The folder the test host points the engine's cache at (runIntegration.ts), as the server uses it.
    assert.equal(info.cache.dir, join(process.env['XDG_CACHE_HOME']!, 'hdlm'));
    assert.ok(info.cache.bytes >= 0);
    if (process.platform === 'linux') {
      // The client starts the server with huge-page malloc (engine/src/runtime/hugePages.ts), and the server says so.
      const environ = readFileSync(`/proc/${info.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.some((e) => /^GLIBC_TUNABLES=(.*:)?glibc\.malloc\.hugetlb=1(:|$)/.test(e)), 'the server runs with glibc.malloc.hugetlb=1');
      assert.match(api.outputText(), /engine ready on cpu \(.*; malloc on huge pages\)/);
    }
  });

  it('writes the server log to the HdLM output channel', async () => {
    assert.equal(api.outputChannelName, 'HdLM');
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
    await vscode.commands.executeCommand('hdlm.showLog');
    const text = api.outputText();
    assert.match(text, /HdLM server 0\.1\.0 \(pid \d+\) initializing/);
    assert.match(text, /engine ready on cpu/);
    assert.match(text, /HdLM engine: onnxruntime-node/);
    await screenshot('workbench-output.png');
  });

  it('opens the Get Started walkthrough', async () => {
    // Its pages and command links are checked against the manifest by a unit test (protocolDoc);
    // here it opens in the workbench, and the screenshot is for a person to look at.
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#start`, false);
    assert.equal(vscode.window.tabGroups.activeTabGroup.activeTab?.label, 'Welcome');
    await new Promise((r) => setTimeout(r, 1500)); // the page renders asynchronously
    await screenshot('workbench-walkthrough.png');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('gives *.hdlm.json files the hdlm-task language', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the test workspace is open');
    const uri = vscode.Uri.joinPath(folder.uri, 'demo.hdlm.json');
    await vscode.workspace.fs.writeFile(uri, Buffer.from('{ "model": "default", "levels": [] }\n'));
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'hdlm-task');
  });

  it('restarts the server on request and becomes ready again', async () => {
    const before = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    await vscode.commands.executeCommand('hdlm.restartServer');
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    const after = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.ok(before && after);
    assert.notEqual(after.pid, before.pid, 'a new server process answers');
  });

  it('restarts a server that dies, and says so', async () => {
    const before = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.ok(before);
    process.kill(before.pid, 'SIGKILL');
    await api.waitForStatus((s) => s.health === 'warning' && /restarting/.test(s.message), 30_000);
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    const after = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.ok(after);
    assert.notEqual(after.pid, before.pid);
    assert.match(api.outputText(), /the HdLM server stopped/);
  });

  it('gives up after hdlm.server.maxRestarts, fails requests clearly, and recovers on Restart Server', async () => {
    const config = vscode.workspace.getConfiguration('hdlm');
    await config.update('server.maxRestarts', 0, vscode.ConfigurationTarget.Global);
    try {
      const info = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
      assert.ok(info);
      process.kill(info.pid, 'SIGKILL');
      const status = await api.waitForStatus((s) => s.health === 'error', 30_000);
      assert.match(status.message, /will not be restarted/);
      assert.match(api.statusBarText(), /\$\(error\) HdLM/);
      await screenshot('workbench-server-down.png');
      const none = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
      assert.equal(none, undefined, 'the command answers nothing instead of hanging');
      assert.match(api.outputText(), /the HdLM server is not running/);
    } finally {
      await config.update('server.maxRestarts', undefined, vscode.ConfigurationTarget.Global);
    }
    await vscode.commands.executeCommand('hdlm.restartServer');
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    const back = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.equal(back?.device, 'cpu');
  });

  it('classifies a selection coarse to fine with a workspace task, each level from its layer', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const repo = resolve(__dirname, '..', '..', '..', '..'); // out/test/integration/suite → the repository
    writeTinyModel(join(folder, 'tiny-model'), repo, { std: 0.15, seed: 2 });
    const lines = ['{"text":"barks","labels":["animal","dog"]}', '{"text":"purrs","labels":["animal","cat"]}', '{"text":"oak","labels":["plant","tree"]}'];
    await vscode.workspace.fs.writeFile(vscode.Uri.file(join(folder, 'animals.jsonl')), Buffer.from(lines.join('\n')));
    const task = { name: 'animals', model: 'tiny-model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: PINNED_EPOCHS };
    await vscode.workspace.fs.writeFile(vscode.Uri.file(join(folder, 'animals.hdlm.json')), Buffer.from(JSON.stringify(task, null, 2)));
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      // The selection of an open document is what the command classifies.
      const doc = await vscode.workspace.openTextDocument({ content: 'A small animal that barks at strangers\n', language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(0, 0, 0, 38);
      const pick = api.nextClassifyPick(30_000);
      const result = await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify');
      assert.ok(result, 'the command returned a classification');
      // The quick pick: a row per level, then the other paths the hierarchy beam weighed (if any), then the actions.
      const items = await pick;
      assert.deepEqual(items.slice(0, 2).map((i) => i.label.trim()), result.path.map((d) => d.label));
      const others = items.filter((i) => i.kind !== vscode.QuickPickItemKind.Separator && / › /.test(i.label) && !i.label.startsWith('$('));
      assert.deepEqual(others.map((i) => i.label), result.alternatives.map((a) => a.labels.join(' › ')));
      assert.equal(items.some((i) => i.label === 'other paths the hierarchy beam weighed'), result.alternatives.length > 0);
      // A level whose runner-up is likelier says why the beam kept its label.
      result.path.forEach((d, i) => assert.equal(items[i]!.detail?.includes('kept by the hierarchy beam') ?? false, d.runnersUp.some((r) => r.probability > d.probability)));
      assert.equal(result.task, 'animals');
      assert.deepEqual(result.path.map((d) => d.layer), [2, 4]);
      const [coarse, fine] = result.path.map((d) => d.label);
      assert.ok((coarse === 'animal' && ['dog', 'cat'].includes(fine!)) || (coarse === 'plant' && fine === 'tree'), `${coarse} › ${fine}`);
      assert.ok(result.path.every((d) => d.probability > 0 && d.probability <= 1));
      assert.match(api.outputText(), /classified with animals: /);
      assert.match(api.statusBarText(), /HdLM: tiny-model · cpu/, 'the status bar names the model in use');
      await screenshot('workbench-classify.png');
      // Engine info now names the model loaded, with its task and where it can stop.
      const info = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
      assert.deepEqual([info?.model?.task, info?.model?.exitLayers], ['animals', [2, 4]]);
      assert.match(api.outputText(), /Model .*tiny-model \(task animals; stops at layers 2, 4; on cpu; opened in [\d.]+ s\); server \d+ MiB/);
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      // The quick pick's actions: copy the path, insert it as a comment in the language's syntax.
      const copied = await vscode.commands.executeCommand<string>('hdlm.copyClassification', result);
      assert.match(copied, new RegExp(`^${coarse} › ${fine} \\(\\d+(\\.\\d)?%\\)$`), copied);
      const code = await vscode.workspace.openTextDocument({ content: 'const dog = "barks";\n', language: 'javascript' });
      await vscode.window.showTextDocument(code);
      const inserted = await vscode.commands.executeCommand<string>('hdlm.insertClassificationComment', result, { uri: code.uri.toString(), line: 0 });
      assert.match(inserted, new RegExp(`^// HdLM animals: ${coarse} › ${fine} \\(`), inserted);
      assert.equal(code.lineAt(1).text, 'const dog = "barks";', 'the classified line itself is unchanged');
      await revertAndClose();
      // Classify Each Line: the dataset's lines, their labels scored, into a new unsaved JSON Lines document.
      const dataset = await vscode.workspace.openTextDocument(vscode.Uri.file(join(folder, 'animals.jsonl')));
      await vscode.window.showTextDocument(dataset);
      const rows = await vscode.commands.executeCommand<ClassifiedLine[] | undefined>('hdlm.classifyLines');
      assert.deepEqual(rows?.map((r) => [r.line, r.text, r.gold, r.labels.length]), [[1, 'barks', ['animal', 'dog'], 2], [2, 'purrs', ['animal', 'cat'], 2], [3, 'oak', ['plant', 'tree'], 2]]);
      const results = vscode.window.activeTextEditor!.document;
      assert.equal(results.isUntitled, true, 'the results are a new document; the dataset is not touched');
      assert.equal(results.languageId, 'jsonl');
      assert.deepEqual(results.getText().trim().split('\n').map((l) => (JSON.parse(l) as ClassifiedLine).labels), rows.map((r) => r.labels));
      assert.match(api.outputText(), /classified 3 of 3 lines in [\d.]+ s; against their labels [\d.]+ \/ [\d.]+ % per level/);
      await revertAndClose();
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('shows task-file problems as diagnostics on the right field', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'broken.hdlm.json');
    await vscode.workspace.fs.writeFile(uri, Buffer.from('{\n  "name": "broken",\n  "levels": [{ "layer": 0 }]\n}\n'));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const diagnostics = await diagnosticsWhen(uri, (found) => found.length > 0, 20_000);
    const layer = diagnostics.find((d) => /levels\[0\]\.layer/.test(d.message));
    assert.ok(layer, diagnostics.map((d) => d.message).join(' | '));
    assert.equal(doc.getText(layer.range), '0');
    assert.ok(diagnostics.some((d) => /dataset must be a path/.test(d.message)));
    await screenshot('workbench-diagnostics.png');
  });

  it('task files get quick fixes, links, an outline and formatting; dataset labels get references and a rename across splits', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const write = (name: string, text: string): Thenable<void> => vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder, name), Buffer.from(text));
    await write('pets.train.jsonl', '{"text":"barks","labels":["animal","dog"]}\n{"text":"purrs","labels":["animal","cat"]}\n');
    await write('pets.dev.jsonl', '{"text":"howls","labels":["animal","dog"]}\n');
    const taskUri = vscode.Uri.joinPath(folder, 'pets.hdlm.json');
    await write('pets.hdlm.json', '{\n  "name": "pets",\n  "model": "tiny-model",\n  "dataset": { "train": "pets.train.jsonl", "dev": "pets.dev.jsonl" },\n  "levels": [{ "layer": 2 }, { "layer": 9 }]\n}\n');
    const task = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(taskUri));
    // The level deeper than the 4-layer model: its preferred quick fix clears the error.
    const [problem] = await diagnosticsWhen(taskUri, (found) => found.some((d) => /levels\[1\]\.layer is 9/.test(d.message)), 20_000);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', taskUri, problem!.range, vscode.CodeActionKind.QuickFix.value);
    const preferred = actions.find((a) => a.isPreferred);
    assert.equal(preferred?.title, 'Use the last layer ("last")', actions.map((a) => a.title).join(', '));
    assert.ok(await vscode.workspace.applyEdit(preferred.edit!));
    assert.match(task.document.getText(), /\{ "layer": "last" \}/);
    await diagnosticsWhen(taskUri, (found) => found.length === 0, 20_000);
    await task.document.save();
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', taskUri);
    assert.deepEqual(links.map((l) => task.document.getText(l.range)).sort(), ['pets.dev.jsonl', 'pets.train.jsonl', 'tiny-model']);
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', taskUri);
    assert.deepEqual(symbols.find((s) => s.name === 'levels')?.children.map((c) => `${c.name}: ${c.detail}`), ['level 1: layer 2', 'level 2: layer last']);
    const formatting = await vscode.commands.executeCommand<vscode.TextEdit[]>('vscode.executeFormatDocumentProvider', taskUri, { tabSize: 2, insertSpaces: true });
    const edit = new vscode.WorkspaceEdit();
    edit.set(taskUri, formatting);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.match(task.document.getText(), /\n {2}"levels": \[ \{ "layer": 2 \}, \{ "layer": "last" \} \]\n/, 'Format Document works on a task file');
    await task.document.save();
    await vscode.commands.executeCommand('outline.focus');
    await screenshot('workbench-task-outline.png');
    // A label: its references in both splits, then renamed in both.
    const train = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'pets.train.jsonl'));
    await vscode.window.showTextDocument(train);
    const dog = train.positionAt(train.getText().indexOf('"dog"') + 2);
    const references = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', train.uri, dog);
    assert.deepEqual(references.map((r) => `${r.uri.path.split('/').pop()}:${r.range.start.line}`).sort(), ['pets.dev.jsonl:0', 'pets.train.jsonl:0']);
    const rename = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', train.uri, dog, 'hound');
    assert.deepEqual(rename.entries().map(([uri, edits]) => `${uri.path.split('/').pop()}:${edits.length}`).sort(), ['pets.dev.jsonl:1', 'pets.train.jsonl:1']);
    assert.ok(await vscode.workspace.applyEdit(rename));
    // The dev split was not open: the edit opened it (unsaved), as a rename from the editor does.
    const dev = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'pets.dev.jsonl'));
    assert.equal(dev.getText(), '{"text":"howls","labels":["animal","hound"]}\n', 'the dev split was renamed too');
    assert.match(train.getText(), /\["animal","hound"\]/);
    assert.ok((await Promise.all([dev.save(), train.save()])).every(Boolean));
    assert.equal(new TextDecoder().decode(await vscode.workspace.fs.readFile(dev.uri)), dev.getText());
    await screenshot('workbench-label-rename.png');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens the layer view and renders every layer with the task heads\' decisions', async () => {
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await vscode.workspace.openTextDocument({ content: 'The oak tree in the park\n', language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(0, 0, 0, 24);
      const rendered = api.nextLayerViewRender(60_000);
      await vscode.commands.executeCommand('hdlm.showLayerView');
      const summary = await rendered;
      assert.equal(summary.rows, 5, 'embeddings and 4 layers');
      assert.equal(summary.decisions, 2);
      assert.match(summary.summary, /^\w+@2 > \w+@4$/);
      await screenshot('workbench-layer-view.png');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('the layer view reads out again when a fine-tuning of the task in use ends: its decisions then come from the trained heads', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'lv.hdlm.json');
    const task = { name: 'lv', model: 'tiny-model', dataset: 'animals.jsonl', levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 1, devFraction: 0.34 } };
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
    await vscode.workspace.getConfiguration('hdlm').update('task', 'lv.hdlm.json', vscode.ConfigurationTarget.Workspace);
    const doc = await vscode.workspace.openTextDocument({ content: 'The oak tree in the park\n', language: 'plaintext' });
    try {
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(0, 0, 0, 24);
      const rendered = api.waitForLayerViewRender((r) => r.decisions === 2, 60_000);
      await vscode.commands.executeCommand('hdlm.showLayerView');
      assert.equal((await rendered).untrained, 2, 'no heads trained yet');
      // Nothing is selected again: the view reads out again by itself once the job has ended.
      const again = api.waitForLayerViewRender((r) => r.decisions === 2 && r.untrained === 0, 120_000);
      again.catch(() => undefined);
      const end = await vscode.commands.executeCommand<{ kind: string } | undefined>('hdlm.fineTune', uri);
      assert.equal(end?.kind, 'report', JSON.stringify(end));
      await again;
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.closeEditorsInOtherGroups');
      await revertAndClose();
    }
  });

  it('Think Then Answer drafts a thought at an intermediate layer, answers at the last, and the layer view follows it live', async () => {
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await vscode.workspace.openTextDocument({ content: 'The dog barked at the\n', language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(0, 0, 0, 21);
      const opened = api.nextLayerViewRender(60_000);
      await vscode.commands.executeCommand('hdlm.showLayerView');
      await opened;
      // Back to the text, in its own column: the layer view stays visible beside it.
      await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
      const live = api.waitForLayerViewRender((r) => r.generationDone, 60_000);
      live.catch(() => undefined); // Awaited below; a timeout must not surface as an unhandled rejection first.
      const result = await Promise.race([
        vscode.commands.executeCommand<ThinkThenAnswerResult | undefined>('hdlm.thinkThenAnswer'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`Think Then Answer did not answer in 60 s; log: ${api.outputText().split('\n').slice(-8).join(' | ')}`)), 60_000)),
      ]);
      assert.ok(result, `the command returned the thought and the answer; log: ${api.outputText().split('\n').slice(-8).join(' | ')}`);
      assert.equal(result.thoughtLayer, 2);
      assert.equal(result.answerLayer, 4);
      assert.ok(result.caughtUp > 0, 'the thought positions were caught up, not re-prefilled');
      const shown = await live;
      assert.ok(shown.generationTokens > 0, JSON.stringify(shown));
      assert.equal(shown.rows, 5, 'the readout of every layer is still shown beside the generation');
      await screenshot('workbench-think-layer-view.png');
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await revertAndClose();
      // Close the layer view too, so it does not follow the next tests' selections.
      const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('hdlm.layerView'));
      await vscode.window.tabGroups.close(tabs);
      // Select Task → the shipped thought task: its trained heads think on the shipped model.
      assert.equal(await vscode.commands.executeCommand<string | undefined>('hdlm.selectTask', 'shipped:thought'), 'shipped:thought');
      assert.equal(vscode.workspace.getConfiguration('hdlm').get('task'), 'shipped:thought');
      const shipped = await vscode.commands.executeCommand<ThinkThenAnswerResult | undefined>('hdlm.thinkThenAnswer', 'a domesticated carnivorous mammal that barks');
      assert.deepEqual([shipped?.task, shipped?.thoughtLayer, shipped?.answerLayer], ['thought', 4, 8], `log: ${api.outputText().split('\n').slice(-6).join(' | ')}`);
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      // The shipped default is no setting at all.
      await vscode.commands.executeCommand('hdlm.selectTask', '');
      assert.equal(vscode.workspace.getConfiguration('hdlm').inspect('task')?.workspaceValue, undefined);
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('offers a thought-then-answer inline completion, shows the thought, and accepting inserts the answer', async () => {
    const config = vscode.workspace.getConfiguration('hdlm');
    await config.update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    await config.update('inline.enabled', true, vscode.ConfigurationTarget.Workspace);
    await config.update('maxTokens', 6, vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await vscode.workspace.openTextDocument({ content: 'The dog barked at the', language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc);
      const end = doc.lineAt(0).range.end;
      editor.selection = new vscode.Selection(end, end);
      const thought = api.nextThought(60_000);
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      const received = await thought;
      assert.equal(received.thoughtLayer, 2);
      assert.equal(received.answerLayer, 4);
      assert.ok(received.answer.trim().length > 0);
      await screenshot('workbench-inline.png');
      // Accept the ghost text once the editor shows it.
      const deadline = Date.now() + 15_000;
      while (doc.getText() === 'The dog barked at the' && Date.now() < deadline) {
        await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(doc.getText(), `The dog barked at the${received.answer}`);
    } finally {
      await config.update('task', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('inline.enabled', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('maxTokens', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a language added to hdlm.inline.languages gets inline completions after Restart Server', async () => {
    const config = vscode.workspace.getConfiguration('hdlm');
    await config.update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    await config.update('inline.enabled', true, vscode.ConfigurationTarget.Workspace);
    await config.update('maxTokens', 6, vscode.ConfigurationTarget.Workspace);
    await config.update('inline.languages', ['plaintext', 'markdown', 'ini'], vscode.ConfigurationTarget.Workspace);
    try {
      // The change asks to restart the server; the command is what its button runs.
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('hdlm.restartServer');
      await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
      const doc = await vscode.workspace.openTextDocument({ content: 'The dog barked at the', language: 'ini' });
      const editor = await vscode.window.showTextDocument(doc);
      const end = doc.lineAt(0).range.end;
      editor.selection = new vscode.Selection(end, end);
      const thought = api.nextThought(30_000);
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      assert.equal((await thought).answerLayer, 4, 'the new language was synced and answered');
      await revertAndClose();
    } finally {
      for (const key of ['task', 'inline.enabled', 'maxTokens', 'inline.languages']) await config.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand('notifications.clearAll');
    }
  });

  it('measures the first inline suggestion with the shipped model and task', async () => {
    const config = vscode.workspace.getConfiguration('hdlm');
    await config.update('inline.enabled', true, vscode.ConfigurationTarget.Workspace);
    try {
      const times: number[] = [];
      for (const text of ['A small domesticated carnivore that', 'The kernel schedules the', 'A large wild cat of Africa with a']) {
        const doc = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
        const editor = await vscode.window.showTextDocument(doc);
        const end = doc.lineAt(0).range.end;
        editor.selection = new vscode.Selection(end, end);
        const thought = api.nextThought(60_000);
        const started = performance.now();
        await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
        const received = await thought;
        times.push(performance.now() - started);
        assert.equal(received.answerLayer, 8, 'the shipped model answers from its last layer');
        await revertAndClose();
      }
      // The first trigger also loads the model; the later ones are what typing feels like.
      console.log(`HDLM_FIGURE first inline suggestion (shipped model, trigger → thought and answer): ${times.map((t) => t.toFixed(0)).join(', ')} ms (including the server's debounce)`);
      assert.ok(times.every((t) => t < 10_000), times.join(', '));
    } finally {
      await config.update('inline.enabled', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('fine-tunes a task from the command while hover and diagnostics stay responsive', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    const repo = resolve(__dirname, '..', '..', '..', '..');
    copyFileSync(join(repo, 'data', 'fixtures', 'wordnet.sample.jsonl'), join(folder, 'wordnet.jsonl'));
    const task = { name: 'wn', model: 'tiny-model', dataset: 'wordnet.jsonl', levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train: { epochs: 8, patience: 8, batchSize: 32 } };
    const uri = vscode.Uri.file(join(folder, 'wn.hdlm.json'));
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const layerPosition = doc.positionAt(doc.getText().indexOf('"layer": 2') + 3);
    await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, layerPosition); // warm-up
    const running = vscode.commands.executeCommand<{ kind: string } | undefined>('hdlm.fineTune', uri);
    await api.waitForStatus((s) => s.busy && /fine-tuning/.test(s.message), 30_000);
    // Hover while the job runs: the job is another process, so the server answers at once.
    const times: number[] = [];
    while (api.status().busy && times.length < 40) {
      const started = performance.now();
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, layerPosition);
      times.push(performance.now() - started);
      assert.ok(hovers.some((h) => h.contents.some((c) => (typeof c === 'string' ? c : c.value).includes('Level 1'))));
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1]!;
    console.log(`HDLM_FIGURE hover during fine-tuning: ${times.length} samples, median ${median.toFixed(1)} ms, p90 ${times[Math.floor(times.length * 0.9)]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`);
    // Structural, not timed (speed is read off the printed figure; quiet runs of this machine
    // printed medians of 23–234 ms, 2026-12-03, and a machine at load 20 about 6 s): a server
    // that trained in its own process would answer one hover, after the job, and the loop would
    // end with one sample. Three answers while the job still ran mean the server answered
    // between the job's events. (The 500 ms bound this replaces failed on a machine at load 20
    // on the code before and after, 2026-12-07.)
    assert.ok(times.length >= 3, `only ${times.length} hover(s) answered while the job ran: the server was blocked by it`);
    const end = await running;
    assert.equal(end?.kind, 'report', JSON.stringify(end));
    assert.match(api.outputText(), /done in \d+ s: level1@2/);
    // The job's stages (and any notice about its dataset) stay in the log after the notification.
    assert.match(api.outputText(), /train-\d+-[a-z0-9]+: reading .*\.jsonl/);
    const classified = await (async () => {
      await vscode.workspace.getConfiguration('hdlm').update('task', 'wn.hdlm.json', vscode.ConfigurationTarget.Workspace);
      try {
        return await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify', 'a large dog');
      } finally {
        await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
        await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      }
    })();
    assert.deepEqual(classified?.trainedHeads, [true, true, true], `classification now uses the trained heads; log: ${api.outputText().split('\n').slice(-6).join(' | ')}`);
  });

  it('Select Model writes hdlm.model, and the next request runs that model', async () => {
    const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('hdlm');
    await config().update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      const chosen = await vscode.commands.executeCommand<string | undefined>('hdlm.selectModel', 'tiny-model');
      assert.equal(chosen, 'tiny-model');
      assert.equal(config().get('model'), 'tiny-model');
      const result = await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify', 'a cat');
      assert.ok(result?.model.endsWith('tiny-model'));
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      // A model the task does not fit still serves: the layer view reads it out and says why nothing was decided.
      const folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
      writeTinyModel(join(folder, 'shallow-model'), resolve(__dirname, '..', '..', '..', '..'), { std: 0.15, seed: 3, layers: 1 });
      await vscode.commands.executeCommand('hdlm.selectModel', 'shallow-model');
      const rendered = api.nextLayerViewRender(60_000);
      await vscode.commands.executeCommand('hdlm.showLayerView', 'a cat');
      const view = await rendered;
      assert.deepEqual([view.rows, view.decisions], [2, 0], 'embeddings and the one layer, no decision');
      assert.match(view.notice, /task animals cannot classify on shallow-model: .*level layer 2 is beyond the model's 1 layers/);
      assert.deepEqual(view.noticeActions, ['Open Task File', 'Select Task…'], 'the ways out, under the notice');
      const warned = await api.waitForStatus((s) => !s.busy && s.health === 'warning', 30_000);
      assert.match(warned.message, /shallow-model serves without task animals/);
      await screenshot('workbench-layer-view-unfit-task.png');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      // Classifying says why, with the ways out as buttons: the task file, another task.
      const shown = api.nextErrorShown(30_000);
      assert.equal(await vscode.commands.executeCommand('hdlm.classify', 'a cat'), undefined);
      const notice = await shown;
      assert.match(notice.message, /task animals cannot classify on shallow-model/);
      assert.deepEqual(notice.actions, ['Open Task File', 'Select Task…', 'Show Log']);
      await vscode.commands.executeCommand('notifications.clearAll');
      // Selecting another model lifts the warning at once: it spoke of the session that goes.
      await vscode.commands.executeCommand('hdlm.selectModel', 'tiny-model');
      await api.waitForStatus((s) => !s.busy && s.health === 'ok' && s.message === 'ready', 30_000);
      // Clear Engine Cache: the other models' graphs go (shallow-model's, the shipped model's), the loaded one's stay.
      const before = await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify', 'a cat');
      const graphs = join(process.env['XDG_CACHE_HOME']!, 'hdlm', 'graphs');
      assert.ok(readdirSync(graphs).length >= 2, `graphs of several models: ${readdirSync(graphs).join(', ')}`);
      // Refused while a request runs on the model: wait for the server to be idle.
      await api.waitForStatus((s) => !s.busy, 30_000);
      const cleared = await vscode.commands.executeCommand<ClearCacheResult | undefined>('hdlm.clearCache', { confirmed: true });
      assert.ok(cleared?.keptModel?.endsWith('tiny-model'), JSON.stringify(cleared));
      assert.ok(cleared!.removedBytes > 0, JSON.stringify(cleared));
      assert.equal(readdirSync(graphs).length, 1, 'only the loaded model\'s graphs stay');
      assert.match(api.outputText(), /HdLM: removed [\d.]+ [MG]iB from the engine's cache; [\d.]+ [MG]iB left in .* \(the graphs of .*tiny-model, which is loaded, stay\)/);
      const after = await vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify', 'a cat');
      assert.deepEqual(after?.path.map((d) => d.label), before?.path.map((d) => d.label), 'and it classifies as before');
      const order = await vscode.commands.executeCommand<string[] | undefined>('hdlm.selectDevice', ['cuda', 'cpu']);
      assert.deepEqual(order, ['cuda', 'cpu']);
      // A device order is this machine's: it goes to the user's settings, not the (shared) workspace's.
      const written = config().inspect<string[]>('executionProviders');
      assert.deepEqual([written?.globalValue, written?.workspaceValue], [['cuda', 'cpu'], undefined]);
      // No CUDA here: the engine restarts, falls back to the CPU and says so in the status.
      const status = await api.waitForStatus((s) => !s.busy && s.health === 'warning', 60_000);
      assert.match(status.message, /fell back: cuda/);
      // onnxruntime's own error line about the missing CUDA library reaches the log through the
      // server's stderr, coloured: the log shows it without the terminal codes.
      for (let waited = 0; !/Failed to load library/.test(api.outputText()) && waited < 5_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      assert.match(api.outputText(), /Failed to load library/);
      assert.ok(!api.outputText().includes('\x1b'), 'no terminal escape codes in the log');
    } finally {
      await config().update('model', undefined, vscode.ConfigurationTarget.Workspace);
      await config().update('executionProviders', undefined, vscode.ConfigurationTarget.Workspace);
      await config().update('executionProviders', undefined, vscode.ConfigurationTarget.Global);
      await config().update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
  });

  it('the task panel lists the workspace tasks, changes a level\'s layer in the file, and follows a fine-tuning run', async () => {
    const listed = api.nextTaskPanelRender(30_000);
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    const first = await listed;
    assert.ok(first.tasks >= 2, `tasks listed: ${first.tasks}`);
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'animals.hdlm.json');
    // With the task in use, the save itself opens it again (didSave), before any request.
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      await vscode.commands.executeCommand('hdlm.classify', 'a cat');
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await vscode.commands.executeCommand('hdlm.setLevelLayer', uri, 1, 3);
      const saved = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as { levels: { layer: unknown }[] };
      assert.deepEqual(saved.levels.map((l) => l.layer), [3, 'last'], 'the file was edited and saved');
      const reopened = /animals\.hdlm\.json saved: opening the task again\n(.*\n)*task animals ready in [\d.]+ s: layers 3, 4/;
      for (let waited = 0; !reopened.test(api.outputText()) && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      assert.match(api.outputText(), reopened);
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
    // The panel shows the previous test's finished job until this one starts, and re-renders it
    // when the save above is noticed: only a finished job with another id is this test's.
    const done = api.waitForTaskPanelRender((r) => r.job.startsWith('train:done') && r.jobId !== first.jobId, 120_000);
    done.catch(() => undefined);
    const end = await vscode.commands.executeCommand<{ kind: string } | undefined>('hdlm.fineTune', uri);
    assert.equal(end?.kind, 'report');
    const rendered = await done;
    assert.equal(rendered.job, 'train:done:3', `two level heads and the flat baseline are shown (job ${rendered.jobId}, previous ${first.jobId || 'none'})`);
    await screenshot('workbench-task-panel.png');
    assert.deepEqual(rendered.wideTables, [], 'no table is wider than the sidebar');
  });

  it('the task panel sets the layer of a level written as a bare layer, keeping the file\'s comments', async () => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'bare.hdlm.json');
    const text = '{\n  // levels written bare, as the engine accepts them\n  "name": "bare",\n  "model": "tiny-model",\n  "dataset": "animals.jsonl",\n  "levels": [2, "last"]\n}\n';
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    try {
      assert.equal(await vscode.commands.executeCommand<boolean>('hdlm.setLevelLayer', uri, 1, 3), true, 'edited and saved');
      const saved = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      assert.deepEqual((JSON.parse(saved.replace(/\/\/.*\n/, '\n')) as { levels: unknown[] }).levels, [3, 'last']);
      assert.match(saved, /\/\/ levels written bare, as the engine accepts them/);
    } finally {
      await revertAndClose();
      await vscode.workspace.fs.delete(uri);
    }
  });

  it('a level whose file names no layer shows "no layer set" in the task panel; a picker cannot write NaN', async () => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'unset.hdlm.json');
    const text = '{\n  "name": "unset",\n  "model": "tiny-model",\n  "dataset": "animals.jsonl",\n  "levels": [{}, { "layer": "last" }]\n}\n';
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    try {
      const shown = api.waitForTaskPanelRender((r) => r.levelPickers.some((p) => p.startsWith('unset.hdlm.json:')), 30_000);
      shown.catch(() => undefined);
      await vscode.commands.executeCommand('hdlm.tasks.focus');
      const render = await shown;
      assert.ok(render.levelPickers.includes('unset.hdlm.json: no layer set, last'), JSON.stringify(render.levelPickers));
      // The server's diagnostics say what to write, on the level.
      await vscode.window.showTextDocument(uri);
      const diagnostics = await diagnosticsWhen(uri, (d) => d.some((x) => /levels\[0\]\.layer/.test(x.message)), 30_000);
      assert.ok(diagnostics.some((d) => d.message === 'levels[0].layer is not set: give a whole number ≥ 1 or "last", e.g. { "layer": 4 }' && d.range.start.line === 4), JSON.stringify(diagnostics));
      // A layer that is none (a page or a script that sent NaN) is refused, naming the file; the file stays.
      await assert.rejects(Promise.resolve(vscode.commands.executeCommand('hdlm.setLevelLayer', uri, 1, NaN)), /unset\.hdlm\.json: levels\[0\]\.layer must be a whole number ≥ 1 or "last", got NaN; the file was not changed/);
      assert.equal(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)), text);
      // A real layer is written into the empty level.
      assert.equal(await vscode.commands.executeCommand<boolean>('hdlm.setLevelLayer', uri, 1, 2), true);
      assert.deepEqual((JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri))) as { levels: unknown[] }).levels, [{ layer: 2 }, { layer: 'last' }]);
    } finally {
      await revertAndClose();
      await vscode.workspace.fs.delete(uri);
    }
  });

  it('Fine-tune on a task file with unsaved edits asks first; dismissing the question starts no job', async () => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'animals.hdlm.json');
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), ' '));
    assert.equal(editor.document.isDirty, true);
    await api.waitForStatus((s) => !s.busy, 60_000);
    const logged = api.outputText().length;
    const running = vscode.commands.executeCommand<unknown>('hdlm.fineTune', uri);
    // The question (Save and Continue / Continue) is a notification: nothing starts while it waits.
    await new Promise((r) => setTimeout(r, 1500));
    try {
      assert.doesNotMatch(api.outputText().slice(logged), /fine-tuning .*animals\.hdlm\.json \(train-/, 'no job started before the user answered');
      await vscode.commands.executeCommand('notifications.clearAll');
      assert.equal(await running, undefined, 'dismissed: no job');
    } finally {
      await revertAndClose();
    }
  });

  it('Insert as comment and Insert answer go beside the text the command ran on: not where the cursor is, and following lines added above it', async () => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'notes.txt');
    await vscode.workspace.fs.writeFile(uri, Buffer.from('A small animal that barks\nAn oak tree in the park\n'));
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      editor.selection = new vscode.Selection(1, 3, 1, 3);
      const pick = api.nextClassifyPick(30_000);
      // The command takes its input and place when it runs; the cursor moves while it waits.
      const classified = vscode.commands.executeCommand<ClassifyResult | undefined>('hdlm.classify');
      editor.selection = new vscode.Selection(0, 3, 0, 3);
      const result = await classified;
      assert.ok(result, 'classified');
      const items = await pick;
      assert.match(items.find((i) => i.label.includes('Insert as comment'))?.description ?? '', /line 2 of notes\.txt/, 'the comment goes above the classified line');
      // A line added at the top while the pick is open: the classified line is now the third.
      assert.ok(await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'Added above\n')));
      // Insert as comment is the pick's last item.
      const commented = await choosePickItem('last', api.nextInsertOutcome(30_000));
      assert.equal(commented.line, 2, JSON.stringify(commented));
      const comment = `HdLM animals: ${result.path.map((d) => d.label).join(' › ')}`;
      assert.deepEqual(editor.document.getText().split('\n').map((l) => l.replace(/ \([\d.]+%\)$/, '')), ['Added above', 'A small animal that barks', comment, 'An oak tree in the park', '']);
      const commentedText = editor.document.getText();

      // Think Then Answer on the second line; a line goes at the top while it thinks.
      editor.selection = new vscode.Selection(1, 3, 1, 3);
      const thinking = vscode.commands.executeCommand<ThinkThenAnswerResult | undefined>('hdlm.thinkThenAnswer');
      editor.selection = new vscode.Selection(3, 3, 3, 3);
      assert.ok(await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'Another\n')));
      const answer = (await thinking)?.answer.trim() ?? '';
      assert.ok(answer, 'an answer to insert');
      // Insert answer is the pick's first item.
      const answered = await choosePickItem('first', api.nextInsertOutcome(30_000));
      assert.equal(answered.line, 2, JSON.stringify(answered));
      // (The tiny model's answer may hold line breaks of its own.)
      assert.equal(editor.document.getText(), `Another\n${commentedText.replace('A small animal that barks\n', `A small animal that barks ${answer}\n`)}`);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.window.showTextDocument(uri);
      await revertAndClose();
      await vscode.workspace.fs.delete(uri);
    }
  });

  it('Insert answer is refused, and says why, when the line it was for was edited meanwhile', async () => {
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'edited.txt');
    const text = 'A small animal that barks\nAn oak tree in the park\n';
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    try {
      const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      editor.selection = new vscode.Selection(0, 3, 0, 3);
      const result = await vscode.commands.executeCommand<ThinkThenAnswerResult | undefined>('hdlm.thinkThenAnswer');
      assert.ok(result?.answer.trim(), 'an answer to insert');
      // The line the answer was for is changed before Insert answer is chosen.
      assert.ok(await editor.edit((e) => e.insert(new vscode.Position(0, 2), 'very ')));
      const outcome = await choosePickItem('first', api.nextInsertOutcome(30_000));
      assert.equal(outcome.problem, 'line 1 of edited.txt, where the text was, changed or went since the command started', JSON.stringify(outcome));
      assert.equal(editor.document.getText(), `A very small animal that barks\nAn oak tree in the park\n`, 'nothing was inserted');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.window.showTextDocument(uri);
      await revertAndClose();
      await vscode.workspace.fs.delete(uri);
    }
  });

  it('evaluates a task against the flat baseline; the panel shows its heads and the result, and again after being hidden', async () => {
    // The animals task's heads (trained by the panel test), measured on a file of its own.
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'animals-eval.hdlm.json');
    const task = { name: 'animals', model: 'tiny-model', dataset: { train: 'animals.jsonl', test: 'animals.jsonl' }, levels: [{ layer: 3 }, { layer: 'last' }], train: PINNED_EPOCHS };
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
    const end = await vscode.commands.executeCommand<{ kind: string; evaluation?: { variants: { name: string; layers: number[] }[] } } | undefined>('hdlm.evaluate', uri);
    assert.equal(end?.kind, 'evaluation', JSON.stringify(end));
    assert.deepEqual(end.evaluation?.variants.map((v) => `${v.name}:${v.layers.join(',')}`), ['hdlm:3,4', 'flat:4,4']);
    assert.match(api.outputText(), /animals on \d+ examples: joint accuracy/);
    // Hide the panel, then show it again: the job and the evaluation come back from the server.
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    const shown = api.waitForTaskPanelRender((r) => r.evaluations > 0 && r.job.startsWith('evaluate'), 30_000);
    shown.catch(() => undefined);
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    const view = await shown;
    assert.equal(view.job, 'evaluate:done:0', JSON.stringify(view));
    assert.ok(view.evaluations >= 1, JSON.stringify(view));
    assert.ok(view.heads >= 3, `trained heads listed: ${view.heads}`);
    // At the sidebar's usual width no table scrolls sideways (the heads' dates and the compute columns once did).
    assert.deepEqual(view.wideTables, []);
    // The job's table and the task card's each end with the paired HdLM − flat row.
    assert.ok(view.pairedRows >= 2, JSON.stringify(view));
    assert.match(api.outputText(), /joint HdLM minus flat [−+]?\d+\.\d points \(95 % CI/);
    await screenshot('workbench-task-panel-evaluation.png');
    // Show Mistakes: the examples this evaluation got wrong, beside the editor, with their texts.
    const result = await vscode.commands.executeCommand<MistakesResult | undefined>('hdlm.showMistakes', uri);
    assert.equal(result?.examples, 3, JSON.stringify(result));
    assert.match(api.outputText(), /animals on .*animals\.jsonl \(evaluated [\d-]+ [\d:]+ UTC\): HdLM wrong on \d of 3 examples/);
    if (result.mistakes.length > 0) {
      const shown = vscode.window.activeTextEditor!.document;
      assert.equal(shown.isUntitled, true);
      assert.equal(shown.languageId, 'jsonl');
      const lines = shown.getText().trim().split('\n').map((l) => JSON.parse(l) as { text: string; labels: string[]; hdlm: string[] });
      assert.equal(lines.length, result.mistakes.length);
      assert.ok(lines.every((l) => ['barks', 'purrs', 'oak'].includes(l.text) && l.hdlm.join() !== l.labels.join()), JSON.stringify(lines));
      await revertAndClose();
    }
    // Evaluated again, the record says what changed since (the same heads: nothing, paired on all
    // 3 examples), the panel shows it as a row, and the report opens with it.
    const again = api.waitForTaskPanelRender((r) => r.sinceRows >= 2 && r.historyRows >= 2 && r.job.startsWith('evaluate:done'), 60_000);
    again.catch(() => undefined);
    const second = await vscode.commands.executeCommand<{ kind: string; evaluation?: { sincePrevious?: { examples: number; changes: { measure: string; difference: { aOnly: number; bOnly: number } }[] } } } | undefined>('hdlm.evaluate', uri);
    assert.equal(second?.evaluation?.sincePrevious?.examples, 3, JSON.stringify(second));
    assert.deepEqual(second.evaluation.sincePrevious.changes.map((c) => `${c.measure}:${c.difference.aOnly}:${c.difference.bOnly}`), ['level 1:0:0', 'level 2:0:0', 'joint:0:0']);
    // The job's table and the task card's each end with the HdLM − previous row, and the card
    // lists both evaluations in its history.
    assert.ok((await again).sinceRows >= 2);
    assert.match(api.outputText(), /animals on 3 examples: .*; joint HdLM minus the previous evaluation \(3 paired\) 0\.0 points/);
    // The per-label report of the same evaluation: a Markdown document, shown in preview.
    const shownReport = await showLabelReport(uri, 'workbench-label-report.png');
    assert.match(shownReport.text, /## Since the previous evaluation\n\nHdLM now against the evaluation this one replaced .* paired on the 3 examples both measured/);
    assert.match(shownReport.text, /## Evaluation history\n\nThe task's kept evaluations, newest first \(\d+;/);
    assert.equal(shownReport.report.kind, 'classify');
    assert.deepEqual(shownReport.report.levels.map((l) => l.labels.map((r) => r.examples).reduce((a, b) => a + b, 0)), [3, 3], 'each level counts the 3 examples once');
    for (const label of ['animal', 'plant', 'dog', 'cat', 'tree']) assert.match(shownReport.text, new RegExp(`^\\| ${label} \\| 1|^\\| ${label} \\| 2`, 'm'), label);
    assert.match(api.outputText(), /per-label report of animals on .* level 1: \d labels, macro-F1 [\d.]+; level 2: \d labels/);
    // Show Mistakes of One Label, the label given (the palette picks it from the report's labels).
    const animalMistakes = await vscode.commands.executeCommand<MistakesResult | undefined>('hdlm.showLabelMistakes', uri, { label: 'animal', level: 1 });
    assert.ok(animalMistakes, 'read');
    assert.ok((animalMistakes.mistakes as { gold: string[] }[]).every((m) => m.gold[0] === 'animal'), JSON.stringify(animalMistakes.mistakes));
    assert.match(api.outputText(), /animals on .* \(gold animal at level 1 only\): HdLM wrong on \d of 3 examples/);
    if (animalMistakes.mistakes.length > 0) await revertAndClose();
    // From the palette: the label is picked; accepting the pick's first entry takes the most missed.
    let picked: MistakesResult | undefined | 'pending' = 'pending';
    const running = vscode.commands.executeCommand<MistakesResult | undefined>('hdlm.showLabelMistakes', uri).then((r) => (picked = r));
    for (let tries = 0; picked === 'pending' && tries < 100; tries++) {
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await Promise.race([running, new Promise((r) => setTimeout(r, 100))]);
    }
    const fromPick = await running;
    // The report just shown lists the labels with misses: with any, the pick was there to take.
    const missed = shownReport.report.kind === 'classify' && shownReport.report.levels.some((l) => l.labels.some((r) => r.missed > 0));
    assert.equal(fromPick !== undefined && fromPick.mistakes.length > 0, missed, JSON.stringify(fromPick));
    if (fromPick && fromPick.mistakes.length > 0) {
      const golds = (fromPick.mistakes as { gold: string[] }[]).map((m) => m.gold);
      assert.ok([0, 1].some((d) => golds.every((g) => g[d] === golds[0]![d])), `one label's mistakes: ${JSON.stringify(golds)}`);
      assert.match(api.outputText(), /\(gold \S+ at level \d only\): HdLM wrong on \d of 3 examples/);
      await revertAndClose();
    }
    // Evaluate a Task on This File (the explorer's menu on a dataset): the record names that file,
    // another file than the last one (so no change since), and Show Mistakes reads its texts.
    const extra = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'animals-extra.jsonl');
    await vscode.workspace.fs.writeFile(extra, Buffer.from(['{"text":"a dog barks","labels":["animal","dog"]}', '{"text":"an oak","labels":["plant","tree"]}'].join('\n')));
    const onFile = await vscode.commands.executeCommand<{ kind: string; evaluation?: { file: string; examples: number; sincePrevious?: unknown } } | undefined>('hdlm.evaluateOnFile', extra, uri);
    assert.equal(onFile?.kind, 'evaluation', JSON.stringify(onFile));
    assert.equal(onFile.evaluation?.examples, 2);
    assert.ok(onFile.evaluation.file.endsWith('animals-extra.jsonl'), onFile.evaluation.file);
    assert.equal(onFile.evaluation.sincePrevious, undefined);
    const extraMistakes = await vscode.commands.executeCommand<MistakesResult | undefined>('hdlm.showMistakes', uri);
    assert.ok(extraMistakes !== undefined && extraMistakes.dataset.endsWith('animals-extra.jsonl'), JSON.stringify(extraMistakes));
    if (extraMistakes.mistakes.length > 0) {
      assert.ok((extraMistakes.mistakes as { text: string }[]).every((m) => ['a dog barks', 'an oak'].includes(m.text)));
      await revertAndClose();
    }
  });

  it('a task that exits when sure: the panel notes its untrained exit heads, then shows where its evaluation decided each level', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'animals-exit.hdlm.json');
    const task = { name: 'animals-exit', model: 'tiny-model', dataset: { train: 'animals.jsonl', test: 'animals.jsonl' }, levels: [{ layer: 3 }, { layer: 'last' }], exitWhenSure: { threshold: 0.6, layers: [2, 'last'] }, train: PINNED_EPOCHS };
    const noted = api.waitForTaskPanelRender((r) => r.notices >= 1, 60_000);
    noted.catch(() => undefined);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    assert.equal((await noted).notices, 1, 'the new task\'s notice: exitWhenSure waits for its heads');
    const trained = await vscode.commands.executeCommand<{ kind: string } | undefined>('hdlm.fineTune', uri);
    assert.equal(trained?.kind, 'report', `${JSON.stringify(trained)}; log: ${api.outputText().split('\n').slice(-6).join(' | ')}`);
    // The job's table and the task card's each show the row of shares; the notice is gone.
    const shown = api.waitForTaskPanelRender((r) => r.exitRows >= 2 && r.notices === 0 && r.job.startsWith('evaluate:done'), 60_000);
    shown.catch(() => undefined);
    const end = await vscode.commands.executeCommand<{ kind: string; evaluation?: { variants: { name: string; exitWhenSure?: { layers: number[]; decidedAt: number[][] } }[] } } | undefined>('hdlm.evaluate', uri);
    assert.equal(end?.kind, 'evaluation', `${JSON.stringify(end)}; log: ${api.outputText().split('\n').slice(-6).join(' | ')}`);
    assert.deepEqual(end.evaluation?.variants[0]?.exitWhenSure?.layers, [2, 4], JSON.stringify(end.evaluation?.variants[0]));
    assert.equal(end.evaluation.variants[0].exitWhenSure.decidedAt.length, 2);
    const rendered = await shown;
    await screenshot('workbench-task-panel-exit-when-sure.png');
    assert.deepEqual(rendered.wideTables, [], 'the shares row fits the sidebar');
  });

  it('Suggest Layers scans every layer, shows the report, writes the suggested layers keeping comments, and the panel shows the scan', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'animals-scan.hdlm.json');
    // The three animals examples are both the training and the dev data: the scan needs dev examples.
    const text = '{\n  "name": "animals-scan",\n  "model": "tiny-model",\n  "dataset": { "train": "animals.jsonl", "dev": "animals.jsonl" },\n  // where each level is decided\n  "levels": [{ "layer": 3 }, { "layer": "last" }],\n  "train": { "epochs": 2 }\n}\n';
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    const panel = api.waitForTaskPanelRender((r) => r.scanRows >= 4 && r.job.startsWith('scan:done'), 120_000);
    panel.catch(() => undefined);
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    // The suggestion is written without asking (the second argument; the palette asks).
    const scan = await vscode.commands.executeCommand<LayerScan | undefined>('hdlm.scanLayers', uri, { apply: true });
    assert.ok(scan, 'the scan ended');
    assert.deepEqual(scan.layers, [1, 2, 3, 4]);
    assert.deepEqual(scan.current, [3, 'last']);
    assert.deepEqual(scan.levels.map((l) => l.cells.length), [4, 4]);
    assert.equal(scan.examples.dev, 3);
    assert.ok(scan.levels.every((l) => l.cells.every((c) => c.accuracy >= 0 && c.accuracy <= 1)));
    // The report: VS Code's Markdown preview of an unsaved document, in front.
    const document = vscode.workspace.textDocuments.find((d) => d.isUntitled && d.getText().startsWith('# Layer scan of animals-scan'));
    assert.ok(document, `the report is open among ${vscode.workspace.textDocuments.map((d) => d.uri.toString()).join(', ')}`);
    const report = await closeMarkdownReport(document, 'workbench-layer-scan.png');
    assert.ok(report.startsWith('# Layer scan of animals-scan'), report.slice(0, 80));
    assert.ok(report.includes(`**Suggested layers: ${scan.suggested.join(', ')}** (the task file has 3, last)`));
    // The task file now names the suggested layers, and its comment is still there.
    const written = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    assert.ok(written.includes('// where each level is decided'), written);
    assert.deepEqual(JSON.parse(written.replace(/^\s*\/\/.*$/m, '')).levels.map((l: { layer: number | 'last' }) => l.layer), scan.suggested);
    const kept = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'heads', 'animals-scan', 'layer-scan.json')))) as LayerScan;
    assert.equal(kept.finishedAt, scan.finishedAt, 'the record is kept beside the heads');
    assert.match(api.outputText(), /animals-scan: suggested layers .* on 3 dev examples/);
    // The panel: the scan's table in the job section and in the task card (two levels each).
    const view = await panel;
    assert.equal(view.job, 'scan:done:0', JSON.stringify(view));
    await screenshot('workbench-task-panel-layer-scan.png');
    assert.deepEqual(view.wideTables, []);
  });

  it('evaluates a thought-then-answer task; the panel shows its thought and answer table with sample outputs', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const rows = [['a dog that barks at night', 'animal', 'dog'], ['an oak with wide branches', 'plant', 'tree'], ['a cat that purrs on the mat', 'animal', 'cat']];
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(folder, 'words.jsonl'), Buffer.from(rows.map(([input, thought, answer]) => JSON.stringify({ input, thought, answer })).join('\n')));
    const uri = vscode.Uri.joinPath(folder, 'words.hdlm.json');
    const task = { name: 'words', kind: 'thoughtThenAnswer', model: 'tiny-model', dataset: { train: 'words.jsonl', test: 'words.jsonl' }, levels: [{ layer: 2 }, { layer: 'last' }], train: PINNED_EPOCHS };
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify(task, null, 2)));
    // The job section and the task card are filled by different requests (hdlm/jobs and
    // hdlm/taskSummary), so a render can show the finished job before the card has read
    // evaluation.json; the panel refreshes again after the job ends, and that render has both.
    const shown = api.waitForTaskPanelRender((r) => r.job.startsWith('evaluate:done') && r.jobThoughtSamples > 0 && r.taskThoughtSamples > 0, 60_000);
    shown.catch(() => undefined);
    // Untrained: the model's own head stands in for the thought and the answer heads.
    const end = await vscode.commands.executeCommand<{ kind: string; evaluation?: { examples: number; samples: unknown[] } } | undefined>('hdlm.evaluate', uri);
    assert.equal(end?.kind, 'thoughtEvaluation', JSON.stringify(end));
    assert.equal(end.evaluation?.examples, 3);
    const view = await shown;
    // The job's table and the task card's (from evaluation.json) show the same samples.
    assert.equal(view.jobThoughtSamples, end.evaluation.samples.length, JSON.stringify(view));
    assert.equal(view.taskThoughtSamples, end.evaluation.samples.length, JSON.stringify(view));
    // The job's line pairs HdLM's answer likelihood with flat's on the same examples.
    assert.match(api.outputText(), /words on 3 examples: .*; answer NLL HdLM minus flat [−+]?\d\.\d{3} nats\/token \(95 % CI/);
    await screenshot('workbench-task-panel-thought-evaluation.png');
    assert.deepEqual(view.wideTables, [], 'the thought table and the samples fit the sidebar');
    // Its mistakes: the input and the gold thought and answer, then what HdLM wrote.
    const mistakes = await vscode.commands.executeCommand<MistakesResult | undefined>('hdlm.showMistakes', uri);
    assert.equal(mistakes?.kind, 'thoughtThenAnswer');
    if (mistakes.mistakes.length > 0) {
      const lines = vscode.window.activeTextEditor!.document.getText().trim().split('\n').map((l) => JSON.parse(l) as { input: string; thought: string; hdlmThought: string });
      assert.equal(lines.length, mistakes.mistakes.length);
      assert.ok(lines.every((l) => rows.some(([input, thought]) => l.input === input && l.thought === thought)), JSON.stringify(lines));
      // Each line's `source` is a link that opens the dataset at the example's line.
      const shown = vscode.window.activeTextEditor!.document;
      const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>('vscode.executeLinkProvider', shown.uri);
      const target = links.map((l) => l.target).find((t) => t?.path.endsWith('/words.jsonl'));
      assert.ok(target, `a link to words.jsonl among ${links.map((l) => l.target?.toString()).join(', ')}`);
      assert.match(target.fragment, /^L[123]$/);
      // Opened as a link is: at the example's line.
      await vscode.commands.executeCommand('vscode.open', target);
      const opened = vscode.window.activeTextEditor;
      assert.ok(opened !== undefined && opened.document.uri.path.endsWith('/words.jsonl'), opened?.document.uri.toString());
      assert.equal(opened.selection.active.line, Number(target.fragment.slice(1)) - 1, `opened at line ${opened.selection.active.line + 1} for ${target.fragment}`);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
      await vscode.window.showTextDocument(shown);
      await revertAndClose();
    }
    // Per gold thought: the two thoughts with their answers' accuracy.
    const shownReport = await showLabelReport(uri, 'workbench-thought-report.png');
    assert.equal(shownReport.report.kind, 'thoughtThenAnswer');
    assert.match(shownReport.text, /^# Per-thought report: words\n[\s\S]*^\| animal \| 2 \|[\s\S]*/m);
    assert.match(shownReport.text, /^\| plant \| 1 \|/m);
  });

  it('New Task from Dataset writes a task file beside the dataset, opens it, and the task panel lists it', async () => {
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const dataset = vscode.Uri.joinPath(folder, 'notes.jsonl');
    // Each level has a choice somewhere (a level with one label under every parent is refused: nothing to learn).
    const rows = [['the dog barked', 'animal', 'mammal', 'dog'], ['the cat purred', 'animal', 'mammal', 'cat'], ['the eagle flew', 'animal', 'bird', 'eagle'], ['the oak grew', 'plant', 'tree', 'oak']];
    await vscode.workspace.fs.writeFile(dataset, Buffer.from(rows.map(([text, ...labels]) => JSON.stringify({ text, labels })).join('\n')));
    const created = await vscode.commands.executeCommand<CreateTaskResult | undefined>('hdlm.createTask', dataset);
    assert.ok(created, 'the command answers what it wrote');
    // hdlm.model is the shipped 8-layer model here: the first level at half its depth.
    assert.deepEqual([created.name, created.kind, created.examples, created.levels], ['notes', 'classify', 4, [4, 6, 'last']]);
    // Short glosses: their candidate lists fit the context, so they stay in the prompt.
    assert.deepEqual([created.listCandidates, created.notices], [true, []]);
    const editor = vscode.window.activeTextEditor;
    assert.equal(editor?.document.uri.fsPath, vscode.Uri.joinPath(folder, 'notes.hdlm.json').fsPath);
    assert.equal(editor.document.languageId, 'hdlm-task');
    const tasks = (await vscode.workspace.findFiles('**/*.hdlm.json', '**/node_modules/**', 100)).length;
    const listed = api.waitForTaskPanelRender((r) => r.tasks === tasks, 30_000);
    listed.catch(() => undefined);
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    await listed;
    await screenshot('workbench-task-panel-new-task.png');
    // Again from the same dataset: a second file, the first left as it was.
    const again = await vscode.commands.executeCommand<CreateTaskResult | undefined>('hdlm.createTask', dataset);
    assert.equal(again?.name, 'notes-2');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the status bar menu cancels a running fine-tuning, and Show Jobs lists it as cancelled', async () => {
    // Far more epochs than it gets to run: the job is cancelled long before it could end.
    const { running } = await startLongFineTuning(api, 'wn-cancel', 400);
    /** Runs a command that shows a quick pick and accepts the pick's first (active) entry. */
    const acceptFirst = async <T>(command: string): Promise<T> => {
      let done = false;
      const result = vscode.commands.executeCommand<T>(command).then((r) => ((done = true), r));
      for (let tries = 0; !done && tries < 100; tries++) {
        await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        await Promise.race([result, new Promise((r) => setTimeout(r, 100))]);
      }
      return result;
    };
    // The status bar item's menu: while a job runs its first entry cancels it (the only one running).
    assert.equal(await acceptFirst<string | undefined>('hdlm.showStatusMenu'), 'hdlm.cancelJob');
    const end = await running;
    assert.equal(end?.kind, 'cancelled', JSON.stringify(end));
    assert.match(api.outputText(), /cancelling train-\d+-[a-z0-9]+ \(fine-tuning wn-cancel\.hdlm\.json\)/);
    // Show Jobs: nothing runs now, so its first entry is the newest job, this one, cancelled.
    const job = await acceptFirst<{ jobId: string; state: string; task: string } | undefined>('hdlm.showJobs');
    assert.equal(job?.state, 'cancelled', JSON.stringify(job));
    assert.ok(job.task.endsWith('wn-cancel.hdlm.json'), job.task);
    // With nothing running, Cancel a Running Job cancels nothing.
    assert.equal(await vscode.commands.executeCommand('hdlm.cancelJob'), undefined);
    await api.waitForStatus((s) => !s.busy, 60_000);
  });

  it('a server that dies during fine-tuning ends the job with a clear message, and the restarted server shows it interrupted', async () => {
    const { running } = await startLongFineTuning(api, 'wn-long', 60);
    const info = await vscode.commands.executeCommand<EngineInfoResult | undefined>('hdlm.showEngineInfo');
    assert.ok(info);
    process.kill(info.pid, 'SIGKILL');
    const end = await running;
    assert.equal(end?.kind, 'failed');
    assert.match(end.message ?? '', /server stopped during this job; the heads saved so far are kept/);
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    // The new server read the journal: the job is there, interrupted, and the panel says so.
    const rendered = api.waitForTaskPanelRender((r) => r.job.startsWith('train:interrupted'), 60_000);
    rendered.catch(() => undefined);
    await vscode.commands.executeCommand('hdlm.tasks.focus');
    await vscode.commands.executeCommand('hdlm.restartServer'); // any refresh of the panel will do; a restart also proves the journal is on disk
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    const view = await rendered;
    assert.match(view.job, /^train:interrupted/);
    await screenshot('workbench-task-panel-interrupted.png');
  });

  it('every action shows progress (busy status) quickly', async () => {
    await vscode.workspace.getConfiguration('hdlm').update('task', 'animals.hdlm.json', vscode.ConfigurationTarget.Workspace);
    const folder = vscode.workspace.workspaceFolders![0]!.uri;
    const uri = vscode.Uri.joinPath(folder, 'animals.hdlm.json');
    const evalUri = vscode.Uri.joinPath(folder, 'animals-eval.hdlm.json');
    const doc = await vscode.workspace.openTextDocument({ content: 'A cat on the mat\n', language: 'plaintext' });
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(0, 0, 0, 16);
    const actions: [string, () => Thenable<unknown>][] = [
      ['classify', () => vscode.commands.executeCommand('hdlm.classify')],
      ['layer view', () => vscode.commands.executeCommand('hdlm.showLayerView')],
      ['fine-tune', () => vscode.commands.executeCommand('hdlm.fineTune', uri)],
      ['evaluate', () => vscode.commands.executeCommand('hdlm.evaluate', evalUri)],
    ];
    try {
      const figures: string[] = [];
      for (const [name, run] of actions) {
        await api.waitForStatus((s) => !s.busy, 60_000);
        const started = performance.now();
        const busy = api.waitForStatus((s) => s.busy, 10_000).then(() => performance.now() - started);
        const done = run();
        const ms = await busy;
        await done;
        figures.push(`${name} ${ms.toFixed(0)} ms`);
        await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
        // Far above the 200 ms target: this only catches a blocked server; the figure is the measurement.
        assert.ok(ms < 5000, `${name}: no progress for ${ms} ms`);
      }
      console.log(`HDLM_FIGURE time to visible progress: ${figures.join(', ')}`);
    } finally {
      await vscode.workspace.getConfiguration('hdlm').update('task', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
