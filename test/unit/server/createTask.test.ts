// hdlm/createTask ("HdLM: New Task from Dataset") through the server's handler class: a task file
// written beside a real dataset, for a real model, that training's parser reads and the server
// then classifies with; never replacing a file; datasets training would refuse are refused with
// their file and line, and nothing is left behind.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { ResponseError } from 'vscode-languageserver';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { ErrorCodes } from '../../../server/src/protocol';
import { spreadLayers } from '../../../engine/src/hdlm/taskCreation';
import { startWorkspaceServer } from '../../support/workspaceServer';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
let workspace: string;

before(() => {
  workspace = mkdtempSync(join(tmpdir(), 'hdlm-create-'));
  process.env['XDG_CACHE_HOME'] = join(workspace, '.cache');
  writeTinyModel(join(workspace, 'model'), root, { std: 0.15, seed: 2 });
  mkdirSync(join(workspace, 'data'));
  const animals = [
    ['it barks at the postman', 'animal', 'dog'],
    ['it purrs on the mat', 'animal', 'cat'],
    ['an oak in the park', 'plant', 'tree'],
    ['a rose by the door', 'plant', 'flower'],
  ];
  writeFileSync(join(workspace, 'data', 'animals.jsonl'), `${animals.map(([text, a, b]) => JSON.stringify({ text, labels: [a, b] })).join('\n')}\n`);
  writeFileSync(join(workspace, 'data', 'words.jsonl'), `${JSON.stringify({ input: 'a dog that barks', thought: 'animal', answer: 'dog' })}\n`);
});

after(() => rmSync(workspace, { recursive: true, force: true }));

function startServer(settings: Record<string, unknown> = {}): ReturnType<typeof startWorkspaceServer> {
  return startWorkspaceServer(root, workspace, { model: 'model', ...settings });
}

test('layers are spread from half the depth to the last, each level on its own layer', () => {
  assert.deepEqual(spreadLayers(1, 8), ['last']);
  assert.deepEqual(spreadLayers(2, 8), [4, 'last']);
  assert.deepEqual(spreadLayers(3, 8), [4, 6, 'last'], 'what the shipped WordNet task uses');
  assert.deepEqual(spreadLayers(4, 8), [4, 5, 7, 'last']);
  assert.deepEqual(spreadLayers(2, 24), [12, 'last']);
  assert.deepEqual(spreadLayers(3, 4), [2, 3, 'last']);
  assert.deepEqual(spreadLayers(4, 4), [1, 2, 3, 'last'], 'more levels than half the depth: the first starts earlier');
  for (let layers = 1; layers <= 30; layers++) {
    for (let depth = 1; depth <= layers; depth++) {
      const numeric = spreadLayers(depth, layers).slice(0, -1) as number[];
      assert.ok(numeric.every((l, i) => l >= 1 && l < layers && (i === 0 || l > numeric[i - 1]!)), `${depth} levels of ${layers} layers: ${numeric.join(',')}`);
    }
  }
  assert.throws(() => spreadLayers(5, 4), /the labels have 5 levels, but the model has only 4 layers/);
});

test('a task file is written beside the dataset; training reads it and the server classifies with it', async () => {
  const { server, client } = await startServer();
  const created = await server.createTask({ dataset: 'data/animals.jsonl' });
  assert.equal(created.task, join(workspace, 'data', 'animals.hdlm.json'));
  assert.deepEqual([created.name, created.kind, created.examples, created.skipped, created.modelLayers], ['animals', 'classify', 4, 0, 4]);
  assert.deepEqual(created.levels, [2, 'last']);
  const task = readTaskFile(created.task);
  assert.deepEqual([task.name, task.kind, task.model, task.levels], ['animals', 'classify', join(workspace, 'model'), [2, 'last']]);
  assert.match(readFileSync(created.task, 'utf8'), /^\s*"model": "\.\.\/model",$/m, 'the model relative to the task file');
  assert.ok(client.lines.some((l) => l.startsWith(`created ${created.task}: classify, levels at layers 2, last of 4`)));
  client.settings = { ...(client.settings as object), task: 'data/animals.hdlm.json' };
  const result = await server.classify({ text: 'it barks' });
  assert.equal(result.task, 'animals');
  assert.deepEqual(result.path.map((d) => d.layer), [2, 4]);
  // Again: a new name, and the first file as it was.
  const first = readFileSync(created.task, 'utf8');
  const again = await server.createTask({ dataset: pathToFileURL(join(workspace, 'data', 'animals.jsonl')).href });
  assert.equal(again.task, join(workspace, 'data', 'animals-2.hdlm.json'));
  assert.equal(again.name, 'animals-2');
  assert.equal(readFileSync(created.task, 'utf8'), first);
  assert.ok(!readdirSync(join(workspace, 'data')).some((f) => f.endsWith('.tmp')), 'no temporary file left');
  // A heads folder left by a deleted task keeps its name taken: the new task would load those heads.
  mkdirSync(join(workspace, 'data', 'heads', 'animals-3'), { recursive: true });
  assert.equal((await server.createTask({ dataset: 'data/animals.jsonl' })).name, 'animals-4');
});

test('a train/dev/test split is named as one: the task takes the folder\'s name (or the files\' prefix)', async () => {
  const { server } = await startServer();
  const folder = join(workspace, 'glosses');
  mkdirSync(folder);
  const line = (text: string, a: string, b: string): string => JSON.stringify({ text, labels: [a, b] });
  writeFileSync(join(folder, 'train.jsonl'), [line('it barks', 'animal', 'dog'), line('an oak', 'plant', 'tree')].join('\n'));
  writeFileSync(join(folder, 'dev.jsonl'), line('it purrs', 'animal', 'cat'));
  writeFileSync(join(folder, 'test.jsonl'), line('a rose', 'plant', 'flower'));
  const created = await server.createTask({ dataset: 'glosses/test.jsonl' });
  assert.equal(created.task, join(folder, 'glosses.hdlm.json'));
  assert.equal(created.examples, 2, 'the training part\'s examples');
  const task = readTaskFile(created.task);
  assert.deepEqual(task.dataset, { train: join(folder, 'train.jsonl'), dev: join(folder, 'dev.jsonl'), test: join(folder, 'test.jsonl') });
  // Prefixed parts; a lone train.jsonl is just a file.
  writeFileSync(join(folder, 'pets.train.jsonl'), [line('it barks', 'animal', 'dog'), line('it purrs', 'animal', 'cat'), line('an oak', 'plant', 'tree')].join('\n'));
  writeFileSync(join(folder, 'pets.test.jsonl'), line('it purrs', 'animal', 'cat'));
  const pets = await server.createTask({ dataset: 'glosses/pets.train.jsonl' });
  assert.equal(pets.name, 'pets');
  assert.deepEqual(readTaskFile(pets.task).dataset, { train: join(folder, 'pets.train.jsonl'), test: join(folder, 'pets.test.jsonl') });
  const alone = join(workspace, 'alone');
  mkdirSync(alone);
  writeFileSync(join(alone, 'train.jsonl'), [line('it barks', 'animal', 'dog'), line('it purrs', 'animal', 'cat'), line('an oak', 'plant', 'tree')].join('\n'));
  const single = await server.createTask({ dataset: 'alone/train.jsonl' });
  assert.equal(single.name, 'train');
  assert.deepEqual(readTaskFile(single.task).dataset, { train: join(alone, 'train.jsonl') });
  // A part whose paths are of another depth is refused, naming it.
  writeFileSync(join(folder, 'pets.test.jsonl'), JSON.stringify({ text: 'a cat', labels: ['animal', 'mammal', 'cat'] }));
  await assert.rejects(server.createTask({ dataset: 'glosses/pets.train.jsonl' }), /pets\.test\.jsonl: its label paths have 3 levels, but pets\.train\.jsonl's have 2/);
});

test('thought-then-answer lines make a thought-then-answer task: the thought at half the depth', async () => {
  const { server } = await startServer();
  const created = await server.createTask({ dataset: 'data/words.jsonl' });
  assert.equal(created.kind, 'thoughtThenAnswer');
  assert.deepEqual(created.levels, [2, 'last']);
  assert.equal(readTaskFile(created.task).kind, 'thoughtThenAnswer');
});

test('a dataset training would refuse is refused with its file and line, and nothing is written', async () => {
  const { server } = await startServer();
  const dir = join(workspace, 'bad');
  mkdirSync(dir);
  writeFileSync(join(dir, 'cycle.jsonl'), [{ text: 'a', labels: ['x', 'y'] }, { text: 'b', labels: ['z', 'y'] }].map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(join(dir, 'prose.jsonl'), '{"title": "not a dataset"}\n');
  writeFileSync(join(dir, 'deep.jsonl'), `${JSON.stringify({ text: 'a', labels: ['1', '2', '3', '4', '5'] })}\n`);
  const refused = async (dataset: string, message: RegExp): Promise<void> =>
    assert.rejects(server.createTask({ dataset }), (e: unknown) => e instanceof ResponseError && e.code === ErrorCodes.badRequest && message.test(e.message));
  await refused('bad/cycle.jsonl', /cycle\.jsonl: the label paths do not form a tree[\s\S]*cycle\.jsonl:2: label 'y' has parent 'z'/);
  await refused('bad/prose.jsonl', /prose\.jsonl:1: neither a classification line/);
  await refused('bad/deep.jsonl', /the labels have 5 levels, but the model has only 4 layers/);
  await refused('bad/missing.jsonl', /missing\.jsonl: no such file/);
  mkdirSync(join(dir, 'folder.jsonl'));
  await refused('bad/folder.jsonl', /bad\/folder\.jsonl: is a folder, not a dataset; a dataset is a JSON Lines file/);
  rmSync(join(dir, 'folder.jsonl'), { recursive: true });
  await refused('', /which dataset\?/);
  assert.deepEqual(readdirSync(dir).sort(), ['cycle.jsonl', 'deep.jsonl', 'prose.jsonl'], 'no task file and no temporary file');
  const noModel = await startServer({ model: 'nowhere' });
  await assert.rejects(noModel.server.createTask({ dataset: 'data/animals.jsonl' }), /cannot choose the layers: model folder .*nowhere does not exist \(setting hdlm\.model\)/);
});
