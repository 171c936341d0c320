// The dataset readers on real files: every reader takes an id that is a whole number as its
// digits (exported data often numbers its lines), so 17 and "17" are one id, and refuses any
// other id by line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readClassifyInputs } from '../../../engine/src/hdlm/classifyInputs';
import { readGuidedDataset, readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
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
