// Code lenses: Fine-tune, Evaluate (and Mistakes once evaluated) on a task file's name line; Classify on dataset lines.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { codeLenses, MAX_DATASET_LENSES } from '../../../server/src/codeLens';

test('a task file gets Fine-tune and Evaluate on its "name" line, and Suggest layers on its "levels" line, with its URI', () => {
  const uri = 'file:///ws/wn.hdlm.json';
  const doc = TextDocument.create(uri, 'hdlm-task', 1, '{\n  // a comment\n  "name": "wn",\n  "levels": [{ "layer": 2 }]\n}\n');
  const lenses = codeLenses(doc);
  assert.deepEqual(
    lenses.map((l) => [l.range.start.line, l.command?.title, l.command?.command, l.command?.arguments]),
    [
      [2, 'Fine-tune', 'hdlm.fineTune', [uri]],
      [2, 'Evaluate', 'hdlm.evaluate', [uri]],
      [3, 'Suggest layers', 'hdlm.scanLayers', [uri]],
    ],
  );
  // A thought-then-answer task's thought layer is scanned too.
  const thought = codeLenses(TextDocument.create(uri, 'hdlm-task', 1, '{ "name": "t", "kind": "thoughtThenAnswer", "levels": [{ "layer": 2 }, { "layer": "last" }] }'));
  assert.deepEqual(thought.map((l) => l.command?.title), ['Fine-tune', 'Evaluate', 'Suggest layers']);
  const nameless = codeLenses(TextDocument.create(uri, 'hdlm-task', 1, '{ "levels": ['));
  assert.equal(nameless[0]!.range.start.line, 0, 'at the top when there is no name (or the JSON is broken)');
});

test('a hierarchical dataset gets one Classify lens per example, naming its labels', () => {
  const lines = ['{"text":"barks","labels":["animal","dog"]}', 'not json', '', '{"text":"oak tree","labels":["plant",""]}'];
  const lenses = codeLenses(TextDocument.create('file:///ws/d.jsonl', 'jsonl', 1, lines.join('\n')));
  assert.deepEqual(
    lenses.map((l) => [l.range.start.line, l.command?.title, l.command?.command, l.command?.arguments]),
    [
      [0, 'Classify this example (labelled: animal › dog)', 'hdlm.classify', ['barks']],
      [3, 'Classify this example', 'hdlm.classify', ['oak tree']],
    ],
  );
});

test('dataset lenses stop at the cap, and other JSON Lines files get none', () => {
  const lines = Array.from({ length: MAX_DATASET_LENSES + 50 }, (_, i) => `{"text":"t${i}","labels":["a","b${i % 7}"]}`);
  assert.equal(codeLenses(TextDocument.create('file:///ws/big.jsonl', 'jsonl', 1, lines.join('\n'))).length, MAX_DATASET_LENSES);
  assert.deepEqual(codeLenses(TextDocument.create('file:///ws/g.jsonl', 'jsonl', 1, '{"input":"q","thought":"t","answer":"a"}')), []);
  assert.deepEqual(codeLenses(TextDocument.create('file:///ws/x.txt', 'plaintext', 1, '{"text":"a","labels":["b"]}')), []);
});

test('a task file whose last evaluation kept its predictions also gets Mistakes and Per label lenses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-lens-'));
  try {
    const uri = pathToFileURL(join(dir, 'wn.hdlm.json')).href;
    const doc = TextDocument.create(uri, 'hdlm-task', 1, '{\n  "name": "wn",\n  "levels": [2, "last"]\n}\n');
    assert.deepEqual(codeLenses(doc).map((l) => l.command?.title), ['Fine-tune', 'Evaluate', 'Suggest layers'], 'not evaluated yet');
    mkdirSync(join(dir, 'heads', 'wn'), { recursive: true });
    writeFileSync(join(dir, 'heads', 'wn', 'evaluation.predictions.jsonl'), '');
    const lenses = codeLenses(doc);
    assert.deepEqual(lenses.map((l) => [l.range.start.line, l.command?.title, l.command?.command, l.command?.arguments]).slice(3), [
      [1, 'Mistakes', 'hdlm.showMistakes', [uri]],
      [1, 'Per label', 'hdlm.showLabelReport', [uri]],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
