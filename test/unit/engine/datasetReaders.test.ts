// The dataset readers on real files: every reader takes an id that is a whole number as its
// digits (exported data often numbers its lines), so 17 and "17" are one id, and refuses any
// other id by line; repeated texts (under other labels, or in training and test alike) are
// said by file and line, the first few, then a count.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { classifyInputsOf, goldIssues, readClassifyInputs } from '../../../engine/src/hdlm/classifyInputs';
import { describeDuplicateTexts, readGuidedDataset, readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { parseJsonl } from '../../../engine/src/hdlm/dataset/jsonl';
import { splitByHash } from '../../../engine/src/hdlm/splits';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-dataset-readers-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file of the given lines, each written as it is given (a string) or as JSON (an object). */
function write(name: string, lines: readonly (string | object)[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return path;
}

test('a whole-number id is read as its digits by every reader; other types are refused by line', () => {
  const file = write('numbered.jsonl', [
    { id: 17, text: 'a dog', labels: ['animal', 'dog'] },
    { id: '18', text: 'an oak', labels: ['plant', 'oak'] },
    { id: 0, text: 'a cat', labels: ['animal', 'cat'] },
    { id: 17.5, text: 'a rose', labels: ['plant', 'rose'] },
    { id: true, text: 'a fox', labels: ['animal', 'fox'] },
    { id: { n: 1 }, text: 'a fir', labels: ['plant', 'fir'] },
    { id: '', text: 'an elm', labels: ['plant', 'elm'] },
    '{"id": 12345678901234567890, "text": "a yew", "labels": ["plant", "yew"]}',
    { id: '17', text: 'an owl', labels: ['animal', 'owl'] },
    { text: 'a bee', labels: ['animal', 'bee'] },
  ]);
  const { records, issues } = readHierarchicalDataset(file);
  assert.deepEqual(records.map((r) => r.id), ['17', '18', '0', 'line 10']);
  assert.deepEqual(issues.skipped, [
    { line: 4, message: "field 'id' must be a string or a whole number, got 17.5" },
    { line: 5, message: "field 'id' must be a string or a whole number, got true" },
    { line: 6, message: "field 'id' must be a string or a whole number, got an object" },
    { line: 7, message: "field 'id' is empty" },
    { line: 8, message: "field 'id' is a whole number too large to read exactly (beyond 2^53): write it as a string" },
    { line: 9, message: "duplicate id '17' (first on line 1)" },
  ]);
  // The split is a function of the id string: 17 and "17" fall alike.
  const numbered = records[0]!;
  for (const seed of [0, 1, 2, 3]) assert.deepEqual(splitByHash([numbered], 0.5, seed), splitByHash([{ ...numbered, id: '17' }], 0.5, seed));

  const guided = write('numbered-guided.jsonl', [
    { id: 3, input: 'a dog', thought: 'animal', answer: 'dog' },
    { id: false, input: 'an oak', thought: 'plant', answer: 'oak' },
  ]);
  const thought = readGuidedDataset(guided);
  assert.deepEqual(thought.records.map((r) => r.id), ['3']);
  assert.deepEqual(thought.issues.skipped, [{ line: 2, message: "field 'id' must be a string or a whole number, got false" }]);

  const inputs = readClassifyInputs(file);
  assert.deepEqual(inputs.inputs.map((i) => [i.line, i.id]), [[1, '17'], [2, '18'], [3, '0'], [9, '17'], [10, 'line 10']]);
  assert.deepEqual(inputs.skipped.map((i) => i.line), [4, 5, 6, 7, 8]);
  assert.equal(inputs.skipped[0]!.message, "field 'id' must be a string or a whole number, got 17.5");
});

test('texts under different labels, and dev or test texts seen in training, are said by file and line', () => {
  const paths = [['animal', 'dog'], ['animal', 'cat'], ['plant', 'oak'], ['plant', 'elm']];
  const base = Array.from({ length: 8 }, (_, i) => ({ text: `text ${i}`, labels: paths[i % 4]! }));
  const train = write('dup-train.jsonl', [
    ...base,
    { text: '  text   0 ', labels: ['animal', 'cat'] }, // line 9: line 1's text, spaced otherwise, labelled otherwise
    { text: 'text 1', labels: ['animal', 'cat'] }, // line 10: the same labels: a plain repeat, not said
    { text: 'text 2', labels: ['plant', 'elm'] },
    { text: 'text 2', labels: ['plant', 'oak'] }, // line 12: back to line 3's labels; the text is said once
    { text: 'text 3', labels: ['plant', 'oak'] },
    { text: 'text 4', labels: ['animal', 'cat'] },
    { text: 'text 5', labels: ['animal', 'dog'] },
  ]);
  const dev = write('dup-dev.jsonl', [{ text: 'new', labels: ['animal', 'dog'] }, { text: 'text 6', labels: ['plant', 'oak'] }]);
  const test = write('dup-test.jsonl', [{ text: 'text 7', labels: ['plant', 'elm'] }, { text: 'other', labels: ['animal', 'dog'] }, { text: 'other', labels: ['animal', 'cat'] }]);
  const notices = describeDuplicateTexts(readHierarchicalDataset(train), [
    { part: 'dev', read: readHierarchicalDataset(dev) },
    { part: 'test', read: readHierarchicalDataset(test) },
  ]);
  assert.deepEqual(notices, [
    [
      `5 texts of ${train} appear more than once with different labels:`,
      `  ${train}:9: the text of line 1 with other labels ('text 0' → animal/dog there, animal/cat here)`,
      `  ${train}:11: the text of line 3 with other labels ('text 2' → plant/oak there, plant/elm here)`,
      `  ${train}:13: the text of line 4 with other labels ('text 3' → plant/elm there, plant/oak here)`,
      '  … and 2 more',
    ].join('\n'),
    [`1 dev example has the same text as a training example: the dev accuracy overstates what the heads do on new text`, `  ${dev}:2: the text of ${train}:7 ('text 6')`].join('\n'),
    [`1 text of ${test} appears more than once with different labels:`, `  ${test}:3: the text of line 2 with other labels ('other' → animal/dog there, animal/cat here)`].join('\n'),
    [`1 test example has the same text as a training example: the test accuracy overstates what the heads do on new text`, `  ${test}:1: the text of ${train}:8 ('text 7')`].join('\n'),
  ]);

  // A thought-then-answer file: the thought and the answer are what a text is labelled.
  const guided = write('dup-guided.jsonl', [
    { input: 'a dog', thought: 'animal', answer: 'dog' },
    { input: 'a dog', thought: 'animal', answer: 'hound' },
  ]);
  assert.deepEqual(describeDuplicateTexts(readGuidedDataset(guided), []), [[`1 text of ${guided} appears more than once with different labels:`, `  ${guided}:2: the text of line 1 with other labels ('a dog' → animal: dog there, animal: hound here)`].join('\n')]);
  assert.deepEqual(describeDuplicateTexts(readHierarchicalDataset(dev), []), [], 'nothing repeated: nothing said');
});

test('bytes that are not UTF-8 refuse a dataset by file and line, never read as U+FFFD; a UTF-16 file is named as such', () => {
  const good = JSON.stringify({ text: 'a dog', labels: ['animal', 'dog'] });
  const latin1 = join(dir, 'latin1.jsonl');
  writeFileSync(latin1, Buffer.concat([Buffer.from(`${good}\n`), Buffer.from(`${JSON.stringify({ text: 'un café', labels: ['drink', 'coffee'] })}\n`, 'latin1')]));
  for (const read of [readHierarchicalDataset, readGuidedDataset, readClassifyInputs]) {
    assert.throws(() => read(latin1), (err: Error) => err.message.startsWith(`${latin1}:2: not valid UTF-8`), read.name);
  }
  const utf16 = join(dir, 'utf16.jsonl');
  writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${good}\n${good}\n`, 'utf16le')]));
  assert.throws(() => readHierarchicalDataset(utf16), (err: Error) => err.message === `${utf16}: the file is UTF-16; save it as UTF-8`);
  const noMark = join(dir, 'utf16-no-mark.jsonl');
  writeFileSync(noMark, Buffer.from(`${good}\n`, 'utf16le'));
  assert.throws(() => readHierarchicalDataset(noMark), /the file is UTF-16; save it as UTF-8$/);
});

test('a dataset with no line at all says so, instead of a list of issues that is empty', () => {
  for (const [read, needs] of [[readHierarchicalDataset, '"labels"'], [readGuidedDataset, '"thought"']] as const) {
    for (const text of ['', '\n\n  \n']) {
      const file = join(dir, 'empty.jsonl');
      writeFileSync(file, text);
      assert.throws(() => read(file), (err: Error) => err.message.startsWith(`${file}: no usable examples (each line needs {`) && err.message.includes(needs) && err.message.endsWith('): the file is empty (or only blank lines)'), JSON.stringify(text));
    }
  }
  const bad = write('not-json.jsonl', ['not json']);
  assert.throws(() => readHierarchicalDataset(bad), (err: Error) => /\):\n.*not-json\.jsonl:1: /.test(err.message));
});

test('a dataset line that is not JSON is said as every JSON file says it: "not valid JSON: reason", its line given beside', () => {
  const { issues } = parseJsonl('{"text": "a"}\n{"text": \n');
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.line, 2);
  assert.match(issues[0]!.message, /^not valid JSON: \S/);
});

test('Classify Each Line reads a selection as `classify --file` reads a file: what is skipped and gold labels it cannot use, by document line', () => {
  // The selection starts at document line 5; an editor has no task's taxonomy, so only the labels' shape is checked.
  const selection = [
    '{"text": "a dog", "labels": ["animal", "dog"]}',
    '{"text": "an oak", "labels": "plant"}',
    '{"labels": ["plant"]}',
    '',
    '{"text": "barks", "labels": ["animal", 3]}',
    '{"text": ',
  ].join('\n');
  const { inputs, skipped } = classifyInputsOf(selection, true, 5);
  assert.deepEqual(inputs.map((i) => [i.line, i.text, i.labels ?? null]), [[5, 'a dog', ['animal', 'dog']], [6, 'an oak', null], [9, 'barks', null]]);
  assert.deepEqual(skipped.map((i) => [i.line, i.message.replace(/: .*/, '')]), [[7, 'expected an object with a non-empty "text"'], [10, 'not valid JSON']]);
  assert.deepEqual(goldIssues(inputs), [
    { line: 6, message: '"labels" must be a list of label strings, got "plant": left out of the accuracy against the labels' },
    { line: 9, message: '"labels" must be a list of label strings, got ["animal",3] (item 2 is 3): left out of the accuracy against the labels' },
  ]);
  // Plain text: one input per non-empty line, numbered in the document.
  assert.deepEqual(classifyInputsOf('a dog\n\n  an oak ', false, 3).inputs.map((i) => [i.line, i.id, i.text]), [[3, 'line 3', 'a dog'], [5, 'line 5', 'an oak']]);
});

test('a file whose first lines are not JSON is said to be no JSON Lines file, once; a near-miss key is named', () => {
  const csv = join(dir, 'topics.jsonl');
  writeFileSync(csv, 'text,label\n"a dog",animal\n"a cat",animal\n"a rose",plant\n');
  assert.throws(() => readHierarchicalDataset(csv), (err: Error) => {
    const lines = err.message.split('\n');
    assert.equal(lines.length, 2, err.message);
    assert.match(lines[1]!, /topics\.jsonl: not a JSON Lines file \(line 1 is not valid JSON: .*\); a dataset is a JSON Lines file \(\*\.jsonl\): one JSON object a line$/);
    return true;
  });
  // Classifying a .jsonl file reads it alike: one issue for the file, no input.
  assert.deepEqual(readClassifyInputs(csv).skipped.map((i) => i.line), [0]);
  // A JSON Lines file with a few bad lines keeps its per-line issues.
  const mixed = join(dir, 'mixed-keys.jsonl');
  writeFileSync(mixed, '{"text":"a dog","labels":["animal","dog"]}\nnot json\n{"text":"a cat","label":["animal","cat"]}\n{"Text":"a fir","labels":["plant","fir"]}\n');
  const { issues } = readHierarchicalDataset(mixed);
  assert.deepEqual(issues.skipped, [
    { line: 2, message: issues.skipped[0]!.message },
    { line: 3, message: "missing field 'labels' (found 'label'; the field is 'labels')" },
    { line: 4, message: "missing field 'text' (found 'Text'; the field is 'text')" },
  ]);
  assert.match(issues.skipped[0]!.message, /^not valid JSON/);
});
