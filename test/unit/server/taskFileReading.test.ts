// Every feature of a task file reads it as the engine and the diagnostics do (taskTree and
// taskNodeAt in engine/src/hdlm/taskFile.ts): where a key is given twice, the last value, the one
// the task runs with; a leading byte order mark changes no place.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { taskFileLenses } from '../../../server/src/codeLens';
import { taskFileDiagnostics } from '../../../server/src/diagnostics';
import { taskFileHover } from '../../../server/src/hover';
import { taskFileLinks } from '../../../server/src/taskLinks';
import { taskFileSymbols } from '../../../server/src/taskOutline';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const work = mkdtempSync(join(tmpdir(), 'hdlm-task-reading-'));
after(() => rmSync(work, { recursive: true, force: true }));
writeTinyCheckpoint(join(work, 'tiny-model'), { family: 'llama', layers: 8, hidden: 16, heads: 2, intermediate: 24, vocab: 64 });
writeFileSync(join(work, 'real.jsonl'), '{"text": "a dog", "labels": ["animal", "dog"]}\n{"text": "an oak", "labels": ["plant", "oak"]}\n');
const context = { defaultModelDir: join(work, 'tiny-model') };
const taskDoc = (text: string): TextDocument => TextDocument.create(pathToFileURL(join(work, 't.hdlm.json')).href, 'hdlm-task', 1, text);

// "levels" twice: the first (ignored) asks for layer 12 of an 8-layer model; the second is read.
const twice = ['{', '  "name": "t",', '  "model": "tiny-model",', '  "dataset": "missing.jsonl",', '  "levels": [{ "layer": 12 }, { "layer": "last" }],', '  "dataset": "real.jsonl",', '  "levels": [{ "layer": 4 }, { "layer": "last" }]', '}', ''].join('\n');

test('a key given twice: the model check is about the levels the task runs with, not the ignored ones', () => {
  const messages = taskFileDiagnostics(taskDoc(twice), context).map((d) => String(d.message));
  assert.deepEqual(messages.filter((m) => /layers$/.test(m)), [], 'layer 12 is in the ignored copy');
  assert.equal(messages.filter((m) => m.startsWith('duplicate field')).length, 2, 'the repeats themselves are said');
});

test('a key given twice: the Suggest layers lens sits on the levels that are read, the dataset link is the file that is read', () => {
  const lens = taskFileLenses(taskDoc(twice)).find((l) => l.command?.title === 'Suggest layers');
  assert.equal(lens?.range.start.line, 6);
  const links = taskFileLinks(taskDoc(twice), context);
  assert.deepEqual(
    links.filter((l) => /dataset/.test(l.tooltip ?? '')).map((l) => [l.range.start.line, l.target]),
    [[5, pathToFileURL(join(work, 'real.jsonl')).href]],
  );
});

test('a key given twice: the dataset hover describes the file that is read', () => {
  const lines = twice.split('\n');
  const hover = taskFileHover(taskDoc(twice), 5, lines[5]!.indexOf('real') + 1, context);
  const value = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
  assert.match(value, /\b2 (examples|rows|lines)\b/, value);
});

test('a key given twice: the outline marks the ignored copy and gives the read one its levels', () => {
  const symbols = taskFileSymbols(taskDoc(twice), context);
  const levels = symbols.filter((s) => s.name === 'levels');
  assert.deepEqual(levels.map((s) => [s.detail, s.children?.length ?? 0]), [['ignored: given again below', 0], ['2 levels', 2]]);
  assert.match(levels[1]!.children![0]!.detail ?? '', /^layer 4\b/);
});

test('a byte order mark moves nothing: lenses, links and diagnostics are where they are without it', () => {
  const plain = ['{', '  "name": "t",', '  "model": "tiny-model",', '  "dataset": "real.jsonl",', '  "levels": [{ "layer": 12 }, { "layer": "last" }]', '}', ''].join('\n');
  const places = (text: string): unknown => [
    taskFileLenses(taskDoc(text)).map((l) => [l.command?.title, l.range.start]),
    taskFileLinks(taskDoc(text), context).map((l) => [l.tooltip, l.range]),
    taskFileDiagnostics(taskDoc(text), context).map((d) => [d.message, d.range]),
  ];
  // The marker is one UTF-16 unit before the "{" on line 0; every place after line 0 is the same.
  assert.deepEqual(places(`\uFEFF${plain}`), places(plain));
  assert.ok(taskFileDiagnostics(taskDoc(`\uFEFF${plain}`), context).some((d) => /levels\[0\]\.layer is 12 but tiny-model has 8 layers/.test(String(d.message))));
});
