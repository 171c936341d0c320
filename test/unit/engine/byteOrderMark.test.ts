// Files saved with a UTF-8 byte order mark (as some Windows editors save them) read as the
// editor shows them: a task file parses, a dataset keeps its first example, an input file's
// first line has no stray character, a model's config loads. Before, the task file was "not
// valid JSON" and the dataset silently lost line 1.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../../../engine/src/checkpoint/checkpoint';
import { readModelConfig } from '../../../engine/src/checkpoint/config';
import { readClassifyInputs } from '../../../engine/src/hdlm/classifyInputs';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { Tokenizer } from '../../../engine/src/tokenizer';
import { writeTinyCheckpoint, writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const BOM = '\ufeff';
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-bom-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a dataset with a byte order mark (and Windows line ends) keeps its first example', () => {
  const file = join(dir, 'animals.jsonl');
  writeFileSync(file, `${BOM}{"text":"barks","labels":["animal","dog"]}\r\n{"text":"purrs","labels":["animal","cat"]}\r\n`);
  const { records, issues } = readHierarchicalDataset(file);
  assert.deepEqual(issues.skipped, []);
  assert.deepEqual(records.map((r) => r.labels.join('>')), ['animal>dog', 'animal>cat']);
});

test('a task file with a byte order mark parses', () => {
  const file = join(dir, 'animals.hdlm.json');
  writeFileSync(file, `${BOM}// animals\n{ "name": "animals", "dataset": "animals.jsonl", "levels": [{ "layer": 1 }, { "layer": "last" }] }\n`);
  const task = readTaskFile(file);
  assert.equal(task.name, 'animals');
  assert.deepEqual(task.levels, [1, 'last']);
});

test('an input file with a byte order mark: the first line is the text, nothing before it', () => {
  const plain = join(dir, 'inputs.txt');
  writeFileSync(plain, `${BOM}a dog\nan oak\n`);
  assert.deepEqual(readClassifyInputs(plain).inputs.map((i) => i.text), ['a dog', 'an oak']);
  const lines = join(dir, 'inputs.jsonl');
  writeFileSync(lines, `${BOM}{"text":"a dog"}\n{"text":"an oak"}\n`);
  const read = readClassifyInputs(lines);
  assert.deepEqual([read.inputs.map((i) => i.text), read.skipped], [['a dog', 'an oak'], []]);
});

test('a model config.json with a byte order mark loads', () => {
  const model = join(dir, 'model');
  writeTinyModel(model, root, { seed: 1 });
  const config = join(model, 'config.json');
  const plain = readModelConfig(config);
  writeFileSync(config, `${BOM}${readFileSync(config, 'utf8')}`);
  assert.deepEqual(readModelConfig(config), plain);
});

test('a tokenizer.json and a model.safetensors.index.json with a byte order mark load', async () => {
  // Before, both were refused: "Unexpected token '\ufeff'".
  const model = writeTinyCheckpoint(join(dir, 'sharded'), { family: 'llama', layers: 1, shards: 2, tokenizer: true, generationConfig: { max_new_tokens: 8 } });
  for (const file of ['tokenizer.json', 'model.safetensors.index.json', 'generation_config.json']) {
    const path = join(model.dir, file);
    writeFileSync(path, `${BOM}${readFileSync(path, 'utf8')}`);
  }
  const checkpoint = await loadCheckpoint(model.dir, { cacheDir: join(dir, 'cache') });
  assert.equal(checkpoint.generation.maxNewTokens, 8);
  assert.deepEqual([model.files.length, checkpoint.weights.names().length], [2, Object.keys(model.tensors).length]);
  const tokenizer = await Tokenizer.fromFile(checkpoint.tokenizerPath!);
  assert.equal(tokenizer.decode(tokenizer.encode('hello', { addSpecialTokens: false })), 'hello');
});
