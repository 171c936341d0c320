// The early-exit baseline: the threshold rule and the curve on attempts made by hand, and the
// cascade on a small random model, where stopping at each exit must give what that exit's
// classifier gives alone while the input's shared positions run through each layer only once.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine, LoadedModel } from '../../../engine/src/index';
import { HierarchicalClassifier } from '../../../engine/src/hdlm/classifier';
import { exitCurve, exitIndex, matchReference, runExitCascade, savedHeadsClassifier, type ExitAttempt } from '../../../engine/src/hdlm/earlyExit';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { levelHeadName, openTask } from '../../../engine/src/hdlm/taskSession';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import { taskWorkspace, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';

const texts = ['a domesticated animal kept for company', 'a tall woody plant with a single trunk', 'an instrument for measuring time'];
let dir: string;
let engine: Engine;
let loaded: LoadedModel;

before(async () => {
  ({ dir, engine } = await taskWorkspace('exit'));
  const train = { epochs: 2, batchSize: 32, maxExamples: 60, devFraction: 0.2, patience: 2 };
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: { train: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train }));
  loaded = await engine.loadModel(join(dir, 'model'), { cuts: [2, 3], cacheDir: join(dir, 'graphs') });
});

after(async () => {
  await loaded.release();
  rmSync(dir, { recursive: true, force: true });
});

const attempt = (labels: string[], probability: number, layerPositions: number): ExitAttempt => ({ labels, probability, layerPositions, ms: layerPositions / 10 });

test('an input stops at its first exit sure enough, else at the last; the curve counts each threshold so', () => {
  const a = [attempt(['x', 'a'], 0.4, 10), attempt(['y', 'b'], 0.7, 16), attempt(['y', 'c'], 0.2, 20)];
  assert.equal(exitIndex(a, 0), 0);
  assert.equal(exitIndex(a, 0.5), 1);
  assert.equal(exitIndex(a, 0.7), 1, 'a probability equal to the threshold reaches it');
  assert.equal(exitIndex(a, 0.9), 2, 'none sure enough: the last exit');
  const b = [attempt(['y', 'b'], 0.95, 12), attempt(['y', 'b'], 0.9, 18), attempt(['y', 'b'], 0.99, 22)];
  const gold = [['y', 'b'], ['y', 'b']];
  const [first, half, never] = exitCurve(gold, [a, b], [0, 0.5, 2]);
  assert.deepEqual([first!.jointAccuracy, first!.levelAccuracy, first!.layerPositions, first!.exitShare], [0.5, [0.5, 0.5], 11, [1, 0, 0]]);
  assert.deepEqual([half!.jointAccuracy, half!.layerPositions, half!.exitShare, half!.right], [1, 14, [0.5, 0.5, 0], [true, true]]);
  assert.deepEqual([never!.jointAccuracy, never!.levelAccuracy, never!.layerPositions, never!.exitShare], [0.5, [1, 0.5], 21, [0, 0, 1]]);
  assert.throws(() => exitCurve(gold, [a], [0]), /2 gold paths but 1 inputs/);
});

test('thresholds are matched to a reference on its compute and on its accuracy', () => {
  const point = (threshold: number, jointAccuracy: number, layerPositions: number) => ({ threshold, jointAccuracy, levelAccuracy: [], layerPositions, ms: 0, exitShare: [], right: [] });
  const curve = [point(0, 0.5, 100), point(0.5, 0.6, 150), point(0.8, 0.62, 210), point(2, 0.63, 300)];
  const m = matchReference(curve, { jointAccuracy: 0.615, layerPositions: 200 });
  assert.equal(m.sameCompute?.threshold, 0.5, 'the most accurate point costing at most 200');
  assert.equal(m.sameAccuracy?.threshold, 0.8, 'the cheapest point at least as accurate');
  assert.deepEqual(matchReference(curve, { jointAccuracy: 0.7, layerPositions: 50 }), { sameCompute: undefined, sameAccuracy: undefined });
});

const taxonomy = (): Taxonomy =>
  Taxonomy.fromPaths(
    [
      ['animal', 'mammal', 'dog'],
      ['animal', 'mammal', 'cat'],
      ['animal', 'bird', 'owl'],
      ['plant', 'tree', 'oak'],
      ['plant', 'flower', 'rose'],
      ['artifact', 'instrument', 'clock'],
    ].map((labels, i) => ({ labels, source: `inline:${i + 1}` })),
  );

/** A classifier on the tiny model deciding every level at `layer` through the model's own head. */
function ownHeadClassifier(layer: number): HierarchicalClassifier {
  const head = loaded.model.ownHead;
  return new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { taxonomy: taxonomy(), system: 'Classify the text.', listCandidates: true, levels: [1, 2, 3].map(() => ({ layer, head, scoring: 'choices' as const })) });
}

test('the cascade gives at each exit what that exit\'s classifier gives alone, and runs the shared input once per layer', async () => {
  const exits = [2, 3, 4].map((layer) => ({ layer, classifier: ownHeadClassifier(layer) }));
  // Each classifier computes its shared prefix on first use: not part of any input's cost.
  for (const { classifier } of exits) await classifier.classify(texts[0]!);
  for (const text of texts) {
    const alone: { labels: string[]; probability: number; layerPositions: number }[] = [];
    for (const { classifier } of exits) {
      const before = loaded.model.compute.layerPositions;
      const r = await classifier.classify(text);
      alone.push({ labels: r.path.map((d) => d.label), probability: r.pathProbability, layerPositions: loaded.model.compute.layerPositions - before });
    }
    const attempts = await runExitCascade(loaded.model, exits, text);
    assert.equal(attempts.length, 3);
    attempts.forEach((a, i) => {
      assert.deepEqual(a.labels, alone[i]!.labels, `${text}: exit ${exits[i]!.layer}`);
      assert.ok(Math.abs(a.probability - alone[i]!.probability) < 1e-4, `${text}: exit ${exits[i]!.layer}: ${a.probability} vs ${alone[i]!.probability}`);
    });
    // Cost: the first exit costs what it costs alone; each later one costs what it costs alone
    // less the layers the input's shared positions (all but the newest) already ran.
    const shared = exits[0]!.classifier.layout.inputPart(text).length - 1;
    assert.equal(attempts[0]!.layerPositions, alone[0]!.layerPositions);
    assert.equal(attempts[1]!.layerPositions - attempts[0]!.layerPositions, alone[1]!.layerPositions - shared * 2);
    assert.equal(attempts[2]!.layerPositions - attempts[1]!.layerPositions, alone[2]!.layerPositions - shared * 3);
    assert.ok(attempts.every((a, i) => i === 0 || a.ms >= attempts[i - 1]!.ms));
  }
  await assert.rejects(runExitCascade(loaded.model, [exits[1]!, exits[0]!], texts[0]!), /exit layers must increase, got 3, 2/);
});

test('exiting per level: never sure is every level at its last exit, always sure every level at its first', async () => {
  const [first, last] = [ownHeadClassifier(2), ownHeadClassifier(4)];
  const exits = [1, 2, 3].map(() => [2, 3, 4].map((layer) => ({ layer, head: loaded.model.ownHead, scoring: 'choices' as const })));
  const exiting = (threshold: number): HierarchicalClassifier => new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { ...first.task, exitWhenSure: { threshold, exits } });
  const [sure, unsure] = [exiting(0), exiting(2)];
  for (const c of [first, last, sure, unsure]) await c.classify(texts[0]!); // shared prefixes computed outside the measured runs
  for (const text of texts) {
    for (const [exitingAt, alone, layer] of [[sure, first, 2], [unsure, last, 4]] as const) {
      for (const beam of [1, 2]) {
        const reference = await alone.classify(text, { beam });
        const got = await exitingAt.classify(text, { beam });
        assert.deepEqual(got.path.map((d) => [d.label, d.layer]), reference.path.map((d) => [d.label, layer]), `${text}, beam ${beam}`);
        assert.ok(Math.abs(got.pathProbability - reference.pathProbability) < 1e-4, `${got.pathProbability} vs ${reference.pathProbability}`);
        const cost = (r: typeof got): number => r.path.reduce((a, d) => a + d.layerPositions, 0);
        // Always sure costs what the first exit costs alone. Never sure costs at least what the
        // last exit costs alone: the input runs once either way, and the tries before add only
        // their label trees (none here: these labels differ at their first token) and head reads.
        if (exitingAt === sure) assert.equal(cost(got), cost(reference));
        else assert.ok(cost(got) >= cost(reference), `${cost(got)} ≥ ${cost(reference)}`);
      }
    }
  }
  const mixed = await exiting(0.5).classify(texts[0]!, { beam: 1 });
  assert.ok(mixed.path.every((d) => [2, 3, 4].includes(d.layer)) && taxonomy().isPath(mixed.path.map((d) => d.label)));
  assert.throws(() => new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { ...first.task, exitWhenSure: { threshold: 0.5, exits: [[], [], []] } }), /for each of the 3 levels, one or more exits in increasing layers/);
});

test('exiting when sure: a probability that equals the threshold reaches it, and the level is decided there', async () => {
  // README: a level is decided "at the first layer where its best label's probability reaches the
  // threshold", so a threshold equal to it exits; one just above it goes deeper.
  const task = ownHeadClassifier(2).task;
  const exits = [1, 2, 3].map(() => [2, 3, 4].map((layer) => ({ layer, head: loaded.model.ownHead, scoring: 'choices' as const })));
  const exiting = (threshold: number): HierarchicalClassifier => new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { ...task, exitWhenSure: { threshold, exits } });
  const text = texts[0]!;
  // Always sure: level 1 decided at its first exit, with the probability it has there.
  const first = (await exiting(0).classify(text, { beam: 1 })).path[0]!;
  assert.equal(first.layer, 2);
  const p = first.probability;
  assert.ok(p < 1, 'a probability below 1, so that one just above it is a threshold too');
  // The same computation on a classifier of its own gives the same bits: exactly at p, it exits.
  assert.deepEqual([(await exiting(p).classify(text, { beam: 1 })).path[0]!.layer], [2]);
  const above = p + Number.EPSILON * Math.max(1, p) * 4;
  assert.ok((await exiting(above).classify(text, { beam: 1 })).path[0]!.layer > 2, 'a threshold just above goes deeper');
});

test('a classifier over saved heads decides as the task\'s own session does', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  const session = await openTask(engine, task, join(dir, 'model'));
  const saved = await savedHeadsClassifier(loaded, { taxonomy: session.taxonomy, system: task.system, listCandidates: task.listCandidates }, [2, 3, 4].map((layer, d) => ({ layer, dir: task.headsDir, head: levelHeadName(d + 1) })));
  try {
    for (const text of texts) {
      const [a, b] = [await session.classifier.classify(text), await saved.classifier.classify(text)];
      assert.deepEqual(b.path.map((d) => [d.label, d.layer]), a.path.map((d) => [d.label, d.layer]));
      assert.ok(Math.abs(a.pathProbability - b.pathProbability) < 1e-5);
    }
    await assert.rejects(savedHeadsClassifier(loaded, { taxonomy: session.taxonomy, system: '', listCandidates: true }, [{ layer: 2, dir: task.headsDir, head: 'nope' }]), /nope/);
  } finally {
    await saved.release();
    await session.release();
  }
});

test('a task that exits when sure trains a head for every level at every exit, and its session classifies with them', async () => {
  const base = JSON.parse(readFileSync(join(dir, 'wn.hdlm.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'wn-exit.hdlm.json'), JSON.stringify({ ...base, name: 'wn-exit', heads: 'heads-exit', exitWhenSure: { threshold: 0.5, layers: [2, 3, 'last'] } }));
  const task = readTaskFile(join(dir, 'wn-exit.hdlm.json'));
  assert.deepEqual(task.exitWhenSure, { threshold: 0.5, layers: [2, 3, 'last'] });
  const report = await trainTask(engine, task, { defaultModelDir: join(dir, 'model') });
  // Levels at 2, 3 and the last layer (4): their own heads and flat's serve there; the rest are new.
  assert.deepEqual(report.heads.map((h) => [h.name, h.layer]).sort(), [['flat', 4], ['level1', 2], ['level1-at3', 3], ['level2', 3], ['level2-at2', 2], ['level3', 4], ['level3-at2', 2], ['level3-at3', 3]]);
  const notes: string[] = [];
  const open = async (threshold: number) => openTask(engine, { ...task, exitWhenSure: { threshold, layers: [2, 3, 'last'] } }, join(dir, 'model'), (m) => notes.push(m));
  const [sure, unsure] = [await open(1e-9), await open(1)];
  try {
    assert.deepEqual(sure.classifier.task.exitWhenSure?.exits.map((row) => row.map((e) => e.layer)), [[2, 3, 4], [2, 3, 4], [2, 3, 4]]);
    for (const text of texts) {
      assert.deepEqual((await sure.classifier.classify(text)).path.map((d) => d.layer), [2, 2, 2], 'sure at once: every level at the first exit');
      // Never quite sure (τ 1): each level at the last exit, through flat's head above the last level.
      const late = await unsure.classifier.classify(text, { beam: 1 });
      assert.ok(late.path.every((d) => d.layer === 4 || d.probability >= 1 - 1e-12), late.path.map((d) => `${d.layer}:${d.probability}`).join(' '));
    }
    assert.equal(notes.length, 0, notes.join('\n'));
  } finally {
    await sure.release();
    await unsure.release();
  }
  // Heads trained before exitWhenSure was set: each level at its own layer, and a note says why.
  // (The wn task itself, with exitWhenSure set: its heads record its name, and are not another task's to load.)
  const wn = readTaskFile(join(dir, 'wn.hdlm.json'));
  const untrained = await openTask(engine, { ...task, name: wn.name, headsDir: wn.headsDir }, join(dir, 'model'), (m) => notes.push(m));
  try {
    assert.equal(untrained.classifier.task.exitWhenSure, undefined);
    assert.deepEqual(untrained.notices, [notes.at(-1)], 'the note is also the session\'s notice, for front ends to show');
    assert.match(notes.join('\n'), /exitWhenSure is not used until the task is fine-tuned again \(no head level1-at3, level2-at2, level3-at2, level3-at3 in /);
  } finally {
    await untrained.release();
  }
  // Turning it on for a trained task keeps the heads it has (the same rows, though the pass now
  // reads more layers and cuts the model at layer 1 too): only the exits' new heads train.
  const kept = await trainTask(engine, { ...readTaskFile(join(dir, 'wn.hdlm.json')), exitWhenSure: { threshold: 0.5, layers: [1, 3, 'last'] } }, { defaultModelDir: join(dir, 'model') });
  assert.deepEqual(kept.reused, ['level1', 'level2', 'level3', 'flat']);
  assert.deepEqual(kept.heads.map((h) => h.name).slice(4), ['level1-at1', 'level1-at3', 'level2-at1', 'level3-at1', 'level3-at3']);
  writeFileSync(join(dir, 'wn-exit-deep.hdlm.json'), JSON.stringify({ ...base, name: 'deep', exitWhenSure: { threshold: 0.5, layers: [2, 9] } }));
  await assert.rejects(trainTask(engine, readTaskFile(join(dir, 'wn-exit-deep.hdlm.json')), { defaultModelDir: join(dir, 'model') }), /exitWhenSure\.layers has layer 9, beyond the model's 4 layers/);
});
