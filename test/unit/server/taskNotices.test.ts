// What a task asks for that its heads cannot do yet, as a session (openTask) and the task panel
// (summarizeTask) tell it. A level whose layer was edited after its head was trained stays at the
// head's layer until a fine-tuning. A task that exits when sure, before its exit heads
// are trained, a notice says that each level is decided at its own layer; once trained, they are
// listed with the level heads and the notice is gone; its evaluation record keeps the threshold,
// the exit layers, the share decided at each and the accuracy there, so the panel can show them
// after a restart; each example's prediction (and Show Mistakes' line) names its deciding layers.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine } from '../../../engine/src/index';
import { evaluateTask, evaluationRecord, saveEvaluationRecord } from '../../../engine/src/hdlm/evaluateTask';
import type { ExamplePrediction } from '../../../engine/src/hdlm/evaluationPredictions';
import { readMistakes } from '../../../engine/src/hdlm/evaluationMistakes';
import { mistakeLines } from '../../../engine/src/hdlm/mistakeLines';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { openTask } from '../../../engine/src/hdlm/taskSession';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import { summarizeTask } from '../../../server/src/taskSummary';
import { taskWorkspace, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';

let dir: string;
let engine: Engine;

before(async () => {
  ({ dir, engine } = await taskWorkspace('exit-summary'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the summary of a task that exits when sure names its untrained exit heads, then lists them and keeps its evaluation\'s exits', async () => {
  const file = join(dir, 'wn.hdlm.json');
  const train = { epochs: 2, batchSize: 32, maxExamples: 60, devFraction: 0.2, patience: 2 };
  // The default model is the tiny one: the summary reads its config to name the exit heads.
  const levels = [{ layer: 2 }, { layer: 3 }, { layer: 'last' }];
  writeFileSync(file, JSON.stringify({ name: 'wn', model: 'default', dataset: { train: fixture, test: fixture }, levels, train, exitWhenSure: { threshold: 0.6, layers: [2, 'last'] } }));
  const modelDir = join(dir, 'model');

  // Untrained: the notice names every head the exits need (level 2's own head, at layer 3, is
  // not one of them: layer 3 is no exit); without the model nothing is claimed.
  const fresh = summarizeTask(file, () => undefined, modelDir);
  assert.deepEqual(fresh.heads, []);
  assert.equal(fresh.notices?.length, 1);
  assert.match(fresh.notices![0]!, /^task wn: exitWhenSure is not used until the task is fine-tuned again \(no head level1, flat, level2-at2, level3-at2, level3 in .*\); each level is decided at its own layer$/);
  assert.deepEqual(summarizeTask(file, () => undefined, join(dir, 'no-such-model')).notices, []);

  // Trained: level 1 at layer 2 and level 3 at the last layer are their own heads, flat serves
  // every level at the last layer, and levels 2 and 3 get heads at layer 2.
  const task = readTaskFile(file);
  await trainTask(engine, task, { defaultModelDir: modelDir });
  const trained = summarizeTask(file, () => undefined, modelDir);
  assert.deepEqual(trained.heads.map((h) => [h.name, h.layer]), [['level1', 2], ['level2', 3], ['level3', 4], ['flat', 4], ['level2-at2', 2], ['level3-at2', 2]]);
  assert.deepEqual(trained.notices, []);

  // The evaluation record keeps the exits; each level's shares add up to every example.
  const result = await evaluateTask(engine, task, { defaultModelDir: modelDir, maxExamples: 12, keepPredictions: true });
  const record = evaluationRecord(result);
  const exiting = record.variants[0]!.exitWhenSure;
  assert.ok(exiting, JSON.stringify(record.variants[0]));
  assert.equal(exiting.threshold, 0.6);
  assert.deepEqual(exiting.layers, [2, 4]);
  assert.equal(exiting.decidedAt.length, 3);
  for (const row of exiting.decidedAt) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9, JSON.stringify(exiting.decidedAt));
  // Each level's accuracy is its exits' accuracies weighted by their shares; an exit that
  // decided nothing has none.
  for (const [d, level] of record.variants[0]!.levels.entries()) {
    const right = exiting.accuracyAt![d]!;
    assert.ok(right.every((a, at) => (a === null) === (exiting.decidedAt[d]![at] === 0)), JSON.stringify(exiting));
    const weighted = exiting.decidedAt[d]!.reduce((sum, share, at) => sum + share * (right[at] ?? 0), 0);
    assert.ok(Math.abs(weighted - level.accuracy) < 1e-9, `level ${d + 1}: ${weighted} vs ${level.accuracy}`);
  }
  assert.equal(record.variants[1]!.exitWhenSure, undefined, 'the flat baseline does not exit early');
  saveEvaluationRecord(task.headsDir, record, result.predictions ?? []);
  assert.deepEqual(summarizeTask(file, () => undefined, modelDir).evaluation?.variants[0]!.exitWhenSure, exiting);
  // Each example's prediction names the layer that decided each level, and Show Mistakes' lines
  // carry it; the flat baseline's fixed layers are not repeated per example.
  const predictions = (result.predictions ?? []) as ExamplePrediction[];
  assert.equal(predictions.length, 12);
  assert.ok(predictions.every((p) => p.hdlm.layers?.length === 3 && p.hdlm.layers.every((l) => l === 2 || l === 4) && p.flat.layers === undefined), JSON.stringify(predictions[0]));
  const shares = exiting.decidedAt.map((_, d) => exiting.layers.map((layer) => predictions.filter((p) => p.hdlm.layers![d] === layer).length / 12));
  assert.deepEqual(shares, exiting.decidedAt);
  const lines = mistakeLines(readMistakes(task)) as { id: string; hdlmLayers?: number[] }[];
  assert.ok(lines.length > 0, 'a random model makes mistakes');
  assert.ok(lines.every((l) => JSON.stringify(l.hdlmLayers) === JSON.stringify(predictions.find((p) => p.id === l.id)!.hdlm.layers)), JSON.stringify(lines[0]));
  // A record whose shares do not fit its levels and exits (edited by hand, or damaged) is left
  // out and named, never shown half-read.
  const evaluationFile = join(task.headsDir, 'evaluation.json');
  const kept = readFileSync(evaluationFile, 'utf8');
  const damaged = { ...record, variants: [{ ...record.variants[0]!, exitWhenSure: { ...exiting, decidedAt: exiting.decidedAt.slice(1) } }, record.variants[1]!] };
  writeFileSync(evaluationFile, JSON.stringify(damaged));
  const logged: string[] = [];
  assert.equal(summarizeTask(file, (m) => logged.push(m), modelDir).evaluation, undefined);
  assert.deepEqual(logged, [`${evaluationFile}: not an evaluation record this version can read: field "variants[0].exitWhenSure" must hold a share per level and exit layer, got ${JSON.stringify(damaged.variants[0]!.exitWhenSure).slice(0, 60)}; evaluate the task again`]);
  writeFileSync(evaluationFile, kept);

  // One exit head gone: the notice names it alone, and the others are still listed.
  unlinkSync(join(task.headsDir, 'level3-at2.json'));
  const partial = summarizeTask(file, () => undefined, modelDir);
  assert.deepEqual(partial.heads.map((h) => h.name), ['level1', 'level2', 'level3', 'flat', 'level2-at2']);
  assert.match(partial.notices?.[0] ?? '', /\(no head level3-at2 in /);
});

test('a level edited to another layer than its head learned at stays at the head\'s layer until a fine-tuning, and says so', async () => {
  const file = join(dir, 'moved.hdlm.json');
  const train = { epochs: 1, batchSize: 32, maxExamples: 40, devFraction: 0.2, patience: 1 };
  const task = (levels: unknown[]): void => writeFileSync(file, JSON.stringify({ name: 'moved', model: 'model', dataset: { train: fixture }, levels, train }));
  task([{ layer: 2 }, { layer: 3 }, { layer: 'last' }]);
  await trainTask(engine, readTaskFile(file), { defaultModelDir: join(dir, 'model') });
  // Level 1 moved to layer 1 (the panel's layer picker writes the file so): not retrained yet.
  task([{ layer: 1 }, { layer: 3 }, { layer: 'last' }]);
  const notice = 'task moved: level 1 says layer 1, but its head was trained at layer 2; it is decided at layer 2 until the task is fine-tuned again';
  const notes: string[] = [];
  const session = await openTask(engine, readTaskFile(file), join(dir, 'model'), (m) => notes.push(m));
  try {
    assert.deepEqual(session.layers, [2, 3, 4]);
    assert.deepEqual(session.notices, [notice]);
    assert.ok(notes.includes(notice));
    const result = await session.classifier.classify('a domesticated animal kept for company');
    assert.deepEqual(result.path.map((d) => d.layer), [2, 3, 4], 'each level where its head learned');
  } finally {
    await session.release();
  }
  assert.deepEqual(summarizeTask(file, () => undefined, join(dir, 'model')).notices, [notice]);
  // Fine-tuned again: level 1's head learns at layer 1, and nothing is left to tell.
  await trainTask(engine, readTaskFile(file), { defaultModelDir: join(dir, 'model') });
  const again = await openTask(engine, readTaskFile(file), join(dir, 'model'));
  try {
    assert.deepEqual(again.layers, [1, 3, 4]);
    assert.deepEqual(again.notices, []);
  } finally {
    await again.release();
  }
  assert.deepEqual(summarizeTask(file, () => undefined, join(dir, 'model')).notices, []);
  // A task that exits when sure, all its heads trained, with a level then moved: its exit heads
  // were trained around the old layer, so it does not exit early until it is fine-tuned again.
  const exitWhenSure = { threshold: 0.5, layers: [2, 'last'] };
  writeFileSync(file, JSON.stringify({ name: 'moved', model: 'model', dataset: { train: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train, exitWhenSure }));
  await trainTask(engine, readTaskFile(file), { defaultModelDir: join(dir, 'model') });
  writeFileSync(file, JSON.stringify({ name: 'moved', model: 'model', dataset: { train: fixture }, levels: [{ layer: 1 }, { layer: 3 }, { layer: 'last' }], train, exitWhenSure }));
  const expected = [
    'task moved: level 1 says layer 1, but its head was trained at layer 2; it is decided at layer 2 until the task is fine-tuned again',
    'task moved: exitWhenSure is not used until the task is fine-tuned again (level 1 moved since its head was trained); each level is decided at its own layer',
  ];
  const exiting = await openTask(engine, readTaskFile(file), join(dir, 'model'));
  try {
    assert.deepEqual(exiting.notices, expected);
    assert.equal(exiting.classifier.task.exitWhenSure, undefined);
    assert.deepEqual(exiting.layers, [2, 3, 4]);
  } finally {
    await exiting.release();
  }
  assert.deepEqual(summarizeTask(file, () => undefined, join(dir, 'model')).notices, expected);
});
