// Diagnostics land on the field or line they are about.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Diagnostic } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { datasetDiagnostics, pathOfProblem, taskFileDiagnostics } from '../../../server/src/diagnostics';
import { parseTaskText } from '../../../engine/src/hdlm/taskFile';
import { DocumentValidator } from '../../../server/src/documentValidator';
import { taskFileHover } from '../../../server/src/hover';
import { onTokenizerRead } from '../../../server/src/taskFacts';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

function doc(text: string, languageId: string, uri = 'file:///ws/task.hdlm.json'): TextDocument {
  return TextDocument.create(uri, languageId, 1, text);
}

/** LSP 3.18 allows markup in messages; ours are always plain strings. */
function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}

function textAt(d: TextDocument, range: { start: { line: number; character: number }; end: { line: number; character: number } }): string {
  return d.getText(range);
}

test('problem messages map to JSON paths', () => {
  assert.deepEqual(pathOfProblem('levels[2].layer must be a whole number ≥ 1 or "last", got 0'), ['levels', 2, 'layer']);
  assert.deepEqual(pathOfProblem('unknown field train.lr'), ['train', 'lr']);
  assert.deepEqual(pathOfProblem('kind must be "classify" or "thoughtThenAnswer", got "sort"'), ['kind']);
});

test('task-file problems are placed on the offending value or key', () => {
  const d = doc(
    `{
  // comments are allowed
  "name": "t",
  "kind": "sort",
  "dataset": "train.jsonl",
  "levels": [{ "layer": 4 }, { "layer": 0 }],
  "train": { "epochs": 0, "lr": 1 }
}`,
    'hdlm-task',
  );
  const diagnostics = taskFileDiagnostics(d);
  const found = (re: RegExp): string => {
    const hit = diagnostics.find((x) => re.test(messageOf(x)));
    assert.ok(hit, `a diagnostic matching ${re}: ${diagnostics.map(messageOf).join(' | ')}`);
    return textAt(d, hit.range);
  };
  assert.equal(found(/^kind must be/), '"sort"');
  assert.equal(found(/^levels\[1\]\.layer/), '0');
  assert.equal(found(/^train\.epochs/), '0');
  assert.equal(found(/^unknown field train\.lr/), '"lr"');
});

test('a JSON syntax error is reported where it is, in the words the command line uses', () => {
  const text = '{\n  "name": "t"\n  "levels": [] }';
  const diagnostics = taskFileDiagnostics(doc(text, 'hdlm-task'));
  assert.deepEqual(diagnostics.map((x) => [messageOf(x), x.range.start]), [['not valid JSON: comma expected', { line: 2, character: 2 }]]);
  assert.throws(() => parseTaskText(text, 'x.hdlm.json'), /line 3, column 3: not valid JSON: comma expected/);
});

test('a task file that starts with a byte order mark is read as the command line reads it', () => {
  const d = doc('\ufeff{ "name": "t", "dataset": "train.jsonl", "levels": [{ "layer": 0 }] }', 'hdlm-task');
  // Only the task's own problem, placed on the same characters as without the mark.
  assert.deepEqual(taskFileDiagnostics(d).map((x) => [messageOf(x), textAt(d, x.range)]), [['levels[0].layer must be a whole number ≥ 1 or "last", got 0', '0']]);
});

test('a key given twice is an error at the repeat, beside the task\'s other problems', () => {
  const d = doc('{ "name": "t", "dataset": "train.jsonl", "levels": [{ "layer": 4 }], "levels": [{ "layer": 0 }] }', 'hdlm-task');
  const diagnostics = taskFileDiagnostics(d);
  assert.deepEqual(diagnostics.map((x) => [messageOf(x), textAt(d, x.range), x.severity]), [
    ['duplicate field levels: only its last value would be read, the earlier ones ignored', '"levels"', 1],
    ['levels[0].layer must be a whole number ≥ 1 or "last", got 0', '0', 1],
  ]);
  assert.equal(d.offsetAt(diagnostics[0]!.range.start), d.getText().lastIndexOf('"levels"'));
});

test('dataset lines get warnings (skipped) or errors (the file is refused)', () => {
  const lines = ['{"text":"a","labels":["x","y"]}', 'not json', '{"text":"","labels":["x","y"]}', '{"text":"b","labels":["z","y"]}'];
  const d = doc(lines.join('\n'), 'jsonl', 'file:///ws/data.jsonl');
  const diagnostics = datasetDiagnostics(d);
  const byLine = new Map(diagnostics.map((x) => [x.range.start.line, x]));
  assert.match(messageOf(byLine.get(1)!), /not valid JSON.*training skips this line/);
  assert.match(messageOf(byLine.get(2)!), /'text' is empty/);
  assert.match(messageOf(byLine.get(3)!), /has parent 'z' here but 'x' on line 1.*training refuses this file/);
  assert.equal(byLine.get(3)!.severity, 1);
  assert.equal(byLine.get(1)!.severity, 2);
  assert.deepEqual(datasetDiagnostics(doc('{"some":"other jsonl"}\n', 'jsonl')), [], 'other JSON Lines files are left alone');
});

test('the validator publishes per document and clears on close', () => {
  const published = new Map<string, number>();
  const validator = new DocumentValidator((uri, diagnostics) => published.set(uri, diagnostics.length), (err) => assert.fail(String(err)), { defaultModelDir: '/nonexistent' });
  const d = doc('{ "name": 1 }', 'hdlm-task');
  validator.validate(d);
  assert.ok(published.get(d.uri)! > 0);
  validator.clear(d.uri);
  assert.equal(published.get(d.uri), 0);
});

test('a task file nested too deep to parse gets one diagnostic saying so, published in place of stale ones', () => {
  const published = new Map<string, Diagnostic[]>();
  const validator = new DocumentValidator((uri, diagnostics) => published.set(uri, diagnostics), (err) => assert.fail(String(err)), { defaultModelDir: '/nonexistent' });
  validator.validate(doc('{ "name": 1 }', 'hdlm-task'));
  const deep = doc(`{ "levels": ${'['.repeat(100_000)}`, 'hdlm-task');
  validator.validate(deep);
  const [only, ...rest] = published.get(deep.uri)!;
  assert.equal(rest.length, 0);
  assert.equal(messageOf(only!), 'too deeply nested: more than 256 levels of brackets and braces (a task file nests a few)');
  assert.equal(deep.offsetAt(only!.range.start), 12 + 255, 'on the first bracket too deep');
  assert.equal(taskFileDiagnostics(doc(`{ "levels": ${'['.repeat(255)}${']'.repeat(255)} }`, 'hdlm-task')).some((d) => /too deeply/.test(messageOf(d))), false, 'as deep as allowed');
});

test('hovering a task-file field explains it, per level for layers', () => {
  const d = doc('{\n  "levels": [{ "layer": 4 }, { "layer": "last" }],\n  "train": { "epochs": 3 }\n}', 'hdlm-task');
  const layer = taskFileHover(d, 1, 34);
  assert.ok(layer);
  assert.match((layer.contents as { value: string }).value, /^\*\*Level 2\*\* — `layer`: The layer whose head decides this level/);
  assert.match((taskFileHover(d, 2, 15)!.contents as { value: string }).value, /`epochs`: Most passes over/);
  assert.equal(taskFileHover(d, 0, 0), null);
});

test('the model folder is checked: it must exist, have a config.json, be deep enough for every level, and not decide one before "last" at its last layer', () => {
  const work = mkdtempSync(join(tmpdir(), 'hdlm-diagnostics-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  writeTinyCheckpoint(join(work, 'tiny-model'), { family: 'llama', layers: 8, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  mkdirSync(join(work, 'empty'));
  writeFileSync(join(work, 'd.jsonl'), '{"text": "a dog", "labels": ["animal", "dog"]}\n');
  const context = { defaultModelDir: join(work, 'tiny-model') };
  const check = (task: string): { d: TextDocument; diagnostics: Diagnostic[] } => {
    const d = doc(task, 'hdlm-task', pathToFileURL(join(work, 't.hdlm.json')).toString());
    // The tasks here have 1 to 3 levels over one 2-level dataset: only the model's problems are under test.
    return { d, diagnostics: taskFileDiagnostics(d, context).filter((x) => !/but the labels in the training data have/.test(messageOf(x))) };
  };
  const deep = check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [{ "layer": 4 }, { "layer": 12 }, { "layer": "last" }] }');
  assert.deepEqual(deep.diagnostics.map((x) => [messageOf(x), textAt(deep.d, x.range)]), [['levels[1].layer is 12 but tiny-model has 8 layers', '12']]);
  const exits = check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [{ "layer": 4 }, { "layer": "last" }], "exitWhenSure": { "threshold": 0.6, "layers": [4, 10, 11] } }');
  assert.deepEqual(exits.diagnostics.map((x) => [messageOf(x), textAt(exits.d, x.range)]), [['exitWhenSure.layers[1] is 10 but tiny-model has 8 layers', '10'], ['exitWhenSure.layers[2] is 11 but tiny-model has 8 layers', '11']]);
  const badThreshold = check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [{ "layer": 8 }], "exitWhenSure": { "threshold": 2, "layers": [4, "last"] } }');
  assert.deepEqual(badThreshold.diagnostics.map((x) => [messageOf(x), textAt(badThreshold.d, x.range)]), [['exitWhenSure.threshold must be a probability in (0, 1], got 2', '2']]);
  // A level before "last" at the last layer is refused by training (levelLayers), so it is marked on its layer.
  const atLast = check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [{ "layer": 4 }, { "layer": 8 }, { "layer": "last" }] }');
  assert.deepEqual(atLast.diagnostics.map((x) => [messageOf(x), textAt(atLast.d, x.range)]), [['level 2 is at layer 8, the model\'s last, and so is level 3 ("last"); levels must use increasing layers', '8']]);
  assert.deepEqual(check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [4, 7, "last"] }').diagnostics, [], 'the layer below the last is fine');
  assert.deepEqual(check('{ "name": "t", "model": "tiny-model", "dataset": "d.jsonl", "levels": [4, 8] }').diagnostics, [], 'the last layer without "last" after it is fine');
  const fine = check('{ "name": "t", "dataset": "d.jsonl", "levels": [{ "layer": 8 }] }');
  assert.deepEqual(fine.diagnostics, [], 'no model field: the default model, which has 8 layers');
  const byDefault = check('{ "name": "t", "model": "default", "dataset": "d.jsonl", "levels": [9] }');
  assert.match(messageOf(byDefault.diagnostics[0]!), /^levels\[0\]\.layer is 9 but the default model \(tiny-model\) has 8 layers$/);
  const missing = check('{ "name": "t", "model": "nowhere", "dataset": "d.jsonl", "levels": [{ "layer": 2 }] }');
  assert.equal(textAt(missing.d, missing.diagnostics[0]!.range), '"nowhere"');
  assert.match(messageOf(missing.diagnostics[0]!), /model folder .*nowhere does not exist/);
  const noConfig = check('{ "name": "t", "model": "empty", "dataset": "d.jsonl", "levels": [{ "layer": 2 }] }');
  assert.match(messageOf(noConfig.diagnostics[0]!), /model folder .*empty has no config\.json/);
  assert.equal(noConfig.diagnostics[0]!.severity, 1);
  assert.equal(taskFileDiagnostics(doc('{ "name": "t", "model": "nowhere", "dataset": "d.jsonl", "levels": [2] }', 'hdlm-task')).length, 0, 'without a context only the text is checked');
});

test('a system prompt that leaves the input fewer than 8 of the model\'s positions is warned of on "system", in the engine\'s words, once the tokenizer is read', async () => {
  const work = mkdtempSync(join(tmpdir(), 'hdlm-diagnostics-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  // GPT-2 with n_positions 64 and a byte-level tokenizer of few merges: about one position per character.
  writeTinyCheckpoint(join(work, 'gpt'), { family: 'gpt2', layers: 2, hidden: 16, heads: 2, maxPositions: 64, tokenizer: true });
  writeFileSync(join(work, 'd.jsonl'), '{"text": "a dog", "labels": ["animal", "dog"]}\n');
  const context = { defaultModelDir: join(work, 'gpt') };
  const check = (system: string | undefined): string[][] => {
    const d = doc(`{ "name": "t", "model": "gpt", "dataset": "d.jsonl", ${system === undefined ? '' : `"system": ${JSON.stringify(system)}, `}"levels": [1, "last"] }`, 'hdlm-task', pathToFileURL(join(work, 't.hdlm.json')).toString());
    return taskFileDiagnostics(d, context).map((x) => [String(x.severity), textAt(d, x.range), messageOf(x)]);
  };
  const long = 'Sort each product review first by department, then by the product type it talks about.';
  // The tokenizer is read in the background: the first check starts it, and says nothing yet.
  // (A time limit, so that a tokenizer never read fails the assertions below, not the whole file.)
  const read = new Promise<void>((done) => {
    const timer = setTimeout(done, 10_000);
    onTokenizerRead(() => {
      clearTimeout(timer);
      done();
    });
  });
  assert.deepEqual(check(long), []);
  await read;
  assert.deepEqual(check(long), [
    ['2', JSON.stringify(long), 'the task\'s fixed prompt (the system prompt and turn markers) alone needs 94 positions but the model\'s context is 64 (n_positions); shorten the task\'s "system" prompt'],
  ]);
  // Room for a few positions, fewer than 8: every input still overflows.
  const near = 'Sort each review by department, then product.';
  assert.deepEqual(check(near).map((x) => x[2]), ['the task\'s fixed prompt (the system prompt and turn markers) needs 58 positions but the model\'s context is 64 (n_positions); the task alone leaves 6 positions for the input: shorten the task\'s "system" prompt']);
  assert.deepEqual(check('Sort the reviews.'), [], 'a short system prompt leaves room');
  assert.deepEqual(check(undefined), [], 'the default system prompt leaves room');
});

test('dataset files must exist, and dev/test labels must be ones the training file has', () => {
  const work = mkdtempSync(join(tmpdir(), 'hdlm-diagnostics-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  writeTinyCheckpoint(join(work, 'm'), { family: 'llama', layers: 4, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  writeFileSync(join(work, 'train.jsonl'), ['{"text": "barks", "labels": ["animal", "dog"]}', '{"text": "oak", "labels": ["plant", "tree"]}'].join('\n'));
  writeFileSync(join(work, 'test.jsonl'), ['{"text": "purrs", "labels": ["animal", "cat"]}', '{"text": "rose", "labels": ["plant", "shrub"]}', '{"text": "rock", "labels": ["mineral", "granite"]}'].join('\n'));
  const context = { defaultModelDir: join(work, 'm') };
  const d = doc('{ "name": "t", "model": "m", "dataset": { "train": "train.jsonl", "dev": "nope.jsonl", "test": "test.jsonl" }, "levels": [2, "last"] }', 'hdlm-task', pathToFileURL(join(work, 't.hdlm.json')).toString());
  const found = taskFileDiagnostics(d, context).map((x) => [x.severity, textAt(d, x.range), messageOf(x)]);
  assert.equal(found.length, 2, JSON.stringify(found));
  assert.deepEqual(found[0]!.slice(0, 2), [1, '"nope.jsonl"']);
  assert.match(String(found[0]![2]), /dataset dev file .*nope\.jsonl does not exist/);
  assert.deepEqual(found[1]!.slice(0, 2), [2, '"test.jsonl"']);
  assert.equal(found[1]![2], 'the test file uses labels the training file never has (level 1: mineral; level 2: cat, shrub, granite): no head can predict them');
  // A folder where a file belongs is named as such.
  mkdirSync(join(work, 'folder.jsonl'));
  const folder = doc('{ "name": "t", "model": "m", "dataset": { "train": "train.jsonl", "dev": "folder.jsonl" }, "levels": [2, "last"] }', 'hdlm-task', pathToFileURL(join(work, 't.hdlm.json')).toString());
  const named = taskFileDiagnostics(folder, context).map((x) => [x.severity, textAt(folder, x.range), messageOf(x)]);
  assert.equal(named.length, 1, JSON.stringify(named));
  assert.deepEqual(named[0]!.slice(0, 2), [1, '"folder.jsonl"']);
  assert.match(String(named[0]![2]), /dataset dev file .*folder\.jsonl is unreadable: is a folder, not a file/);
});

test('what training refuses about the data is said on the task: levels deeper or shallower than the labels, and a dataset of the other kind', () => {
  const work = mkdtempSync(join(tmpdir(), 'hdlm-diagnostics-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  writeTinyCheckpoint(join(work, 'm'), { family: 'llama', layers: 4, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  writeFileSync(join(work, 'three.jsonl'), '{"text": "barks", "labels": ["animal", "mammal", "dog"]}\n{"text": "oak", "labels": ["plant", "tree", "oak"]}\n');
  writeFileSync(join(work, 'thought.jsonl'), '{"input": "2+2", "thought": "sum", "answer": "4"}\n');
  const context = { defaultModelDir: join(work, 'm') };
  const check = (task: string): string[][] => {
    const d = doc(task, 'hdlm-task', pathToFileURL(join(work, 't.hdlm.json')).toString());
    return taskFileDiagnostics(d, context).map((x) => [String(x.severity), textAt(d, x.range), messageOf(x)]);
  };
  assert.deepEqual(check('{ "name": "t", "model": "m", "dataset": "three.jsonl", "levels": [{ "layer": 2 }, { "layer": "last" }] }'), [
    ['1', '[{ "layer": 2 }, { "layer": "last" }]', '2 levels, but the labels in the training data have 3'],
  ]);
  assert.deepEqual(check('{ "name": "t", "model": "m", "dataset": "three.jsonl", "levels": [1, 2, "last"] }'), [], 'as deep as the labels');
  const [[severity, range, message]] = check('{ "name": "t", "model": "m", "dataset": { "train": "thought.jsonl" }, "levels": [2, "last"] }') as [string[]];
  assert.deepEqual([severity, range], ['1', '"thought.jsonl"']);
  assert.match(message!, /^dataset train file .*thought\.jsonl holds thought-then-answer examples \(\{"input", "thought", "answer"\}\), but a classify task trains on labelled examples \(\{"text", "labels"\}\): training would find no usable examples in it$/);
  assert.match(check('{ "name": "t", "kind": "thoughtThenAnswer", "model": "m", "dataset": "three.jsonl", "levels": [2, "last"] }').map((x) => x[2]).join(), /holds labelled examples .* but a thoughtThenAnswer task trains on thought-then-answer examples/);
  assert.deepEqual(check('{ "name": "t", "kind": "thoughtThenAnswer", "model": "m", "dataset": "thought.jsonl", "levels": [2, "last"] }'), [], 'the kind the task trains on');
});

test('a dev or test split flags, on the label itself, what its training file never has', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-splits-'));
  try {
    writeFileSync(join(dir, 'pets.train.jsonl'), ['{"text":"barks","labels":["animal","dog"]}', '{"text":"oak","labels":["plant","tree"]}'].join('\n'));
    const dev = ['{"text":"howls","labels":["animal","dog"]}', '{"text":"a wolf","labels":["animal","wolf"]}', '{"text":"a rock","labels":["mineral","granite"]}'].join('\n');
    writeFileSync(join(dir, 'pets.dev.jsonl'), dev);
    const doc = TextDocument.create(pathToFileURL(join(dir, 'pets.dev.jsonl')).href, 'jsonl', 1, dev);
    const found = datasetDiagnostics(doc);
    assert.deepEqual(
      found.map((d) => [d.range.start.line, doc.getText(d.range), messageOf(d)]),
      [
        [1, '"wolf"', "'wolf' is not a level-2 label in pets.train.jsonl: no head can predict it"],
        [2, '"mineral"', "'mineral' is not a level-1 label in pets.train.jsonl: no head can predict it"],
      ],
    );
    // The training file itself, and a file without splits beside it, are not checked this way.
    const train = TextDocument.create(pathToFileURL(join(dir, 'pets.train.jsonl')).href, 'jsonl', 1, dev);
    assert.deepEqual(datasetDiagnostics(train), []);
    // Thought-then-answer splits: the thought.
    writeFileSync(join(dir, 'words.train.jsonl'), '{"input":"barks","thought":"animal","answer":"dog"}\n');
    const test = '{"input":"grows","thought":"plant","answer":"tree"}\n{"input":"purrs","thought":"animal","answer":"cat"}';
    writeFileSync(join(dir, 'words.test.jsonl'), test);
    const thoughts = TextDocument.create(pathToFileURL(join(dir, 'words.test.jsonl')).href, 'jsonl', 1, test);
    assert.deepEqual(datasetDiagnostics(thoughts).map((d) => [d.range.start.line, thoughts.getText(d.range), messageOf(d)]), [[0, '"plant"', "thought 'plant' is not in words.train.jsonl: the thought head never learned it"]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
