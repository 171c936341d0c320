// Thought-then-answer tasks end to end on a small random model: training on the fixture saves the
// thought head at its layer and the answer and flat heads at the last layer, a rerun skips the
// finished heads, evaluation measures both variants, a task whose answer is not at the last layer
// is refused with the field named, and after overfitting 8 examples the HdLM variant reproduces
// their thoughts and answers (with the saved thought head giving the trainer's dev loss).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../engine/src/engine';
import { readGuidedDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { evaluateThoughtTask } from '../../../engine/src/hdlm/evaluateThought';
import { extractSpanFeatures } from '../../../engine/src/hdlm/features';
import { readManifest } from '../../../engine/src/hdlm/headStore';
import { sequenceFormat, systemPrefix, thoughtThenAnswerSequence } from '../../../engine/src/hdlm/sequenceFormat';
import { readTaskFile, TaskFileError, type TaskDefinition } from '../../../engine/src/hdlm/taskFile';
import { openTask } from '../../../engine/src/hdlm/taskSession';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import type { HeadReport, TrainEvent } from '../../../engine/src/hdlm/trainTypes';
import { answerPrompt, thoughtPrompt } from '../../../engine/src/hdlm/thoughtThenAnswer';
import { savedHeadLossGap } from '../../support/headLoss';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const fixture = join(root, 'data', 'fixtures', 'thought.sample.jsonl');
let dir: string;
let modelDir: string;
let engine: Engine;

function writeTask(name: string, body: Record<string, unknown>): string {
  const file = join(dir, `${name}.hdlm.json`);
  writeFileSync(file, JSON.stringify({ name, kind: 'thoughtThenAnswer', model: 'model', ...body }));
  return file;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-thought-'));
  process.env['XDG_CACHE_HOME'] = join(dir, 'cache');
  modelDir = join(dir, 'model');
  writeTinyModel(modelDir, root);
  engine = await Engine.create({ providers: ['cpu'], threads: 1 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('a thoughtThenAnswer task whose answer is not at the last layer is refused, the field named', () => {
  assert.throws(() => readTaskFile(writeTask('bad', { dataset: fixture, levels: [{ layer: 2 }, { layer: 3 }] })), (err: unknown) => err instanceof TaskFileError && /levels\[1\]\.layer must be "last"/.test(err.message));
  assert.throws(() => readTaskFile(writeTask('bad3', { dataset: fixture, levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }] })), (err: unknown) => err instanceof TaskFileError && /levels must be \[/.test(err.message));
  assert.equal(readTaskFile(writeTask('good', { dataset: fixture, levels: [{ layer: 2 }, { layer: 'last' }] })).kind, 'thoughtThenAnswer');
  // A classification-only training setting is named, not silently ignored.
  assert.throws(() => readTaskFile(writeTask('lastHead', { dataset: fixture, levels: [{ layer: 2 }, { layer: 'last' }], train: { lastLevelHead: 'ownLevel' } })), (err: unknown) => err instanceof TaskFileError && /train\.lastLevelHead applies to classify tasks only/.test(err.message));
});

test('training a thought task saves thought, answer and flat heads at their layers; a rerun skips them; evaluation measures both variants', async () => {
  const task = readTaskFile(writeTask('fx', { dataset: { train: fixture, test: fixture }, levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 2, batchSize: 64, maxExamples: 60, devFraction: 0.2, patience: 5 } }));
  const events: TrainEvent[] = [];
  const report = await trainTask(engine, task, { defaultModelDir: modelDir, onEvent: (e) => events.push(e) });
  assert.deepEqual(report.heads.map((h) => h.name), ['thought', 'answer', 'flat']);
  assert.deepEqual(report.heads.map((h) => h.layer), [2, 4, 4]);
  assert.ok(report.heads.every((h) => h.epochs.length === 2 && h.bestDevAccuracy >= 0 && h.trainRows > 0));
  assert.ok(events.some((e) => e.kind === 'features') && events.some((e) => e.kind === 'saved' && e.head === 'thought'));
  for (const [name, layer] of [['thought', 2], ['answer', 4], ['flat', 4]] as const) {
    const m = readManifest(task.headsDir, name);
    assert.equal(m.layer, layer, name);
    assert.equal(m.taxonomy, undefined, `${name} carries no taxonomy`);
    assert.ok(m.vocabSubset!.length > 1 && m.vocabSubset!.length < 4096, `${name}: a vocabulary subset`);
  }
  // The flat head learns the same answer tokens, from sequences without the thought.
  assert.equal(report.heads[1]!.trainRows, report.heads[2]!.trainRows);
  assert.ok(existsSync(join(task.headsDir, 'train-report.json')));

  const again: TrainEvent[] = [];
  await trainTask(engine, task, { defaultModelDir: modelDir, onEvent: (e) => again.push(e) });
  for (const name of ['thought', 'answer', 'flat']) assert.ok(again.some((e) => e.kind === 'stage' && e.message.startsWith(`${name}: already trained`)), name);
  assert.ok(!again.some((e) => e.kind === 'epoch'));

  const { record: result } = await evaluateThoughtTask(engine, task, { defaultModelDir: modelDir, maxExamples: 4, maxTokens: 8 });
  assert.equal(result.kind, 'thoughtThenAnswer');
  assert.equal(result.examples, 4);
  assert.deepEqual(result.variants.map((v) => v.name), ['hdlm', 'flat']);
  assert.deepEqual(result.variants.map((v) => v.layers), [[2, 4], [4]]);
  const [hdlm, flat] = result.variants;
  assert.ok(hdlm!.trainedHeads && flat!.trainedHeads);
  assert.ok(hdlm!.thoughtAccuracy! >= 0 && hdlm!.thoughtAccuracy! <= 1 && flat!.thoughtAccuracy === undefined);
  assert.ok(result.variants.every((v) => v.answerAccuracy >= 0 && v.answerAccuracy <= 1 && v.msPerExample > 0 && v.layerPositionsPerExample > 0));

  const session = await openTask(engine, task, modelDir);
  try {
    assert.ok(session.thoughtHead && session.answerHead, 'the session loads the trained heads');
    assert.deepEqual(session.layers, [2, 4]);
    assert.throws(() => session.classifier, /does not classify/);
  } finally {
    await session.release();
  }
});

test('after overfitting 8 examples the HdLM variant reproduces their thoughts and answers', async () => {
  const file = join(dir, 'eight.jsonl');
  const rows = [
    ['a dog that barks at night', 'animal', 'dog'], ['a small bird with a short tail', 'animal', 'bird'],
    ['a cat that purrs on the mat', 'animal', 'cat'], ['a striped horse that runs', 'animal', 'zebra'],
    ['an oak with wide branches', 'plant', 'tree'], ['green stuff on a lawn', 'plant', 'grass'],
    ['a rose with red petals', 'plant', 'flower'], ['a tulip in the spring garden', 'plant', 'tulip'],
  ];
  writeFileSync(file, rows.map(([input, thought, answer]) => JSON.stringify({ input, thought, answer })).join('\n'));
  const task = readTaskFile(writeTask('eight', { dataset: { train: file, dev: file, test: file }, levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 40, patience: 40, batchSize: 8, learningRate: 0.05, weightDecay: 0 } }));
  const report = await trainTask(engine, task, { defaultModelDir: modelDir });
  assert.ok(report.heads.every((h) => h.bestDevAccuracy > 0.9), report.heads.map((h) => `${h.name} ${h.bestDevAccuracy}`).join(', '));
  const gap = await devLossGap(task, report.heads[0]!);
  assert.ok(gap < 1e-3, `inference dev loss of the thought head differs from training's by ${gap}`);
  const { record: result, predictions } = await evaluateThoughtTask(engine, task, { defaultModelDir: modelDir, maxTokens: 8, keepPredictions: true });
  const hdlm = result.variants[0]!;
  assert.ok(hdlm.thoughtAccuracy! >= 0.875, `thought accuracy ${hdlm.thoughtAccuracy} (${JSON.stringify(result.samples)})`);
  assert.ok(hdlm.answerAccuracy >= 0.875, `answer accuracy ${hdlm.answerAccuracy} (${JSON.stringify(result.samples)})`);
  // Dev and test are the same 8 examples: teacher-forced after the gold thought (answer head) and
  // with none (flat head), the evaluation's likelihoods are the dev losses training recorded.
  const devLoss = (name: string): number => {
    const h = report.heads.find((x) => x.name === name)!;
    return h.epochs[h.bestEpoch - 1]!.devLoss;
  };
  const flat = result.variants[1]!;
  assert.ok(Math.abs(hdlm.answerNllGoldThought! - devLoss('answer')) < 1e-3, `gold-thought NLL ${hdlm.answerNllGoldThought} vs the answer head's dev loss ${devLoss('answer')}`);
  assert.equal(result.likelihoodExamples, 8, 'every answer is made of tokens the heads were trained on');
  assert.ok(Math.abs(flat.answerNll! - devLoss('flat')) < 1e-3, `flat NLL ${flat.answerNll} vs the flat head's dev loss ${devLoss('flat')}`);
  assert.equal(flat.answerNllGoldThought, undefined);
  // HdLM's own thoughts are the gold ones here (accuracy ≥ 7/8), so its NLL is close to the gold-thought one.
  assert.ok(Number.isFinite(hdlm.answerNll) && hdlm.answerNll! > 0, String(hdlm.answerNll));
  // The paired comparison is HdLM minus flat on the same 8 examples, in the variants' own figures.
  const c = result.comparison!;
  assert.ok(Math.abs(c.answer.difference - (hdlm.answerAccuracy - flat.answerAccuracy)) < 1e-12);
  assert.ok(Math.abs(c.answerNll!.difference - (hdlm.answerNll! - flat.answerNll!)) < 1e-9, JSON.stringify(c));
  assert.ok(Math.abs(c.answerNllGoldThought!.difference - (hdlm.answerNllGoldThought! - flat.answerNll!)) < 1e-9, JSON.stringify(c));
  assert.equal(c.answerNll!.examples, 8);
  assert.ok(c.answerNll!.ci95[0] <= c.answerNll!.difference && c.answerNll!.difference <= c.answerNll!.ci95[1]);
  // Per example (what --predictions writes): the rows pool to the record's figures.
  assert.equal(predictions!.length, 8);
  assert.equal(predictions!.filter((p) => p.hdlm.thoughtRight).length / 8, hdlm.thoughtAccuracy);
  assert.ok(predictions!.every((p) => p.hdlm.thoughtProbability > 0 && p.hdlm.thoughtProbability <= 1));
  assert.equal(predictions!.filter((p) => p.flat.answerRight).length / 8, flat.answerAccuracy);
  const pooled = (pick: (n: NonNullable<(typeof predictions)>[number]['answerNll'] & object) => number): number => {
    const rows = predictions!.map((p) => p.answerNll!);
    return rows.reduce((s, n) => s + pick(n) * n.tokens, 0) / rows.reduce((s, n) => s + n.tokens, 0);
  };
  assert.ok(Math.abs(pooled((n) => n.hdlm) - hdlm.answerNll!) < 1e-9);
  assert.ok(Math.abs(pooled((n) => n.gold) - hdlm.answerNllGoldThought!) < 1e-9);
  assert.ok(Math.abs(pooled((n) => n.flat) - flat.answerNll!) < 1e-9);
  assert.deepEqual(predictions!.map((p) => p.id), readGuidedDataset(task.dataset.test!).records.map((r) => r.id), 'file order, with the ids');
  // Apart by whether the thought was right: the right side holds exactly the right thoughts.
  const rightCount = predictions!.filter((p) => p.hdlm.thoughtRight).length;
  assert.equal(c.answerNllByThought!.right!.examples, rightCount);
  assert.equal(c.answerNllByThought!.wrong?.examples ?? (8 - rightCount < 2 ? 8 - rightCount : -1), 8 - rightCount);
});

/** The saved thought head, run as generation runs it, on the dev features: see savedHeadLossGap. */
async function devLossGap(task: TaskDefinition, head: HeadReport): Promise<number> {
  const session = await openTask(engine, task, modelDir);
  try {
    const format = sequenceFormat(session.loaded.requireTokenizer());
    const sequences = readGuidedDataset(task.dataset.dev!).records.map((r) => thoughtThenAnswerSequence(format, r.input, r.thought, r.answer));
    const [features] = await extractSpanFeatures(session.loaded.model, systemPrefix(format, task.system), sequences, { reads: [{ level: 1, layer: 2 }], batchSize: 8 });
    return await savedHeadLossGap(task.headsDir, head, session.loaded.checkpoint, features!);
  } finally {
    await session.release();
  }
}

test('training sequences are the tokens thought-then-answer decodes: the prompt, then the thought and answer spans', async () => {
  const loaded = await engine.loadModel(modelDir, { cuts: [2] });
  try {
    const tokenizer = loaded.requireTokenizer();
    const format = sequenceFormat(tokenizer);
    const seq = thoughtThenAnswerSequence(format, 'a dog that barks', 'animal', 'dog');
    const full = [...systemPrefix(format, 'Think.'), ...seq.ids];
    const prompt = thoughtPrompt(tokenizer, 'Think.', 'a dog that barks');
    const offset = systemPrefix(format, 'Think.').length;
    assert.deepEqual(full.slice(0, prompt.length), prompt, 'inference starts from the training prefix');
    assert.equal(seq.spans[0]![0]! + offset, prompt.length, 'the thought span starts right after the prompt');
    const end = format.close();
    assert.deepEqual(seq.spans[0]!.map((i) => seq.ids[i]), [...format.content('animal'), ...end]);
    assert.deepEqual(seq.spans[1]!.map((i) => seq.ids[i]), [...format.content('dog'), ...end]);
    const answerAt = seq.spans[1]![0]! + offset;
    assert.deepEqual(full.slice(0, answerAt), [...prompt, ...format.content('animal'), ...end, ...format.open('assistant')]);
    const flat = thoughtThenAnswerSequence(format, 'a dog that barks', undefined, 'dog');
    assert.deepEqual(flat.spans[0], []);
    assert.deepEqual([...systemPrefix(format, 'Think.'), ...flat.ids.slice(0, flat.spans[1]![0])], answerPrompt(tokenizer, 'Think.', 'a dog that barks'));
  } finally {
    await loaded.release();
  }
});

test('the shipped thought task file parses: thought at layer 4, answer at the last layer', () => {
  const task = readTaskFile(join(root, 'models', 'hdlm-tiny', 'tasks', 'thought.hdlm.json'));
  assert.equal(task.kind, 'thoughtThenAnswer');
  assert.deepEqual(task.levels, [4, 'last']);
  assert.ok(task.headsDir.endsWith(join('models', 'hdlm-tiny', 'heads', 'thought')));
  assert.ok(readFileSync(task.path, 'utf8').includes('out/data/thought/train.jsonl'));
});
