// Hierarchical classification on a small random model with the default model's tokenizer:
// outputs are always valid paths with calibrated probabilities, each level runs only to its own
// layer, and a wide enough hierarchy beam finds the most probable path of all.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { HierarchicalClassifier } from '../../../engine/src/hdlm/classifier';
import { choiceSequences, extractSpanFeatures, fitToContext } from '../../../engine/src/hdlm/features';
import { scoreCandidates } from '../../../engine/src/hdlm/labelScorer';
import { LabelTrie } from '../../../engine/src/hdlm/labelTrie';
import { sequenceFormat } from '../../../engine/src/hdlm/sequenceFormat';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { Engine, LoadedModel } from '../../../engine/src/index';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const treePaths = [
  ['animal', 'mammal', 'dog'],
  ['animal', 'mammal', 'cat'],
  ['animal', 'bird', 'sparrow'],
  ['animal', 'bird', 'eagle'],
  ['plant', 'tree', 'oak'],
  ['plant', 'tree', 'birch'],
  ['plant', 'flower', 'rose'],
];
const tree = (paths: string[][]): Taxonomy => Taxonomy.fromPaths(paths.map((labels, i) => ({ labels, source: `inline:${i + 1}` })));
const taxonomy = tree(treePaths);
let dir: string;
let loaded: LoadedModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cls-'));
  writeTinyCheckpoint(dir, { family: 'llama', layers: 6, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64, vocab: 4096, std: 0.25, seed: 4, maxPositions: 512 });
  copyFileSync(join(root, 'models', 'hdlm-tiny', 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(root, 'models', 'hdlm-tiny', 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const engine = await Engine.create({ providers: ['cpu'], threads: 1 });
  loaded = await engine.loadModel(dir, { cuts: [2, 4], cacheDir: join(dir, 'cache') });
});

after(async () => {
  await loaded.release();
  rmSync(dir, { recursive: true, force: true });
});

function classifier(labels: Taxonomy = taxonomy): HierarchicalClassifier {
  const head = loaded.model.ownHead;
  return new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), {
    taxonomy: labels,
    levels: [
      { layer: 2, head },
      { layer: 4, head },
      { layer: 6, head },
    ],
    system: 'Classify the text.',
    listCandidates: true,
  });
}

test('every answer is a valid path with per-level probabilities and layers', async () => {
  const c = classifier();
  for (const text of ['a small animal that barks', 'a tall tree with acorns', 'red flower with thorns']) {
    const result = await c.classify(text);
    assert.ok(taxonomy.isPath(result.path.map((d) => d.label)), result.path.map((d) => d.label).join('/'));
    assert.deepEqual(result.path.map((d) => d.layer), [2, 4, 6]);
    for (const d of result.path) {
      const siblings = d.runnersUp.reduce((a, r) => a + r.probability, d.probability);
      assert.ok(d.probability > 0 && siblings <= 1 + 1e-9);
      assert.ok(d.runnersUp.every((r) => r.probability <= d.probability));
    }
    const product = result.path.reduce((a, d) => a * d.probability, 1);
    assert.ok(Math.abs(product - result.pathProbability) < 1e-9);
  }
});

test('level 1 is decided at its exit layer without running deeper layers', async () => {
  const c = classifier();
  await c.classify('warm up: the shared prefix runs through every layer once');
  const requested: number[] = [];
  const original = loaded.model.runTo.bind(loaded.model);
  loaded.model.runTo = (state, layer, options) => {
    requested.push(layer);
    return original(state, layer, options);
  };
  try {
    await c.classify('a bird of prey');
  } finally {
    loaded.model.runTo = original;
  }
  const firstDeeper = requested.findIndex((l) => l > 2);
  assert.ok(firstDeeper > 0, `runs: ${requested.join(',')}`);
  assert.ok(requested.slice(0, firstDeeper).every((l) => l === 2), 'level 1 runs only to layer 2');
  const result = await c.classify('a bird of prey');
  assert.ok(result.path[0]!.layerPositions > 0);
  // Level 1 ran the input through 2 layers; level 3 runs everything left through 6.
  assert.ok(result.path[0]!.layerPositions < result.path[2]!.layerPositions);
});

test('a beam as wide as the tree finds the most probable path of all; greedy scores its own path', async () => {
  const c = classifier();
  const text = 'it grows in gardens';
  const paths = [...taxonomy.labels(3)].map((leaf) => {
    const mid = taxonomy.parentOf(3, leaf)!;
    return [taxonomy.parentOf(2, mid)!, mid, leaf];
  });
  const joint = await Promise.all(paths.map(async (p) => (await c.scorePath(text, p)).reduce((a, b) => a * b, 1)));
  const bestIndex = joint.indexOf(Math.max(...joint));
  const wide = await c.classify(text, { beam: 8, margin: 0 });
  assert.deepEqual(wide.path.map((d) => d.label), paths[bestIndex]);
  assert.ok(Math.abs(wide.pathProbability - joint[bestIndex]!) < 1e-6);
  const greedy = await c.classify(text, { beam: 1 });
  const greedyPath = greedy.path.map((d) => d.label);
  assert.ok(Math.abs(greedy.pathProbability - joint[paths.findIndex((p) => p.join() === greedyPath.join())]!) < 1e-6);
  assert.ok(wide.pathProbability >= greedy.pathProbability - 1e-12);
});

test('with a beam, a level\'s compute counts every beam expanded there, not only the chosen path', async () => {
  const c = classifier();
  const text = 'it grows in gardens';
  const greedy = await c.classify(text, { beam: 1 });
  const wide = await c.classify(text, { beam: 2, margin: 0 });
  // Level 1 is expanded once either way; level 2 under two parents costs more than under one.
  assert.equal(wide.path[0]!.layerPositions, greedy.path[0]!.layerPositions);
  assert.ok(wide.path[1]!.layerPositions > greedy.path[1]!.layerPositions, `${wide.path[1]!.layerPositions} vs ${greedy.path[1]!.layerPositions}`);
});

test('two beams under one parent run the parent\'s pending input once: a beam costs greedy plus the second branch\'s own label tokens', async () => {
  const c = classifier();
  const text = 'it grows in gardens';
  const greedy = await c.classify(text, { beam: 1 });
  const wide = await c.classify(text, { beam: 2, margin: 0 });
  // The tree has two level-1 labels, so beam 2 takes both to level 2; greedy took the first.
  const second = wide.alternatives[0]!.labels[0]!;
  assert.notEqual(second, greedy.path[0]!.label);
  // The second branch's level-2 work had it been the only one: a classifier of its subtree alone
  // decides level 1 there, so its level 2 runs the input's pending positions (layers 3 and 4) and
  // then that branch's label tokens and candidate tree through 4 layers.
  const alone = await classifier(tree(treePaths.filter((p) => p[0] === second))).classify(text, { beam: 1 });
  const pendingInput = c.layout.inputPart(text).length * (4 - 2);
  const secondBranchLabels = alone.path[1]!.layerPositions - pendingInput;
  assert.ok(secondBranchLabels > 0);
  // The parent's pending input runs once before the two branches fork: what the beam adds over
  // greedy is only the second branch's label work. Were each fork to run the input itself, the
  // beam would pay the pending input twice (pendingInput more).
  assert.equal(wide.path[1]!.layerPositions - greedy.path[1]!.layerPositions, secondBranchLabels, `input pending: ${pendingInput} layer·positions`);
});

test('a beam margin hands on only the paths close to the best one: 1 is greedy, 0 keeps as many as the beam', async () => {
  const c = classifier();
  const text = 'it grows in gardens';
  const greedy = await c.classify(text, { beam: 1 });
  const strict = await c.classify(text, { beam: 4, margin: 1 });
  assert.deepEqual(strict.path.map((d) => d.label), greedy.path.map((d) => d.label));
  assert.equal(strict.alternatives.length, 0);
  assert.equal(strict.path[1]!.layerPositions, greedy.path[1]!.layerPositions, 'a level under one parent costs what greedy costs');
  const open = await c.classify(text, { beam: 4, margin: 0 });
  assert.equal(open.alternatives.length, 3, 'the seven leaves give the beam enough paths');
  // With a margin in between, every path kept at the last level is within it of the best.
  const probabilities = open.alternatives.map((a) => a.probability);
  const margin = (probabilities[0]! + probabilities.at(-1)!) / 2 / open.pathProbability;
  const some = await c.classify(text, { beam: 4, margin });
  assert.ok(some.alternatives.length >= 1 && some.alternatives.length < 3, `${some.alternatives.length} alternatives at margin ${margin}`);
  for (const a of some.alternatives) assert.ok(a.probability >= margin * some.pathProbability - 1e-12);
});

test('the beam margin is a ratio of probabilities: an alternative stays when its probability is at least margin times the best one\'s', async () => {
  // One level, so that the margin is applied once, to the very alternatives returned.
  const head = loaded.model.ownHead;
  const c = new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { taxonomy: tree([['dog'], ['cat'], ['oak'], ['rose']]), levels: [{ layer: 2, head }], system: 'Classify the text.', listCandidates: true });
  const text = 'it grows in gardens';
  const open = await c.classify(text, { beam: 4, margin: 0 });
  assert.equal(open.alternatives.length, 3);
  const [r1, r2] = open.alternatives.map((a) => a.probability / open.pathProbability);
  assert.ok(r2! < r1! * 0.99 && r1! < 0.99, `ratios ${r1}, ${r2}: too close to tell the margins apart`);
  // Just above the runner-up's ratio it goes; just below, it stays and the third (further off) goes.
  // A margin read as another function of the ratio (its square, say) keeps the runner-up above.
  assert.equal((await c.classify(text, { beam: 4, margin: r1! * (1 + 1e-6) })).alternatives.length, 0);
  assert.deepEqual((await c.classify(text, { beam: 4, margin: r1! * (1 - 1e-6) })).alternatives.map((a) => a.labels), [open.alternatives[0]!.labels]);
});

test('a child under two parents is refused with both places named', async () => {
  assert.throws(
    () =>
      Taxonomy.fromPaths([
        { labels: ['animal', 'mammal'], source: 'train.jsonl:1' },
        { labels: ['plant', 'mammal'], source: 'train.jsonl:7' },
      ]),
    /train\.jsonl:7: level 2 label "mammal" is under "plant" here but under "animal" at train\.jsonl:1/,
  );
  await assert.rejects(classifier().scorePath('x', ['plant', 'mammal', 'dog']), /is not a path of the taxonomy/);
});

test('cached features equal the hidden states of a single full teacher-forced run', async () => {
  const c = classifier();
  const records = [
    { text: 'a loyal pet that barks', labels: ['animal', 'mammal', 'dog'] },
    { text: 'tree', labels: ['plant', 'tree', 'oak'] },
    { text: 'a bird that hunts from high above the mountains', labels: ['animal', 'bird', 'eagle'] },
  ];
  // As training reads them: teacher-forced (fitToContext), cut to their choice spans (choiceSequences).
  const { fits, forced } = fitToContext(loaded.model, c.layout, records);
  assert.equal(fits.length, records.length, 'every record fits the context');
  const features = await extractSpanFeatures(loaded.model, c.layout.sharedPrefix(), choiceSequences(forced).sequences, { reads: [2, 4, 6].map((layer, i) => ({ level: i + 1, layer })), batchSize: 2 });
  assert.ok(features.every((f) => f.targets.length > 0), 'every level has choice rows');
  const H = loaded.model.config.hiddenSize;
  for (const [i, record] of records.entries()) {
    const prefix = c.layout.sharedPrefix();
    const { ids, choiceSpans } = c.layout.teacherForced(record.text, record.labels);
    const state = loaded.model.newState();
    loaded.model.append(state, [[...prefix, ...ids]]);
    const { layers } = await loaded.model.runTo(state, 6, { collectLayers: true });
    choiceSpans.forEach((span, level) => {
      const f = features[level]!;
      const rows = [...f.example.keys()].filter((r) => f.example[r] === i);
      assert.equal(rows.length, span.length, `level ${level + 1} has one row per choice token`);
      rows.forEach((row, j) => {
        assert.equal(f.targets[row], ids[span[j]!]);
        const expected = layers!.get(f.layer)!.subarray((prefix.length + span[j]! - 1) * H, (prefix.length + span[j]!) * H);
        const diff = f.hidden.subarray(row * H, (row + 1) * H).reduce((m, v, k) => Math.max(m, Math.abs(v - expected[k]!)), 0);
        assert.ok(diff < 1e-4, `record ${i} level ${level + 1}: ${diff}`);
      });
    });
  }
});

test('the backbone pass runs a sequence only up to the position before its last supervised token, and skips one with nothing to read', async () => {
  const prefix = classifier().layout.sharedPrefix();
  const outside = 99_999; // not a token of the model: running it would fail
  const sequences = [
    { ids: [40, 41, 42, outside], spans: [[1], [2]] },
    { ids: [outside], spans: [[], []] },
    { ids: [43, 44, 45, 46, 47], spans: [[3], []] },
  ];
  const reads = [{ level: 1, layer: 2 }, { level: 2, layer: 6 }];
  const [first, second] = await extractSpanFeatures(loaded.model, prefix, sequences, { reads, batchSize: 4 });
  assert.deepEqual(Array.from(first!.targets), [41, 46]);
  assert.deepEqual(Array.from(first!.example), [0, 2]);
  assert.deepEqual(Array.from(second!.targets), [42]);
  // The rows are those of full runs over the tokens before them.
  const H = loaded.model.config.hiddenSize;
  const expect = async (ids: number[], layer: number): Promise<Float32Array> => {
    const state = loaded.model.newState();
    loaded.model.append(state, [[...prefix, ...ids]]);
    const { layers } = await loaded.model.runTo(state, 6, { collectLayers: [layer] });
    return layers!.get(layer)!.subarray((prefix.length + ids.length - 1) * H, (prefix.length + ids.length) * H);
  };
  const diff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]!)), 0);
  assert.ok(diff(first!.hidden.subarray(0, H), await expect([40], 2)) < 1e-4);
  assert.ok(diff(first!.hidden.subarray(H, 2 * H), await expect([43, 44, 45], 2)) < 1e-4);
  assert.ok(diff(second!.hidden, await expect([40, 41], 6)) < 1e-4);
});

test('scoring all candidates as one tree equals scoring each label token by token', async () => {
  const c = classifier();
  const head = loaded.model.ownHead;
  const prefix = c.layout.prefix('something green that grows');
  const labels = ['oak', 'birch', 'rose', 'rosebush', 'sparrow', 'eagle owl', 'eagle'];
  const candidates = labels.map((label) => ({ label, ids: c.layout.candidateIds(label) }));
  assert.ok(candidates.some((x) => x.ids.length > 1), 'some labels have several tokens');
  const state = loaded.model.newState();
  loaded.model.append(state, [prefix]);
  const scored = await scoreCandidates(loaded.model, state, 4, head, LabelTrie.build(candidates));
  // Reference: each label appended token by token to its own fork.
  const logSoftmax = (l: Float32Array): number[] => {
    const m = Math.max(...l);
    const z = Math.log(l.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
    return Array.from(l, (v) => v - z);
  };
  const base = loaded.model.newState();
  loaded.model.append(base, [prefix]);
  const first = await loaded.model.runTo(base, 4);
  const H = loaded.model.config.hiddenSize;
  const rootLogp = logSoftmax(await head.logits(first.hidden.subarray(first.hidden.length - H)));
  for (const cand of candidates) {
    let score = rootLogp[cand.ids[0]!]!;
    const fork = base.fork();
    for (let i = 1; i < cand.ids.length; i++) {
      loaded.model.append(fork, [[cand.ids[i - 1]!]]);
      const r = await loaded.model.runTo(fork, 4);
      score += logSoftmax(await head.logits(r.hidden))[cand.ids[i]!]!;
    }
    const got = scored.find((s) => s.label === cand.label)!;
    assert.ok(Math.abs(got.logScore - score) < 1e-3, `${cand.label}: tree ${got.logScore} vs sequential ${score}`);
  }
  const sum = scored.reduce((a, s) => a + s.probability, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9);
});

test('choice scoring normalises each token over the trie\'s choices there, and runs no forced tail', async () => {
  const c = classifier();
  const head = loaded.model.ownHead;
  const prefix = c.layout.prefix('something green that grows');
  // "rose" is the start of "rosebush": only its closing token tells them apart.
  const labels = ['oak', 'birch', 'rose', 'rosebush', 'sparrow', 'eagle owl', 'eagle'];
  const close = sequenceFormat(loaded.requireTokenizer()).close();
  assert.ok(close.length > 0, 'the default tokenizer closes turns with a token');
  const trie = LabelTrie.build(labels.map((label) => ({ label, ids: [...c.layout.candidateIds(label), ...close] })));
  const run = async (scoring: 'choices' | 'sequence', t: LabelTrie) => {
    const state = loaded.model.newState();
    loaded.model.append(state, [prefix]);
    const before = loaded.model.compute.layerPositions;
    const scored = await scoreCandidates(loaded.model, state, 4, head, t, { scoring });
    return { scored, work: loaded.model.compute.layerPositions - before };
  };
  const { scored, work } = await run('choices', trie);
  // Reference: each label token by token on its own fork, every token's probability over the
  // tokens the trie allows at that point (the full head's logits, renormalised).
  const base = loaded.model.newState();
  loaded.model.append(base, [prefix]);
  const first = await loaded.model.runTo(base, 4);
  const H = loaded.model.config.hiddenSize;
  const overChoices = (logits: Float32Array, choices: number[], token: number): number => {
    const m = Math.max(...choices.map((t) => logits[t]!));
    return logits[token]! - m - Math.log(choices.reduce((a, t) => a + Math.exp(logits[t]! - m), 0));
  };
  for (const label of labels) {
    const ids = [...c.layout.candidateIds(label), ...close];
    const along = trie.choicesAlong(ids);
    let logits = await head.logits(first.hidden.subarray(first.hidden.length - H));
    let score = 0;
    const fork = base.fork();
    for (let i = 0; i < ids.length; i++) {
      if (i > 0) {
        loaded.model.append(fork, [[ids[i - 1]!]]);
        logits = await head.logits((await loaded.model.runTo(fork, 4)).hidden);
      }
      if (along[i]!.length > 1) score += overChoices(logits, along[i]!, ids[i]!);
    }
    const got = scored.find((s) => s.label === label)!;
    assert.ok(Math.abs(got.logScore - score) < 1e-3, `${label}: tree ${got.logScore} vs sequential ${score}`);
    assert.ok(Math.abs(got.probability - Math.exp(score)) < 1e-4, `${label}: the choice probabilities need no renormalising`);
  }
  assert.ok(Math.abs(scored.reduce((a, s) => a + s.probability, 0) - 1) < 1e-9);
  // Forced tokens are not read, and a forced tail is not run through the layers at all.
  const sequence = await run('sequence', LabelTrie.build(labels.map((label) => ({ label, ids: c.layout.candidateIds(label) }))));
  assert.ok(work < sequence.work, `choice scoring ran ${work} layer·positions, sequence scoring ${sequence.work}`);
  // One candidate is certain without running anything.
  const single = await run('choices', LabelTrie.build([{ label: 'oak', ids: [...c.layout.candidateIds('oak'), ...close] }]));
  assert.equal(single.scored[0]!.probability, 1);
  assert.equal(single.work, 0);
});

test('a level decided shallower than the level above (a moved level keeps its head\'s layer) reads the same as when the level above exits there too', async () => {
  // One coarse label, so level 1 is the same whichever layer decides it: level 2's reading at
  // layer 2 must then not depend on level 1 having run to layer 4 first (the prefix and label
  // states it attends to are the same at layers 1 and 2).
  const animals = Taxonomy.fromPaths(
    [
      ['animal', 'mammal', 'dog'],
      ['animal', 'mammal', 'cat'],
      ['animal', 'bird', 'sparrow'],
      ['animal', 'bird', 'eagle'],
    ].map((labels, i) => ({ labels, source: `inline:${i + 1}` })),
  );
  const head = loaded.model.ownHead;
  const at = (layers: number[]): HierarchicalClassifier =>
    new HierarchicalClassifier(loaded.model, loaded.requireTokenizer(), { taxonomy: animals, levels: layers.map((layer) => ({ layer, head })), system: 'Classify the text.', listCandidates: true });
  for (const text of ['a small animal that barks', 'a bird of prey with sharp eyes']) {
    const deeperFirst = await at([4, 2, 6]).classify(text);
    const same = await at([2, 2, 6]).classify(text);
    assert.deepEqual(deeperFirst.path.map((d) => d.layer), [4, 2, 6]);
    assert.deepEqual(deeperFirst.path.map((d) => d.label), same.path.map((d) => d.label));
    const level2 = (r: typeof same): number[] => [r.path[1]!.probability, ...r.path[1]!.runnersUp.map((x) => x.probability)];
    level2(deeperFirst).forEach((p, i) => assert.ok(Math.abs(p - level2(same)[i]!) < 1e-5, `${text}: level 2 ${p} against ${level2(same)[i]}`));
    assert.ok(Math.abs(deeperFirst.path[2]!.probability - same.path[2]!.probability) < 1e-5);
  }
});
