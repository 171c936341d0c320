// Completion in task files (fields, kinds, layers of the task's real model folder) and in
// hierarchical datasets (labels restricted to the children of the label before them).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { CompletionItem, TextEdit } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { completions } from '../../../server/src/completion';
import { buildIndex } from '../../../server/src/datasetIndex';
import { MAX_LINES_CHECKED } from '../../../server/src/diagnostics';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const work = mkdtempSync(join(tmpdir(), 'hdlm-completion-'));
after(() => rmSync(work, { recursive: true, force: true }));

writeTinyCheckpoint(join(work, 'six'), { family: 'llama', layers: 6, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
writeTinyCheckpoint(join(work, 'gpt'), { family: 'gpt2', layers: 3, hidden: 16, heads: 2, vocab: 64 });
const context = { defaultModelDir: join(work, 'six') };

/** A document with the cursor where `|` is, and what completion offers there. */
function complete(textWithCursor: string, languageId: string, file = join(work, 'task.hdlm.json')): { items: CompletionItem[]; doc: TextDocument } {
  const offset = textWithCursor.indexOf('|');
  const doc = TextDocument.create(pathToFileURL(file).toString(), languageId, 1, textWithCursor.replace('|', ''));
  return { items: completions(doc, doc.positionAt(offset), context), doc };
}

function applied(doc: TextDocument, item: CompletionItem): string {
  const edit = item.textEdit as TextEdit;
  return TextDocument.applyEdits(doc, [edit]);
}

test('a level layer offers 1..L and "last" for the model the task names', () => {
  const { items, doc } = complete('{ "name": "t", "model": "six", "levels": [{ "layer": | }] }', 'hdlm-task');
  assert.deepEqual(items.map((i) => i.label), ['1', '2', '3', '4', '5', '6', 'last']);
  assert.match(items[2]!.detail!, /^layer 3 of 6$/);
  assert.equal(applied(doc, items.at(-1)!), '{ "name": "t", "model": "six", "levels": [{ "layer": "last" }] }');
  const gpt = complete('{ "model": "gpt", "levels": [{ "layer": 2 }, { "layer": "la|" }] }', 'hdlm-task');
  assert.deepEqual(gpt.items.map((i) => i.label), ['1', '2', '3', 'last'], 'gpt2 counts n_layer');
  assert.equal(applied(gpt.doc, gpt.items[2]!), '{ "model": "gpt", "levels": [{ "layer": 2 }, { "layer": 3 }] }', 'the half-typed string is replaced');
});

test('"default" or no model field uses the default model', () => {
  assert.equal(complete('{ "model": "default", "levels": [{ "layer": | }] }', 'hdlm-task').items.length, 7);
  assert.equal(complete('{ "levels": [4, |] }', 'hdlm-task').items.length, 7, 'bare layers per level too');
  assert.deepEqual(complete('{ "levels": [{ "layer": 4 }, |] }', 'hdlm-task').items, [], 'no bare layer among level objects');
});

test('layers with a trained head are marked', () => {
  const heads = join(work, 'heads', 'wn');
  mkdirSync(heads, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet', 'level1.json'), 'utf8')) as Record<string, unknown>;
  // Trained by this task ("wn"): another task's heads are not marked (taskFacts.trainedHead).
  writeFileSync(join(heads, 'level1.json'), JSON.stringify({ ...manifest, task: 'wn', layer: 4 }));
  const { items } = complete('{ "name": "wn", "model": "six", "levels": [{ "layer": | }, { "layer": "last" }] }', 'hdlm-task');
  // The shipped head's own record (it changes whenever the shipped heads are retrained).
  const dev = (((manifest.training as { bestDevAccuracy: number }).bestDevAccuracy) * 100).toFixed(1);
  assert.ok(items.find((i) => i.label === '4')!.detail!.includes(`trained head: level 1 (dev ${dev}%)`));
  assert.doesNotMatch(items.find((i) => i.label === '3')!.detail!, /trained/);
});

test('a missing model folder still offers "last", saying why there are no numbers', () => {
  const { items } = complete('{ "model": "nowhere", "levels": [{ "layer": | }] }', 'hdlm-task');
  assert.deepEqual(items.map((i) => i.label), ['last']);
  assert.match(items[0]!.detail!, /does not exist/);
});

test('keys come from taskFile.ts, without those already there', () => {
  const top = complete('{ "name": "t", | }', 'hdlm-task');
  const labels = top.items.map((i) => i.label);
  assert.deepEqual(labels, ['kind', 'model', 'dataset', 'system', 'levels', 'exitWhenSure', 'listCandidates', 'heads', 'train']);
  assert.equal(applied(top.doc, top.items[0]!), '{ "name": "t", "kind":  }');
  const train = complete('{ "train": { "epochs": 2, "ba|": 3 } }', 'hdlm-task');
  assert.ok(train.items.some((i) => i.label === 'batchSize'));
  assert.ok(!train.items.some((i) => i.label === 'epochs'));
  assert.equal(applied(train.doc, train.items.find((i) => i.label === 'batchSize')!), '{ "train": { "epochs": 2, "batchSize": 3 } }');
  assert.deepEqual(complete('{ "levels": [{ | }] }', 'hdlm-task').items.map((i) => i.label), ['layer']);
  const exits = complete('{ "exitWhenSure": { "threshold": 0.7, | } }', 'hdlm-task');
  assert.deepEqual(exits.items.map((i) => i.label), ['layers']);
  assert.match(JSON.stringify(exits.items[0]!.documentation ?? exits.items[0]!.detail ?? ''), /scored at, in turn/);
});

test('kind offers the task kinds', () => {
  const { items, doc } = complete('{ "kind": "c|" }', 'hdlm-task');
  assert.deepEqual(items.map((i) => i.label), ['classify', 'thoughtThenAnswer']);
  assert.equal(applied(doc, items[1]!), '{ "kind": "thoughtThenAnswer" }');
});

test('train.lastLevelHead offers its two values, and the field has hover help', () => {
  const { items, doc } = complete('{ "train": { "lastLevelHead": "o|" } }', 'hdlm-task');
  assert.deepEqual(items.map((i) => i.label), ['allLevels', 'ownLevel']);
  assert.equal(applied(doc, items[1]!), '{ "train": { "lastLevelHead": "ownLevel" } }');
  const field = complete('{ "train": { "last|" } }', 'hdlm-task').items.find((i) => i.label === 'lastLevelHead');
  assert.ok(field, 'the field is offered inside train');
  assert.match(JSON.stringify(field.documentation ?? field.detail ?? ''), /every level/);
});

const dataset = [
  '{"text":"barks","labels":["animal","dog","terrier"]}',
  '{"text":"woofs","labels":["animal","dog","hound"]}',
  '{"text":"yaps","labels":["animal","dog","terrier"]}',
  '{"text":"purrs","labels":["animal","cat","tabby"]}',
  '{"text":"oak","labels":["plant","tree","oak"]}',
];

test('a dataset label offers the children of the label before it, with counts', () => {
  const at = (line: string): CompletionItem[] => complete([...dataset, line].join('\n'), 'jsonl', join(work, 'data.jsonl')).items;
  assert.deepEqual(at('{"text":"x","labels":["animal", "|"]}').map((i) => [i.label, i.detail]), [
    ['dog', 'level 2 under animal · used on 3 lines'],
    ['cat', 'level 2 under animal · used on 1 line'],
  ]);
  assert.deepEqual(at('{"text":"x","labels":["animal", "dog", |').map((i) => i.label), ['terrier', 'hound']);
  assert.deepEqual(new Set(at('{"text":"x","labels":[|').map((i) => i.label)), new Set(['animal', 'plant']));
  assert.deepEqual(at('{"text":"x","labels":["fungus", "|"]}'), [], 'a new label has no children yet');
  assert.deepEqual(at('{"text":"x|","labels":[]}'), [], 'not in the labels array');
  const { items, doc } = complete([...dataset, '{"text":"x","labels":["plant", "t|"]}'].join('\n'), 'jsonl', join(work, 'data.jsonl'));
  assert.equal(applied(doc, items[0]!).split('\n').at(-1), '{"text":"x","labels":["plant", "tree"]}');
});

test('the label index of a large dataset parses each line once, and no more lines than validation reads', () => {
  // What keeps completion quick on a large file, counted rather than timed: one JSON.parse per
  // line (the real one, counted on the way), and none past MAX_LINES_CHECKED (20,000).
  const lines = Array.from({ length: MAX_LINES_CHECKED + 5000 }, (_, i) => `{"text":"example ${i}","labels":["c${i % 10}","m${i % 100}","f${i % 1000}"]}`);
  const parse = JSON.parse;
  let parsed = 0;
  JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
    parsed++;
    return parse(...args);
  };
  let index: ReturnType<typeof buildIndex>;
  try {
    index = buildIndex(lines.join('\n'));
  } finally {
    JSON.parse = parse;
  }
  assert.equal(parsed, MAX_LINES_CHECKED);
  assert.equal(index.levels[2]!.size, 1000);
  assert.equal(index.levels[0]!.get('c3')!.children.size, 10);
  assert.equal(index.levels[0]!.get('c3')!.count, MAX_LINES_CHECKED / 10, 'the lines read are the first 20,000');
});

test('the fixture dataset completes under the parent of its own labels', () => {
  const text = readFileSync(join(root, 'data', 'fixtures', 'wordnet.sample.jsonl'), 'utf8').trimEnd();
  const firstLine = text.split('\n')[0]!;
  const [coarse] = (JSON.parse(firstLine) as { labels: string[] }).labels;
  const { items } = complete(`${text}\n{"text":"x","labels":[${JSON.stringify(coarse)}, |]}`, 'jsonl', join(work, 'wordnet.jsonl'));
  const index = buildIndex(text);
  assert.deepEqual(new Set(items.map((i) => i.label)), new Set(index.levels[0]!.get(coarse!)!.children.keys()));
  assert.ok(items.length > 0);
});

test('dataset paths complete to the JSON Lines files under the task file, model to "default" and the model folders', () => {
  const project = join(work, 'project');
  mkdirSync(join(project, 'data', 'nested'), { recursive: true });
  mkdirSync(join(project, 'node_modules', 'pkg'), { recursive: true });
  writeFileSync(join(project, 'local.jsonl'), '{"text":"a","labels":["x"]}\n');
  writeFileSync(join(project, 'data', 'train.jsonl'), 'x'.repeat(2048));
  writeFileSync(join(project, 'data', 'nested', 'test.jsonl'), '');
  writeFileSync(join(project, 'data', 'notes.txt'), '');
  writeFileSync(join(project, 'node_modules', 'pkg', 'skip.jsonl'), '');
  writeTinyCheckpoint(join(project, 'models', 'mine'), { family: 'llama', layers: 2, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
  const file = join(project, 't.hdlm.json');
  const single = complete('{ "name": "t", "dataset": "|" }', 'hdlm-task', file);
  assert.deepEqual(single.items.map((i) => i.label), ['local.jsonl', 'data/train.jsonl', 'data/nested/test.jsonl'], 'nearest first; node_modules and other files left out');
  assert.equal(single.items[1]!.detail, '0.00 MB');
  assert.equal(applied(single.doc, single.items[1]!), '{ "name": "t", "dataset": "data/train.jsonl" }');
  const split = complete('{ "name": "t", "dataset": { "train": "data/train.jsonl", "test": "da|" } }', 'hdlm-task', file);
  assert.equal(applied(split.doc, split.items.find((i) => i.label === 'data/nested/test.jsonl')!), '{ "name": "t", "dataset": { "train": "data/train.jsonl", "test": "data/nested/test.jsonl" } }');
  const model = complete('{ "name": "t", "model": "|" }', 'hdlm-task', file);
  assert.deepEqual(model.items.map((i) => [i.label, i.detail]), [['default', undefined], ['models/mine', '2 layers']]);
  assert.deepEqual(complete('{ "name": "t", "heads": "|" }', 'hdlm-task', file).items, [], 'no paths offered elsewhere');
});

test('a thought-then-answer line\'s thought completes to the thoughts the file uses, most used first', () => {
  const lines = ['{"input":"barks","thought":"animal","answer":"dog"}', '{"input":"purrs","thought":"animal","answer":"cat"}', '{"input":"grows","thought":"plant","answer":"oak"}'];
  const { items, doc } = complete([...lines, '{"input":"howls","thought":"an|","answer":"wolf"}'].join('\n'), 'jsonl', join(work, 'words.jsonl'));
  assert.deepEqual(items.map((i) => [i.label, i.detail]), [['animal', 'thought · used on 2 lines'], ['plant', 'thought · used on 1 line']]);
  assert.equal(applied(doc, items[0]!).split('\n')[3], '{"input":"howls","thought":"animal","answer":"wolf"}');
  assert.deepEqual(complete([...lines, '{"input":"howls","thought":"animal","answer":"w|"}'].join('\n'), 'jsonl', join(work, 'words.jsonl')).items, [], 'answers are not completed');
});
