// Quick fixes, document links, the outline and formatting of task files; the quick fix of a dataset label
// under a second parent. Each fix is applied and the diagnostics run again: the problem is gone.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CodeActionKind, type CodeAction, type Diagnostic, type DocumentSymbol } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { codeActions, nearestKey } from '../../../server/src/codeActions';
import { datasetDiagnostics, taskFileDiagnostics } from '../../../server/src/diagnostics';
import { taskFileLinks } from '../../../server/src/taskLinks';
import { taskFileSymbols } from '../../../server/src/taskOutline';
import { formatTaskFile } from '../../../server/src/taskFormat';
import type { FeatureContext } from '../../../server/src/taskFacts';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const work = mkdtempSync(join(tmpdir(), 'hdlm-actions-'));
after(() => rmSync(work, { recursive: true, force: true }));
writeTinyCheckpoint(join(work, 'tiny-model'), { family: 'llama', layers: 4, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
writeFileSync(join(work, 'train.jsonl'), '{"text":"barks","labels":["animal","dog"]}\n');
/** The repository (this file runs from out/test/unit/server). */
const root = join(__dirname, '..', '..', '..', '..');
const shipped = join(root, 'models', 'hdlm-tiny');
const context: FeatureContext = { defaultModelDir: shipped };

function taskDoc(text: string, version = 1): TextDocument {
  return TextDocument.create(pathToFileURL(join(work, 't.hdlm.json')).href, 'hdlm-task', version, text);
}

function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function actionsFor(doc: TextDocument, diagnostics: Diagnostic[]): CodeAction[] {
  return codeActions(doc, { textDocument: { uri: doc.uri }, range: diagnostics[0]!.range, context: { diagnostics } });
}

function apply(doc: TextDocument, action: CodeAction): TextDocument {
  const edits = action.edit?.changes?.[doc.uri];
  assert.ok(edits, `${action.title} edits the document`);
  return TextDocument.create(doc.uri, doc.languageId, doc.version + 1, TextDocument.applyEdits(doc, edits));
}

const TASK = (levels: string, train = ''): string => `{
  // the task under test
  "name": "t",
  "model": "tiny-model",
  "dataset": "train.jsonl",
  "levels": ${levels}${train}
}
`;

test('a layer deeper than the model: "last" (preferred) or the last layer by number, each clearing the error', () => {
  const doc = taskDoc(TASK('[{ "layer": 2 }, { "layer": 9 }]'));
  const problems = taskFileDiagnostics(doc, context);
  assert.deepEqual(problems.map(messageOf), ['levels[1].layer is 9 but tiny-model has 4 layers']);
  const actions = actionsFor(doc, problems);
  assert.deepEqual(actions.map((a) => [a.title, a.kind, a.isPreferred]), [
    ['Use the last layer ("last")', CodeActionKind.QuickFix, true],
    ["Use layer 4, the model's last", CodeActionKind.QuickFix, false],
  ]);
  for (const action of actions) {
    const fixed = apply(doc, action);
    assert.deepEqual(taskFileDiagnostics(fixed, context), [], fixed.getText());
  }
  assert.match(apply(doc, actions[0]!).getText(), /\{ "layer": "last" \}\]/);
  assert.deepEqual(actionsFor(apply(doc, actions[0]!), problems), [], 'a stale diagnostic (the layer was mended since) offers nothing');
  assert.deepEqual(codeActions(doc, { textDocument: { uri: doc.uri }, range: problems[0]!.range, context: { diagnostics: problems, only: [CodeActionKind.Refactor] } }), [], 'no quick fixes where only refactorings are asked for');
});

test('an unknown field: rename to the field it most likely meant, or remove it, keeping the file valid JSON with comments', () => {
  const doc = taskDoc(TASK('[2, "last"]', ',\n  "train": { "epoch": 3, "learningrate": 0.01 },\n  "sytem": "be brief"'));
  const problems = taskFileDiagnostics(doc, context);
  assert.deepEqual(problems.map(messageOf).sort(), ['unknown field sytem', 'unknown field train.epoch', 'unknown field train.learningrate']);
  for (const problem of problems) {
    const actions = actionsFor(doc, [problem]);
    assert.equal(actions.length, 2, `${messageOf(problem)}: ${actions.map((a) => a.title).join(', ')}`);
    for (const action of actions) {
      const fixed = apply(doc, action);
      const left = taskFileDiagnostics(fixed, context).map(messageOf);
      assert.ok(!left.includes(messageOf(problem)), `${action.title}: ${left.join(' | ')}\n${fixed.getText()}`);
      assert.equal(left.length, problems.length - 1, `${action.title} fixes one problem and makes none: ${left.join(' | ')}`);
      assert.match(fixed.getText(), /\/\/ the task under test/);
    }
  }
  const titles = problems.flatMap((p) => actionsFor(doc, [p]).map((a) => a.title)).sort();
  assert.deepEqual(titles, ['Remove field "epoch"', 'Remove field "learningrate"', 'Remove field "sytem"', 'Rename to "epochs"', 'Rename to "learningRate"', 'Rename to "system"'].sort());
});

test('an unknown key inside dataset or a level: marked on the key, renamed to the one meant or removed', () => {
  const doc = taskDoc(TASK('[{ "layer": 2, "layr": 3 }, { "layer": "last" }]').replace('"dataset": "train.jsonl"', '"dataset": { "train": "train.jsonl", "tset": "train.jsonl" }'));
  const problems = taskFileDiagnostics(doc, context);
  assert.deepEqual(problems.map((p) => [messageOf(p), doc.getText(p.range)]), [
    ['unknown field dataset.tset', '"tset"'],
    ['unknown field levels[0].layr', '"layr"'],
  ]);
  // "layer" is already there, so the level's typo can only be removed.
  assert.deepEqual(problems.map((p) => actionsFor(doc, [p]).map((a) => a.title)), [['Rename to "test"', 'Remove field "tset"'], ['Remove field "layr"']]);
  for (const problem of problems) {
    for (const action of actionsFor(doc, [problem])) {
      const left = taskFileDiagnostics(apply(doc, action), context).map(messageOf);
      assert.deepEqual(left, problems.filter((p) => p !== problem).map(messageOf), action.title);
    }
  }
});

test('an unknown key given twice: Remove takes the copy the diagnostic is on (the last), not the first', () => {
  const doc = taskDoc(TASK('[2, "last"]').replace('"dataset": "train.jsonl"', '"dataset": "train.jsonl", "colour": "red", "colour": "blue"'));
  const problem = taskFileDiagnostics(doc, context).find((p) => messageOf(p) === 'unknown field colour');
  assert.ok(problem, taskFileDiagnostics(doc, context).map(messageOf).join(' | '));
  assert.match(doc.getText(problem.range), /"colour"/);
  assert.ok(doc.offsetAt(problem.range.start) > doc.getText().indexOf('"colour": "red"'), 'the diagnostic is on the second copy');
  const remove = actionsFor(doc, [problem]).find((a) => a.title === 'Remove field "colour"');
  const fixed = apply(doc, remove!).getText();
  assert.match(fixed, /"colour": "red"/);
  assert.doesNotMatch(fixed, /"colour": "blue"/);
  assert.doesNotThrow(() => JSON.parse(fixed.replace(/\/\/.*$/gm, '')), fixed);
});

test('nearestKey takes a typo or a case slip, not a different word, and not a key already there', () => {
  assert.equal(nearestKey('epoch', ['epochs', 'patience']), 'epochs');
  assert.equal(nearestKey('BatchSize', ['batchSize']), 'batchSize');
  assert.equal(nearestKey('lr', ['learningRate', 'rank']), undefined);
  assert.equal(nearestKey('nam', ['name', 'kind']), 'name');
  assert.equal(nearestKey('dropout', ['epochs', 'rank', 'seed']), undefined);
});

test('a missing model folder: use the default model', () => {
  const doc = taskDoc(TASK('[2, "last"]').replace('"tiny-model"', '"no-such-model"'));
  const problems = taskFileDiagnostics(doc, context);
  assert.equal(problems.length, 1);
  const [action] = actionsFor(doc, problems);
  assert.equal(action?.title, 'Use the default model');
  assert.deepEqual(taskFileDiagnostics(apply(doc, action!), context), []);
});

test('a dataset label under a second parent: this line takes the first line\'s path', () => {
  const lines = [
    '{"text":"barks","labels":["life","animal","dog"]}',
    '{"text":"oak","labels":["life","plant","tree"]}',
    '{"text":"howls","labels":["things","plant","dog"]}',
  ];
  const doc = TextDocument.create('file:///ws/d.jsonl', 'jsonl', 1, lines.join('\n'));
  const all = datasetDiagnostics(doc);
  assert.deepEqual(all.map((d) => [d.range.start.line, /label '(\w+)'/.exec(messageOf(d))?.[1]]), [[2, 'plant'], [2, 'dog']]);
  assert.deepEqual(actionsFor(doc, [all[0]!]).map((a) => a.title), ["Put 'plant' under 'life', as on line 2 (life › plant)"]);
  const problems = [all[1]!];
  const [action] = actionsFor(doc, problems);
  assert.equal(action?.title, "Put 'dog' under 'animal', as on line 1 (life › animal › dog)");
  const fixed = apply(doc, action!);
  assert.equal(fixed.getText().split('\n')[2], '{"text":"howls","labels":["life","animal","dog"]}');
  assert.deepEqual(datasetDiagnostics(fixed), []);
  // A stale diagnostic (the line changed since) offers nothing rather than a wrong edit.
  assert.deepEqual(actionsFor(fixed, problems), []);
});

test('task-file links open the dataset files that exist and the model card or config', () => {
  mkdirSync(join(work, 'splits'), { recursive: true });
  writeFileSync(join(work, 'splits', 'dev.jsonl'), '');
  const doc = taskDoc('{ "name": "t", "model": "tiny-model", "dataset": { "train": "train.jsonl", "dev": "splits/dev.jsonl", "test": "gone.jsonl" }, "levels": [2, "last"] }');
  const links = taskFileLinks(doc, context);
  assert.deepEqual(
    links.map((l) => [doc.getText(l.range), l.target, l.tooltip]),
    [
      ['train.jsonl', pathToFileURL(join(work, 'train.jsonl')).href, 'Open the training dataset'],
      ['splits/dev.jsonl', pathToFileURL(join(work, 'splits', 'dev.jsonl')).href, 'Open the dev dataset'],
      ['tiny-model', pathToFileURL(join(work, 'tiny-model', 'config.json')).href, "Open the model's config.json"],
    ],
  );
  writeFileSync(join(work, 'tiny-model', 'README.md'), '# tiny\n');
  assert.equal(taskFileLinks(doc, context).at(-1)?.target, pathToFileURL(join(work, 'tiny-model', 'README.md')).href, 'the model card when there is one');
  assert.deepEqual(taskFileLinks(TextDocument.create('untitled:x', 'hdlm-task', 1, doc.getText()), context), [], 'an unsaved file has nothing to resolve against');
});

test('the outline names every field, the levels with their layers and the shipped heads\' dev accuracy', () => {
  const file = join(shipped, 'tasks', 'wordnet.hdlm.json');
  const doc = TextDocument.create(pathToFileURL(file).href, 'hdlm-task', 1, readFileSync(file, 'utf8'));
  const symbols = taskFileSymbols(doc, context);
  const byName = new Map(symbols.map((s) => [s.name, s]));
  assert.ok(['name', 'model', 'dataset', 'levels'].every((n) => byName.has(n)), symbols.map((s) => s.name).join(', '));
  const levels = byName.get('levels')!;
  assert.equal(levels.detail, '3 levels');
  assert.deepEqual(levels.children!.map((c) => c.name), ['level 1', 'level 2', 'level 3']);
  assert.match(levels.children![0]!.detail!, /^layer 4 · trained head at layer 4, dev \d+\.\d%$/);
  assert.match(levels.children![2]!.detail!, /^layer last · trained head at layer 8, dev \d+\.\d%$/);
  // Every symbol's selection lies inside its range, as the protocol requires.
  const inside = (s: DocumentSymbol): boolean => doc.offsetAt(s.range.start) <= doc.offsetAt(s.selectionRange.start) && doc.offsetAt(s.selectionRange.end) <= doc.offsetAt(s.range.end) && (s.children ?? []).every(inside);
  assert.ok(symbols.every(inside));
  assert.deepEqual(taskFileSymbols(taskDoc('{ "name": '), context).map((s) => s.name), ['name'], 'a half-typed file still has an outline');
});

test('Format Document keeps comments and line breaks, and uses the editor\'s indentation; a selection formats only itself', () => {
  const text = '{\n// why\n"name":"t",\n    "levels": [2, "last"],\n"train":{"epochs":3,\n"seed":1}}';
  const doc = taskDoc(text);
  const formatted = TextDocument.applyEdits(doc, formatTaskFile(doc, { tabSize: 2, insertSpaces: true, insertFinalNewline: true }));
  // The author's line breaks stay (jsonc-parser's keepLines, VS Code's json.format.keepLines).
  assert.equal(formatted, '{\n  // why\n  "name": "t",\n  "levels": [ 2, "last" ],\n  "train": { "epochs": 3,\n    "seed": 1 } }\n');
  const tabs = TextDocument.applyEdits(doc, formatTaskFile(doc, { tabSize: 4, insertSpaces: false }));
  assert.match(tabs, /^\{\n\t\/\/ why\n\t"name": "t",/);
  const line3 = { start: { line: 3, character: 0 }, end: { line: 3, character: 26 } };
  const partly = TextDocument.applyEdits(doc, formatTaskFile(doc, { tabSize: 2, insertSpaces: true }, line3));
  assert.equal(partly.split('\n')[2], '"name":"t",', 'lines outside the selection are left alone');
  assert.deepEqual(formatTaskFile(taskDoc(formatted), { tabSize: 2, insertSpaces: true, insertFinalNewline: true }), [], 'formatting twice changes nothing');
});
