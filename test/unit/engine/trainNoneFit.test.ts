// A dataset none of whose training examples fits the model's context, or a level none of them
// reaches a choice at, is refused by training, the layer scan and task creation alike (one
// refusal, contextFit.ts), before any head, record or task file is written; early stopping on a
// small dataset counts epochs of at least MIN_STEPS_PER_EPOCH steps where the task leaves the
// stopping fields to their defaults; a context overflow in classification says how much of it
// the task's fixed prompt takes.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine } from '../../../engine/src/engine';
import { LAYER_SCAN_FILE, scanLayers } from '../../../engine/src/hdlm/layerScan';
import { createTaskFile } from '../../../engine/src/hdlm/taskCreation';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import type { TrainEvent } from '../../../engine/src/hdlm/trainTypes';
import { ContextOverflowError } from '../../../engine/src/model/contextOverflow';
import { MIN_STEPS_PER_EPOCH, stoppingSchedule } from '../../../engine/src/train/stoppingSchedule';
import { REPO_ROOT as root, taskWorkspace } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';

let dir: string;
let engine: Engine;
const LONG_SYSTEM = 'Classify the text from coarse to fine, reading every word of it with great care before you answer.';

/** Ten examples per leaf of a 2×2 taxonomy (`paths`), each text a few words. */
function writeDataset(file: string, paths: readonly (readonly string[])[], perPath = 10): void {
  const lines = paths.flatMap((labels, p) => Array.from({ length: perPath }, (_, i) => JSON.stringify({ id: `e${p}-${i}`, text: `example ${i} of ${labels.join(' ')}`, labels })));
  writeFileSync(file, `${lines.join('\n')}\n`);
}

const PATHS = [['animal', 'bird'], ['animal', 'fish'], ['vehicle', 'boat'], ['vehicle', 'car']];

before(async () => {
  ({ dir, engine } = await taskWorkspace('nonefit'));
  // A model whose context of 24 positions the long system prompt alone nearly fills.
  writeTinyModel(join(dir, 'short'), root, { maxPositions: 24 });
  writeDataset(join(dir, 'topics.train.jsonl'), PATHS);
  writeDataset(join(dir, 'topics.dev.jsonl'), PATHS, 3);
  const task = (name: string, model: string, extra: object = {}) =>
    writeFileSync(join(dir, `${name}.hdlm.json`), JSON.stringify({ name, model, dataset: { train: 'topics.train.jsonl', dev: 'topics.dev.jsonl' }, system: LONG_SYSTEM, levels: [{ layer: 2 }, { layer: 'last' }], ...extra }));
  task('short', 'short', { listCandidates: false });
  task('small', 'model', { system: 'Classify.', train: { patience: 1, batchSize: 8 } });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('training with no example that fits the context is refused, naming the context and what sets it; the heads folder stays as it was', async () => {
  const task = readTaskFile(join(dir, 'short.hdlm.json'));
  mkdirSync(task.headsDir, { recursive: true });
  writeFileSync(join(task.headsDir, 'keep.txt'), 'earlier');
  await assert.rejects(
    trainTask(engine, task, { defaultModelDir: join(dir, 'model'), featureCache: false }),
    /topics\.train\.jsonl: no example fits the model's context of 24 positions \(max_position_embeddings in its config\.json\): 40 too long \(.*topics\.train\.jsonl \(id e0-0\) needs (at least )?\d+.*and 35 more\); nothing was trained, and the heads folder stays as it was/,
  );
  assert.deepEqual(readdirSync(task.headsDir), ['keep.txt'], 'no head, report or resume point written');
  assert.equal(readFileSync(join(task.headsDir, 'keep.txt'), 'utf8'), 'earlier');
});

test('a level none of whose training examples has a choice is refused before any head is trained', async () => {
  // Every training example's level-2 label is its parent's only child there; the choice under 'plant' is in dev only.
  writeDataset(join(dir, 'lone.train.jsonl'), [['animal', 'bird'], ['vehicle', 'boat']]);
  writeDataset(join(dir, 'lone.dev.jsonl'), [['plant', 'tree'], ['plant', 'herb']], 2);
  writeFileSync(join(dir, 'lone.hdlm.json'), JSON.stringify({ name: 'lone', model: 'model', dataset: { train: 'lone.train.jsonl', dev: 'lone.dev.jsonl' }, levels: [{ layer: 2 }, { layer: 'last' }] }));
  const task = readTaskFile(join(dir, 'lone.hdlm.json'));
  await assert.rejects(trainTask(engine, task, { defaultModelDir: join(dir, 'model'), featureCache: false }), /lone\.train\.jsonl: level 2 has no training rows: none of the 20 training examples that fit the context has a choice there.*nothing was trained/);
  assert.equal(existsSync(join(task.headsDir, 'level1.json')), false, 'level 1 was not trained either');
});

test('a layer scan with no example that fits is refused as evaluation refuses, and keeps no record', async () => {
  const task = readTaskFile(join(dir, 'short.hdlm.json'));
  await assert.rejects(
    scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), featureCache: false }),
    /topics\.train\.jsonl: no example fits the model's context of 24 positions \(max_position_embeddings in its config\.json\): 40 too long .*; no layer was scanned, and the kept layer scan stays as it was/,
  );
  assert.equal(existsSync(join(task.headsDir, LAYER_SCAN_FILE)), false);
});

test('a new task for a dataset none of whose examples fits is refused, and no task file is written', async () => {
  const data = join(dir, 'new');
  mkdirSync(data);
  // Long texts: longer than the short model's context with any prompt.
  writeFileSync(join(data, 'long.jsonl'), `${PATHS.map((labels, i) => JSON.stringify({ id: `l${i}`, text: 'word '.repeat(40), labels })).join('\n')}\n`);
  await assert.rejects(createTaskFile(join(data, 'long.jsonl'), { field: 'short', dir: join(dir, 'short'), source: 'test' }), /long\.jsonl: no example fits the model's context of 24 positions \(max_position_embeddings in its config\.json\): 4 too long .*; no task file was written/);
  assert.deepEqual(readdirSync(data), ['long.jsonl']);
});

test('small data: the stopping fields a task leaves to their defaults count epochs of at least MIN_STEPS_PER_EPOCH steps; given ones and large data are kept', async () => {
  const defaults = { epochs: 24, patience: 3, defaulted: ['epochs', 'patience'] as ('epochs' | 'patience')[] };
  // 240 rows at batch 128: 2 steps an epoch, so 25 times the epochs and the patience.
  assert.deepEqual(stoppingSchedule(240, 128, defaults), { epochs: 600, patience: 75, factor: 25 });
  // An epoch of MIN_STEPS_PER_EPOCH steps or more (the shipped heads take 234 or more): unchanged.
  assert.deepEqual(stoppingSchedule(MIN_STEPS_PER_EPOCH * 128, 128, defaults), { epochs: 24, patience: 3, factor: 1 });
  assert.deepEqual(stoppingSchedule(58016, 256, defaults), { epochs: 24, patience: 3, factor: 1 });
  // Numbers the task gives are kept as given.
  assert.deepEqual(stoppingSchedule(240, 128, { epochs: 24, patience: 3 }), { epochs: 24, patience: 3, factor: 1 });
  assert.deepEqual(stoppingSchedule(240, 128, { epochs: 5, patience: 3, defaulted: ['patience'] }), { epochs: 5, patience: 75, factor: 25 });

  // The shipped tasks set both fields: nothing of theirs is scaled, and their settings (their
  // heads' resume keys) are what they were.
  for (const name of ['wordnet', 'thought']) assert.equal(readTaskFile(join(root, 'models', 'hdlm-tiny', 'tasks', `${name}.hdlm.json`)).train.defaulted, undefined, name);
  assert.deepEqual(readTaskFile(join(dir, 'small.hdlm.json')).train.defaulted, ['epochs']);

  // 40 examples at batch 8: 5 steps an epoch, so the default cap of 24 epochs becomes 240; patience 1 is kept.
  const events: TrainEvent[] = [];
  const report = await trainTask(engine, readTaskFile(join(dir, 'small.hdlm.json')), { defaultModelDir: join(dir, 'model'), featureCache: false, onEvent: (e) => events.push(e) });
  assert.ok(
    events.some((e) => e.kind === 'stage' && /^level1: 40 rows make 5 steps an epoch, fewer than 50: at most 240 epochs, patience 1 \(what the task leaves to the defaults, epochs, ×10\)$/.test(e.message)),
    events.filter((e) => e.kind === 'stage').map((e) => (e as { message: string }).message).join('\n'),
  );
  for (const head of report.heads.filter((h) => !h.copyOf)) assert.equal(head.epochs.length - head.bestEpoch, 1, `${head.name} stopped after its one given epoch of patience`);
});

test('a context overflow in classification says what the task\'s fixed prompt takes apart from the input', () => {
  const config = { maxPositions: 64, maxPositionsFrom: 'n_positions' };
  const fixed = { positions: 49, what: 'the system prompt and turn markers', shorten: 'the task\'s "system" prompt' };
  assert.equal(
    new ContextOverflowError(73, config, { ...fixed, input: 11 }).message,
    'the input needs 73 positions but the model\'s context is 64 (n_positions): 49 of them the task\'s fixed prompt (the system prompt and turn markers), 11 the input with its turn markers, 13 the labels after it; the task alone leaves 2 positions for the input: shorten the task\'s "system" prompt',
  );
  assert.match(new ContextOverflowError(90, config, { ...fixed, positions: 10, input: 70 }).message, /: 10 of them the task's fixed prompt .*; shorten the input$/);
  assert.match(new ContextOverflowError(80, config, { ...fixed, positions: 80 }).message, /^the task's fixed prompt \(the system prompt and turn markers\) alone needs 80 positions but the model's context is 64 \(n_positions\); shorten the task's "system" prompt$/);
  assert.equal(new ContextOverflowError(70, config).message, 'the input needs 70 positions but the model\'s context is 64 (n_positions); shorten it');
});
