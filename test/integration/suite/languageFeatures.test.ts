// Language features of the project's own files in a real VS Code, through the public API only:
// completion of a level's layer in a task file, code lenses on task files and datasets, hover on
// dataset labels, and a diagnostic on a malformed dataset line. The fixtures are written into
// the test workspace; waits are on VS Code's events, never blind sleeps.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as vscode from 'vscode';
import type { HdlmApi } from '../../../client/src/extension';
import { diagnosticsWhen } from '../../support/diagnosticsWhen';
import { screenshot } from '../../support/screenshots';

const EXTENSION_ID = 'hdlm.hdlm-vscode';
const repo = resolve(__dirname, '..', '..', '..', '..'); // out/test/integration/suite → the repository
/** How long the workbench gets to request and paint code lenses before a screenshot. */
const LENS_PAINT_MS = 3000;

function labelOf(item: vscode.CompletionItem): string {
  return typeof item.label === 'string' ? item.label : item.label.label;
}

function textOf(hover: vscode.Hover): string {
  return hover.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
}

async function writeAndOpen(name: string, text: string): Promise<vscode.TextDocument> {
  const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  return vscode.workspace.openTextDocument(uri);
}

/** Closes this suite's editors only: another suite's unsaved editor would ask to be saved. */
async function closeTabs(uris: vscode.Uri[]): Promise<void> {
  const wanted = new Set(uris.map((u) => u.toString()));
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputText && wanted.has(t.input.uri.toString()));
  await vscode.window.tabGroups.close(tabs);
}

describe('HdLM language features for task files and datasets', () => {
  const dataset = readFileSync(join(repo, 'data', 'fixtures', 'wordnet.sample.jsonl'), 'utf8').trimEnd();
  const firstRecord = JSON.parse(dataset.split('\n')[0]!) as { text: string; labels: string[] };
  let task: vscode.TextDocument;
  let data: vscode.TextDocument;

  before(async () => {
    const api = await vscode.extensions.getExtension<HdlmApi>(EXTENSION_ID)!.activate();
    await api.waitForStatus((s) => !s.busy && s.health === 'ok', 60_000);
    const taskText = `{\n  // The shipped model has 8 layers.\n  "name": "features",\n  "model": "default",\n  "dataset": "features.jsonl",\n  "levels": [{ "layer": 4 }, { "layer": 6 }, { "layer": "last" }]\n}\n`;
    task = await writeAndOpen('features.hdlm.json', taskText);
    data = await writeAndOpen('features.jsonl', `${dataset}\n`);
  });

  it('completes a level\'s layer with the model\'s layers 1..8 and "last"', async () => {
    assert.equal(task.languageId, 'hdlm-task');
    const position = task.positionAt(task.getText().indexOf('"layer": 4') + '"layer": 4'.length);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', task.uri, position);
    const labels = list.items.map(labelOf);
    for (const expected of ['1', '2', '3', '4', '5', '6', '7', '8', 'last']) assert.ok(labels.includes(expected), `${expected} among ${labels.join(', ')}`);
    assert.ok(!labels.includes('9'), 'no layer beyond the model');
  });

  it('shows Fine-tune and Evaluate lenses on a task file, and Classify lenses on a dataset', async () => {
    const taskLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', task.uri);
    const titles = taskLenses.map((l) => l.command?.title);
    assert.ok(titles.includes('Fine-tune') && titles.includes('Evaluate'), titles.join(', '));
    const fineTune = taskLenses.find((l) => l.command?.title === 'Fine-tune')!;
    assert.equal(fineTune.command!.command, 'hdlm.fineTune');
    assert.equal(fineTune.range.start.line, 2, 'on the "name" line');
    assert.equal(data.languageId, 'jsonl');
    const dataLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', data.uri);
    assert.equal(dataLenses.length, dataset.split('\n').length, 'one lens per example');
    const first = dataLenses.find((l) => l.range.start.line === 0)!;
    assert.equal(first.command!.command, 'hdlm.classify');
    assert.equal(first.command!.title, `Classify this example (labelled: ${firstRecord.labels.join(' › ')})`);
    assert.deepEqual(first.command!.arguments, [firstRecord.text]);
    await vscode.commands.executeCommand('workbench.action.closePanel');
    await vscode.window.showTextDocument(task, vscode.ViewColumn.One);
    await vscode.window.showTextDocument(data, vscode.ViewColumn.Two);
    // The editors ask for their lenses after a debounce and paint them when the answer comes;
    // no event says so, and the screenshot is taken the moment it is asked for.
    await new Promise((r) => setTimeout(r, LENS_PAINT_MS));
    await screenshot('workbench-code-lens.png');
  });

  it('hovers a dataset label with its level and use count', async () => {
    const line = data.lineAt(0).text;
    const position = new vscode.Position(0, line.indexOf(JSON.stringify(firstRecord.labels[0])) + 2);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', data.uri, position);
    const text = hovers.map(textOf).join('\n');
    const escaped = firstRecord.labels[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(text, new RegExp(`${escaped}.* · level 1 of 3`));
    assert.match(text, /used on \d+ lines?/);
  });

  it('flags a malformed dataset line on that line', async () => {
    const bad = await writeAndOpen('malformed.jsonl', `${dataset.split('\n').slice(0, 3).join('\n')}\n{"text": "x", "labels": }\n`);
    await vscode.window.showTextDocument(bad);
    const diagnostics = await diagnosticsWhen(bad.uri, (found) => found.some((d) => d.range.start.line === 3), 20_000);
    const onLine = diagnostics.filter((d) => d.range.start.line === 3);
    assert.equal(onLine.length, 1, diagnostics.map((d) => `${d.range.start.line}: ${d.message}`).join(' | '));
    assert.match(onLine[0]!.message, /training skips this line/);
    assert.ok(diagnostics.every((d) => d.range.start.line === 3), 'the good lines are clean');
    await closeTabs([task.uri, data.uri, bad.uri]);
  });
});
