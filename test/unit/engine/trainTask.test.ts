// Training a task end to end on a small random model and the WordNet fixture: heads and the flat
// baseline are trained and saved, an interrupted run resumes where it stopped (finished heads are
// skipped, the interrupted one continues from its last epoch), and evaluation compares both.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempPath } from '../../../engine/src/atomicFile';
import type { Engine } from '../../../engine/src/engine';
import { evaluateTask, evaluationRecord } from '../../../engine/src/hdlm/evaluateTask';
import type { HeadManifest } from '../../../engine/src/hdlm/headStore';
import { readTaskFile, type TaskDefinition } from '../../../engine/src/hdlm/taskFile';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { openTask } from '../../../engine/src/hdlm/taskSession';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import { readTrainingData } from '../../../engine/src/hdlm/trainingData';
import type { HeadReport, TrainEvent } from '../../../engine/src/hdlm/trainTypes';
import { CancelledError } from '../../../engine/src/model/segmentedModel';
import { REPO_ROOT as root, taskWorkspace, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';

let dir: string;
let engine: Engine;

before(async () => {
  ({ dir, engine } = await taskWorkspace('train'));
  writeFileSync(
    join(dir, 'wn.hdlm.json'),
    JSON.stringify({ name: 'wn', model: 'model', dataset: { train: fixture, test: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train: { epochs: 2, batchSize: 64, maxExamples: 80, devFraction: 0.2, patience: 5 } }),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('an interrupted training run resumes: finished heads are skipped, the cut one continues', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const controller = new AbortController();
  const seen: TrainEvent[] = [];
  await assert.rejects(
    trainTask(engine, task, {
      defaultModelDir: join(dir, 'model'),
      signal: controller.signal,
      onEvent: (e) => {
        seen.push(e);
        if (e.kind === 'epoch' && e.head === 'level2' && e.epoch === 1) controller.abort();
      },
    }),
    CancelledError,
  );
  assert.ok(existsSync(join(task.headsDir, 'level1.json')), 'level 1 was saved before the cut');
  assert.ok(existsSync(join(task.headsDir, '.level2.resume.safetensors')), 'level 2 left a resume point');
  assert.ok(seen.some((e) => e.kind === 'features'));

  const events: TrainEvent[] = [];
  const report = await trainTask(engine, task, { defaultModelDir: join(dir, 'model'), onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.kind === 'stage' && /level1: already trained/.test(e.message)));
  // Said to the progress scale too, before the next head's progress: level 1's part is done at once.
  const skippedAt = events.findIndex((e) => e.kind === 'headSkipped');
  assert.deepEqual(events[skippedAt], { kind: 'headSkipped', head: 'level1', reason: 'alreadyTrained' });
  assert.ok(skippedAt < events.findIndex((e) => e.kind === 'progress'), 'before level 2 goes on');
  assert.ok(events.some((e) => e.kind === 'stage' && /hidden states read from the feature cache/.test(e.message)), 'the second run skips the backbone');
  const level2Epochs = events.filter((e) => e.kind === 'epoch' && e.head === 'level2').map((e) => (e as { epoch: number }).epoch);
  assert.deepEqual(level2Epochs, [2], 'level 2 continues with its second epoch');
  assert.deepEqual(report.heads.map((h) => h.name), ['level1', 'level2', 'level3', 'flat']);
  assert.deepEqual(report.heads.map((h) => h.layer), [2, 3, 4, 4]);
  assert.ok(report.heads.every((h) => h.epochs.length === 2 && h.bestDevAccuracy >= 0));
  assert.ok(report.heads[3]!.trainRows > report.heads[0]!.trainRows, 'the flat head learns every level\'s tokens');
  assert.ok(existsSync(join(task.headsDir, 'train-report.json')));
  assert.deepEqual(report.reused, ['level1']);

  // A third run finds every head done: nothing is retrained and nothing in the folder is rewritten.
  const before = readFileSync(join(task.headsDir, 'train-report.json'));
  const third: TrainEvent[] = [];
  const again = await trainTask(engine, task, { defaultModelDir: join(dir, 'model'), onEvent: (e) => third.push(e) });
  assert.deepEqual(again.reused, ['level1', 'level2', 'level3', 'flat']);
  assert.deepEqual(third.flatMap((e) => (e.kind === 'headSkipped' ? [e.head] : [])), ['level1', 'level2', 'level3', 'flat'], 'every head skipped, said as such');
  assert.deepEqual(readFileSync(join(task.headsDir, 'train-report.json')), before, 'the earlier report stays as it was');
  assert.deepEqual(again.seconds, report.seconds, 'the timings returned are the earlier run\'s');
});

test('each level\'s rows are taken once, and heads trained from the feature cache equal heads trained without it', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  // The first test trained this task through the cache; train it again into fresh folders.
  const cached = { ...task, headsDir: join(dir, 'heads-cached') };
  const fresh = { ...task, headsDir: join(dir, 'heads-fresh') };
  const events: TrainEvent[] = [];
  const report = await trainTask(engine, cached, { defaultModelDir: join(dir, 'model'), onEvent: (e) => events.push(e) });
  assert.ok(events.some((e) => e.kind === 'stage' && /read from the feature cache/.test(e.message)));
  await trainTask(engine, fresh, { defaultModelDir: join(dir, 'model'), featureCache: false });
  const weights = (headsDir: string, name: string): Buffer => {
    const manifest = JSON.parse(readFileSync(join(headsDir, `${name}.json`), 'utf8')) as { weightsFile: string };
    return readFileSync(join(headsDir, manifest.weightsFile));
  };
  for (const name of ['level1', 'level2', 'level3', 'flat']) {
    assert.ok(weights(cached.headsDir, name).equals(weights(fresh.headsDir, name)), `${name} differs`);
  }
  // Each head's rows are its levels' choice tokens of the training examples, once each (the
  // level-3 read at the last layer is also the flat head's: listed twice, it was counted twice).
  // The last level's head learns from every level's rows at the last layer, as flat's does.
  const session = await openTask(engine, task, join(dir, 'model'));
  try {
    const { train } = readTrainingData(task, readHierarchicalDataset, () => undefined);
    const tokens = (level: number): number => train.reduce((a, r) => a + session.classifier.layout.teacherForced(r.text, r.labels).choiceSpans[level - 1]!.length, 0);
    const [level1, level2, level3, flat] = report.heads;
    const all = tokens(1) + tokens(2) + tokens(3);
    assert.deepEqual([level1!.trainRows, level2!.trainRows, level3!.trainRows, flat!.trainRows], [tokens(1), tokens(2), all, all]);
  } finally {
    await session.release();
  }
});

test('a rerun after the dataset was edited trains again instead of keeping the heads of the old data', async () => {
  const data = join(dir, 'edited.jsonl');
  const lines = readFileSync(fixture, 'utf8').split('\n').filter((l) => l.trim());
  writeFileSync(data, `${lines.join('\n')}\n`);
  const task = { ...readTaskFile(join(dir, 'wn.hdlm.json')), dataset: { train: data }, headsDir: join(dir, 'heads-edited') };
  task.train = { ...task.train, epochs: 1 };
  await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  const same = await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  assert.deepEqual(same.reused, ['level1', 'level2', 'level3', 'flat'], 'unchanged data: nothing retrained');
  // The same settings, other texts: every head's rows change, so every head trains again.
  writeFileSync(data, `${lines.map((l) => { const r = JSON.parse(l) as { text: string }; return JSON.stringify({ ...r, text: `${r.text} (edited)` }); }).join('\n')}\n`);
  const events: TrainEvent[] = [];
  const edited = await trainTask(engine, task, { defaultModelDir: join(dir, 'model'), onEvent: (e) => events.push(e) });
  assert.equal(edited.reused, undefined);
  // The last level's head and flat's learn from the same rows at the last layer: flat's is a copy, not trained twice.
  assert.deepEqual([...new Set(events.filter((e) => e.kind === 'epoch').map((e) => (e as { head: string }).head))], ['level1', 'level2', 'level3']);
  assert.ok(events.some((e) => e.kind === 'saved' && e.head === 'flat'));
  assert.ok(events.some((e) => e.kind === 'headSkipped' && e.head === 'flat' && e.reason === 'copied'), 'a copy needs no training: its part of the scale is done at once');
  assert.equal(edited.heads[3]!.copyOf, 'level3');
  const weights = (name: string): Buffer => readFileSync(join(task.headsDir, (JSON.parse(readFileSync(join(task.headsDir, `${name}.json`), 'utf8')) as { weightsFile: string }).weightsFile));
  assert.ok(weights('flat').equals(weights('level3')), 'flat holds level 3\'s weights');
  const flat = JSON.parse(readFileSync(join(task.headsDir, 'flat.json'), 'utf8')) as { name: string; training: { name: string; copyOf: string } };
  assert.deepEqual([flat.name, flat.training.name, flat.training.copyOf], ['flat', 'flat', 'level3']);

  // A head deleted by hand is not "already trained": it trains (or is copied) again; the rest is kept.
  for (const name of ['level1', 'flat']) rmSync(join(task.headsDir, `${name}.json`));
  const redone: TrainEvent[] = [];
  const again = await trainTask(engine, task, { defaultModelDir: join(dir, 'model'), onEvent: (e) => redone.push(e) });
  assert.deepEqual(again.reused, ['level2', 'level3']);
  assert.deepEqual([...new Set(redone.filter((e) => e.kind === 'epoch').map((e) => (e as { head: string }).head))], ['level1']);
  assert.ok(weights('flat').equals(weights('level3')) && existsSync(join(task.headsDir, 'level1.json')));
});

test('a rerun after a deeper label was renamed keeps the skipped heads but stores the new taxonomy in every head', async () => {
  const data = join(dir, 'relabelled.jsonl');
  const lines = readFileSync(fixture, 'utf8').split('\n').filter((l) => l.trim());
  writeFileSync(data, `${lines.join('\n')}\n`);
  const task = { ...readTaskFile(join(dir, 'wn.hdlm.json')), dataset: { train: data }, headsDir: join(dir, 'heads-relabelled') };
  task.train = { ...task.train, epochs: 1 };
  await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  const same = await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  const manifest = (name: string): string => readFileSync(join(task.headsDir, `${name}.json`), 'utf8');
  const untouched = manifest('level1');
  assert.deepEqual(same.reused, ['level1', 'level2', 'level3', 'flat']);
  assert.equal(manifest('level1'), untouched, 'an unchanged taxonomy rewrites nothing');
  // Level 1's and 2's rows come before any level-3 label: renaming one leaves them as they were
  // (to a label of as many tokens, so that the backbone's runs, sorted by length, keep their order).
  writeFileSync(data, `${lines.join('\n').replaceAll('"diversion"', '"sport"')}\n`);
  const relabelled = await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  assert.deepEqual(relabelled.reused, ['level1', 'level2']);
  const taxonomies = ['level1', 'level2', 'level3', 'flat'].map((name) => JSON.stringify((JSON.parse(manifest(name)) as HeadManifest).taxonomy));
  assert.ok(taxonomies.every((t) => t === taxonomies[2]) && taxonomies[0]!.includes('"sport"') && !taxonomies[0]!.includes('"diversion"'), 'every head stores the run\'s taxonomy');
  const session = await openTask(engine, task, join(dir, 'model'));
  try {
    assert.ok(session.taxonomy.labels(3).includes('sport') && !session.taxonomy.labels(3).includes('diversion'));
  } finally {
    await session.release();
  }
});

test('evaluation compares the trained heads with the flat baseline on the same examples', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const result = await evaluateTask(engine, task, { defaultModelDir: join(dir, 'model'), maxExamples: 12 });
  assert.equal(result.examples, 12);
  assert.deepEqual(result.variants.map((v) => v.name), ['hdlm', 'flat']);
  assert.deepEqual(result.variants[0]!.layers, [2, 3, 4]);
  assert.deepEqual(result.variants[1]!.layers, [4, 4, 4]);
  assert.ok(result.variants.every((v) => v.trainedHeads && v.metrics.levels.length === 3));
  // Level 1 runs the input through 2 of 4 layers instead of 4.
  assert.ok(result.level1ComputeRatio > 0.3 && result.level1ComputeRatio < 0.7, String(result.level1ComputeRatio));
  // The paired comparison is HdLM minus flat on these same examples: its differences are the
  // accuracies' differences, and the examples only one variant got right explain them.
  const [hdlm, flat] = result.variants;
  const pairs = [...result.comparison.levels.map((d, i) => [d, hdlm!.metrics.levels[i]!.accuracy - flat!.metrics.levels[i]!.accuracy] as const), [result.comparison.joint, hdlm!.metrics.jointAccuracy - flat!.metrics.jointAccuracy] as const];
  assert.equal(pairs.length, 4);
  for (const [d, gap] of pairs) {
    assert.ok(Math.abs(d.difference - gap) < 1e-12, `${d.difference} vs ${gap}`);
    assert.ok(Math.abs((d.aOnly - d.bOnly) / 12 - gap) < 1e-12);
    assert.ok(d.ci95[0] <= d.difference && d.difference <= d.ci95[1] && d.pValue > 0 && d.pValue <= 1);
  }
  assert.deepEqual(evaluationRecord(result).comparison, result.comparison);
});

/** Trains a task on 8 examples until it knows them, then classifies the same 8: train and inference must agree. */
async function overfitAndClassify(modelDir: string, name: string, headNorm: 'copy' | 'none', train: Record<string, unknown> = {}): Promise<{ accuracy: number; flatAccuracy: number; norm: unknown; lossGap: number; heads: HeadReport[] }> {
  const file = join(dir, `${name}.jsonl`);
  const rows = [
    ['a dog that barks at night', 'animal', 'dog'], ['a small dog with a short tail', 'animal', 'dog'],
    ['a cat that purrs on the mat', 'animal', 'cat'], ['a striped cat that hunts mice', 'animal', 'cat'],
    ['an oak with wide branches', 'plant', 'tree'], ['a pine on the mountain', 'plant', 'tree'],
    ['a rose with red petals', 'plant', 'flower'], ['a tulip in the spring garden', 'plant', 'flower'],
  ];
  writeFileSync(file, rows.map(([text, a, b]) => JSON.stringify({ text, labels: [a, b] })).join('\n'));
  writeFileSync(join(dir, `${name}.hdlm.json`), JSON.stringify({ name, model: modelDir, dataset: { train: file, dev: file, test: file }, levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 40, patience: 40, batchSize: 8, learningRate: 0.05, weightDecay: 0, headNorm, ...train } }));
  const task = readTaskFile(join(dir, `${name}.hdlm.json`));
  const report = await trainTask(engine, task, { defaultModelDir: modelDir });
  assert.ok(report.heads.every((h) => h.bestDevAccuracy > 0.9), report.heads.map((h) => `${h.name} ${h.bestDevAccuracy}`).join(', '));
  // Greedy: what is checked is that each head decides at inference as it learned to in training.
  const result = await evaluateTask(engine, task, { defaultModelDir: modelDir, beam: 1 });
  const manifest = JSON.parse(readFileSync(join(task.headsDir, 'level1.json'), 'utf8')) as { norm?: unknown; labelScoring?: unknown };
  assert.equal(manifest.labelScoring, 'choices', 'a classification head is trained, and so scored, on label choices');
  // The flat baseline classifies with its own trained head (flat.json) at the last layer: it
  // learned these 8 examples too, so it must know them as well. Were the model's own, untrained
  // language-model head used instead, its answers would be chance.
  const flat = result.variants[1]!;
  assert.equal(flat.name, 'flat');
  assert.ok(flat.trainedHeads, 'the flat variant reports a trained head');
  return { accuracy: result.variants[0]!.metrics.jointAccuracy, flatAccuracy: flat.metrics.jointAccuracy, norm: manifest.norm, lossGap: await devLossGap(task, modelDir, report.heads[0]!), heads: report.heads };
}

/**
 * The saved level-1 head as classification runs it (scorePath: its own graph, norm included,
 * each token normalised over its choices) on the dev split: the mean −log-probability per
 * choice row must be the dev loss the trainer recorded for its best epoch.
 */
async function devLossGap(task: TaskDefinition, modelDir: string, head: HeadReport): Promise<number> {
  const session = await openTask(engine, task, modelDir);
  try {
    let nll = 0;
    let rows = 0;
    for (const r of readHierarchicalDataset(task.dataset.dev!).records) {
      const [level1] = await session.classifier.scorePath(r.text, r.labels);
      nll -= Math.log(level1!);
      rows += session.classifier.layout.teacherForced(r.text, r.labels).choiceSpans[0]!.length;
    }
    return Math.abs(nll / rows - head.epochs[head.bestEpoch - 1]!.devLoss);
  } finally {
    await session.release();
  }
}

test('heads read the raw residual stream with headNorm "none", and classify what they learned', async () => {
  const { accuracy, flatAccuracy, norm, lossGap } = await overfitAndClassify(join(dir, 'model'), 'raw', 'none');
  assert.equal(norm, 'none', 'the manifest says the head has no norm');
  assert.ok(lossGap < 1e-3, `inference dev loss differs from training's by ${lossGap}`);
  assert.ok(accuracy >= 0.875, `joint accuracy on the training examples ${accuracy}`);
  assert.ok(flatAccuracy >= 0.875, `the flat baseline's joint accuracy on the training examples ${flatAccuracy}`);
});

test('a GPT-2 head keeps the model\'s layer norm frozen, so training and classification agree', async () => {
  const gpt2 = join(dir, 'gpt2');
  writeTinyModel(gpt2, root, { family: 'gpt2', intermediate: 64, seed: 6 });
  const { accuracy, flatAccuracy, norm, lossGap } = await overfitAndClassify(gpt2, 'gpt2task', 'copy');
  assert.equal(norm, undefined);
  assert.ok(lossGap < 1e-3, `inference dev loss differs from training's by ${lossGap}`);
  assert.ok(accuracy >= 0.875, `joint accuracy on the training examples ${accuracy}`);
  assert.ok(flatAccuracy >= 0.875, `the flat baseline's joint accuracy on the training examples ${flatAccuracy}`);
});

test('the default head (a trained copy of the RMS norm) agrees between training and inference too', async () => {
  const { lossGap, heads } = await overfitAndClassify(join(dir, 'model'), 'normed', 'copy');
  assert.ok(lossGap < 1e-3, `inference dev loss differs from training's by ${lossGap}`);
  // By default the last level's head, at the last layer, learns from every level's rows there, as flat's does.
  const [level2, flat] = [heads.find((h) => h.name === 'level2')!, heads.find((h) => h.name === 'flat')!];
  assert.deepEqual([level2.levels, level2.layer, level2.trainRows], [[1, 2], flat.layer, flat.trainRows]);
  assert.deepEqual(heads.find((h) => h.name === 'level1')!.levels, [1]);
});

test('lastLevelHead "ownLevel" trains the last level\'s head on its own level\'s rows only, and it still classifies', async () => {
  const { accuracy, flatAccuracy, heads } = await overfitAndClassify(join(dir, 'model'), 'ownLevel', 'copy', { lastLevelHead: 'ownLevel' });
  const [level2, flat] = [heads.find((h) => h.name === 'level2')!, heads.find((h) => h.name === 'flat')!];
  assert.deepEqual(level2.levels, [2]);
  assert.ok(level2.trainRows > 0 && level2.trainRows < flat.trainRows, `${level2.trainRows} rows against flat's ${flat.trainRows}`);
  assert.equal(flat.copyOf, undefined, 'other rows: flat trains on its own');
  assert.ok(accuracy >= 0.875, `joint accuracy on the training examples ${accuracy}`);
  assert.ok(flatAccuracy >= 0.875, `the flat baseline's joint accuracy on the training examples ${flatAccuracy}`);
});

test('a task with more levels than its labels is refused before the model loads, naming the task file', async () => {
  const path = join(dir, 'fourLevels.hdlm.json');
  writeFileSync(path, JSON.stringify({ name: 'four', model: 'no-such-model', dataset: { train: fixture }, levels: [{ layer: 1 }, { layer: 2 }, { layer: 3 }, { layer: 'last' }] }));
  // The model folder does not exist: had the model been loaded first, the error would name it instead.
  await assert.rejects(trainTask(engine, readTaskFile(path), { defaultModelDir: join(dir, 'model') }), (e: Error) => e.message.includes(path) && /4 levels, but the labels in the training data have 3/.test(e.message));
});

test('flat: false trains the level heads only: no flat head, and its rows are not read', async () => {
  const task: TaskDefinition = { ...readTaskFile(join(dir, 'wn.hdlm.json')), name: 'wn-at2', levels: [2, 2, 2], headsDir: join(dir, 'heads-at2') };
  const report = await trainTask(engine, task, { defaultModelDir: join(dir, 'model'), flat: false, featureCache: false });
  assert.deepEqual(report.heads.map((h) => h.name).sort(), ['level1', 'level2', 'level3']);
  assert.ok(report.heads.every((h) => h.layer === 2));
  assert.equal(existsSync(join(task.headsDir, 'flat.json')), false);
  assert.ok(existsSync(join(task.headsDir, 'level3.json')));
});

test('training tidies only its own leftovers in the heads folder, whatever folder a task file names: a user\'s look-alike files, folders and links stay, even when the data is bad', async () => {
  // "heads" naming a folder of the user's, which holds things named like temporary files.
  const home = join(dir, 'home');
  mkdirSync(join(home, '.cache.77.tmp'), { recursive: true });
  writeFileSync(join(home, '.cache.77.tmp', 'important.txt'), 'keep');
  writeFileSync(join(home, '.draft.31337.tmp'), 'keep');
  writeFileSync(join(dir, 'target.txt'), 'keep');
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const link = `.notes.${dead}.r0123456789ab.tmp`;
  symlinkSync(join(dir, 'target.txt'), join(home, link));
  const dayAgo = new Date(Date.now() - 25 * 3600_000);
  utimesSync(join(home, '.draft.31337.tmp'), dayAgo, dayAgo);
  utimesSync(join(home, '.cache.77.tmp'), dayAgo, dayAgo);
  const theirs = ['.cache.77.tmp', '.draft.31337.tmp', link];

  // Bad data: refused before the heads folder is taken (no lock, nothing tidied).
  writeFileSync(join(dir, 'bad.jsonl'), 'not json\n');
  writeFileSync(join(dir, 'bad.hdlm.json'), JSON.stringify({ name: 'bad', model: 'model', dataset: { train: 'bad.jsonl' }, heads: 'home', levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }] }));
  // A leftover of ours (named by the writers' own tempPath, its writer dead) for the run that trains.
  const ours = basename(tempPath(join(home, 'level1.json'))).replace(`.${process.pid}.`, `.${dead}.`);
  writeFileSync(join(home, ours), '{');
  await assert.rejects(trainTask(engine, readTaskFile(join(dir, 'bad.hdlm.json')), { defaultModelDir: join(dir, 'model') }), /bad\.jsonl/);
  assert.deepEqual(readdirSync(home).sort(), [...theirs, ours].sort(), 'a run refused on its data touches nothing there');

  writeFileSync(join(dir, 'home.hdlm.json'), JSON.stringify({ name: 'home', model: 'model', dataset: { train: fixture }, heads: 'home', levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train: { epochs: 1, batchSize: 64, maxExamples: 40, devFraction: 0.2, patience: 1 } }));
  await trainTask(engine, readTaskFile(join(dir, 'home.hdlm.json')), { defaultModelDir: join(dir, 'model'), flat: false });
  const after = readdirSync(home);
  for (const f of theirs) assert.ok(after.includes(f), `${f} stays`);
  assert.ok(!after.includes(ours), 'our own dead writer\'s leftover is swept');
  assert.equal(readFileSync(join(home, '.cache.77.tmp', 'important.txt'), 'utf8'), 'keep');
  assert.equal(readFileSync(join(home, '.draft.31337.tmp'), 'utf8'), 'keep');
  assert.equal(readFileSync(join(dir, 'target.txt'), 'utf8'), 'keep');
});
