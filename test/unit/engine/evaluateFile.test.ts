// Evaluating a classification task on a file that is not what its heads were trained on: gold
// labels the taxonomy lacks are evaluated and counted wrong (and named), a path the beam may
// explore that is longer than the context leaves its example out instead of crashing mid-run,
// label paths of another depth are refused before the model loads, and skipped lines are named.
// A tiny random model with the model's own heads (no training): the taxonomy comes from the
// task's training file.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine } from '../../../engine/src/engine';
import { goldIssues } from '../../../engine/src/hdlm/classifyInputs';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { evaluateTask } from '../../../engine/src/hdlm/evaluateTask';
import { fitToContext, fitToContextOnAnyPath } from '../../../engine/src/hdlm/features';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { openTask } from '../../../engine/src/hdlm/taskSession';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { REPO_ROOT as root, taskWorkspace, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';
import { writeTinyModel } from '../../support/tinyCheckpoint';

let dir: string;
let modelDir: string;
let engine: Engine;

/** The fixture's first lines, without their ids (so that notices name lines), labels as given. */
function fixtureLines(n: number): { text: string; labels: string[] }[] {
  return readHierarchicalDataset(fixture).records.slice(0, n).map(({ text, labels }) => ({ text, labels }));
}

function writeLines(name: string, lines: readonly (object | string)[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return file;
}

before(async () => {
  ({ dir, modelDir, engine } = await taskWorkspace('evalfile'));
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: { train: fixture, test: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], listCandidates: false }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the taxonomy says where a path first leaves it, and the layout names the label instead of a token', async () => {
  const taxonomy = Taxonomy.fromPaths([
    { labels: ['animal', 'dog', 'terrier'], source: '1' },
    { labels: ['plant', 'tree', 'oak'], source: '2' },
  ]);
  assert.equal(taxonomy.departure(['animal', 'dog', 'terrier']), undefined);
  assert.equal(taxonomy.departure(['animal', 'dog']), undefined, 'a shallower path that stays in it');
  assert.deepEqual(taxonomy.departure(['mineral', 'dog', 'terrier']), { level: 1, label: 'mineral' });
  assert.deepEqual(taxonomy.departure(['animal', 'tree', 'oak']), { level: 2, label: 'tree', knownUnder: 'plant' });
  assert.deepEqual(taxonomy.departure(['animal', 'dog', 'poodle']), { level: 3, label: 'poodle' });
  assert.deepEqual(taxonomy.departure(['animal', 'dog', 'terrier', 'x']), { level: 4, label: 'x' });
  // Classify --file's warnings, by line: another depth, a label never seen, one seen elsewhere.
  const issues = goldIssues(
    [
      { line: 1, id: 'a', text: 'a', labels: ['animal', 'dog', 'terrier'] },
      { line: 2, id: 'b', text: 'b' },
      { line: 3, id: 'c', text: 'c', labels: ['animal', 'dog'] },
      { line: 4, id: 'd', text: 'd', labels: ['mineral', 'dog', 'terrier'] },
      { line: 5, id: 'e', text: 'e', labels: ['animal', 'tree', 'oak'] },
    ],
    taxonomy,
  );
  assert.deepEqual(issues.map((i) => i.line), [3, 4, 5]);
  assert.match(issues[0]!.message, /^2 labels, but the task has 3 levels: left out of the accuracy/);
  assert.match(issues[1]!.message, /^label 'mineral' at level 1 is not in the task's taxonomy \(never seen in training\): it cannot be predicted there, so it counts as wrong$/);
  assert.match(issues[2]!.message, /^label 'tree' at level 2 under 'animal' is not in the task's taxonomy \(seen in training under 'plant' only\)/);

  // Teacher forcing a path the taxonomy lacks says which label, not which token, is at fault.
  const session = await openTask(engine, readTaskFile(join(dir, 'wn.hdlm.json')), modelDir);
  try {
    const { layout } = session.classifier;
    const [record] = fixtureLines(1);
    assert.throws(() => layout.teacherForced('a text', ['noun.bogus', ...record!.labels.slice(1)]), /^Error: level 1 label 'noun\.bogus' is not a level-1 label in the taxonomy$/);
    assert.throws(() => layout.teacherForced('a text', [record!.labels[0]!, record!.labels[1]!, 'x']), new RegExp(`level 3 label 'x' is not a child of '${record!.labels[1]!.replace(/\./g, '\\.')}'`));
    assert.throws(() => layout.teacherForced('a text', [...record!.labels, 'deeper']), /4 labels, but the taxonomy has 3 levels/);
  } finally {
    await session.release();
  }
});

test('gold labels never seen in training are evaluated by both variants, counted wrong and named once by file and line', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const lines = fixtureLines(6);
  const otherLevel1 = readHierarchicalDataset(fixture).records.find((r) => r.labels[0] !== lines[4]!.labels[0])!;
  lines[1] = { ...lines[1]!, labels: ['noun.bogus', 'x', 'y'] }; // line 2: unknown at level 1 (and below)
  lines[4] = { ...lines[4]!, labels: [lines[4]!.labels[0]!, otherLevel1.labels[1]!, otherLevel1.labels[2]!] }; // line 5: a level-2 label under another parent
  const file = writeLines('unknown.jsonl', lines);
  const notices: string[] = [];
  const result = await evaluateTask(engine, task, { defaultModelDir: modelDir, file, keepPredictions: true, onNotice: (m) => notices.push(m) });
  assert.equal(result.examples, 6, 'every example evaluated');
  assert.equal(result.unknownLabels, 2);
  assert.equal(result.tooLong, 0);
  assert.equal(result.skippedLines, 0);
  const said = notices.filter((n) => /never seen in training/.test(n));
  assert.equal(said.length, 1, notices.join('\n'));
  assert.match(said[0]!, /^2 examples have gold labels never seen in training/);
  assert.match(said[0]!, new RegExp(`unknown\\.jsonl:2 level 1 'noun\\.bogus', .*unknown\\.jsonl:5 level 2 '${otherLevel1.labels[1]!.replace(/\./g, '\\.')}' \\(seen under '${otherLevel1.labels[0]!.replace(/\./g, '\\.')}' only\\)`));
  // Both variants classified the example; neither could give it its level-1 label.
  const row = result.predictions!.find((p) => p.id === 'line 2')!;
  assert.deepEqual(row.gold, ['noun.bogus', 'x', 'y']);
  for (const variant of [row.hdlm, row.flat]) {
    assert.equal(variant.labels.length, 3);
    assert.ok(variant.labels.every((label, d) => label !== row.gold[d]));
  }
  for (const [i, v] of result.variants.entries()) {
    const paths = result.predictions!.map((p) => (i === 0 ? p.hdlm : p.flat).labels);
    const right = result.predictions!.filter((p, k) => p.gold[0] === paths[k]![0]).length;
    assert.equal(v.metrics.levels[0]!.accuracy, right / 6, 'level-1 accuracy counts the unknown label as wrong');
  }
});

test('label paths deeper or shallower than the task\'s levels are refused before the model loads', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const refusing = { loadModel: () => Promise.reject(new Error('the model was loaded')) } as unknown as Engine;
  const lines = fixtureLines(4);
  const two = writeLines('two.jsonl', lines.map((l) => ({ ...l, labels: l.labels.slice(0, 2) })));
  await assert.rejects(evaluateTask(refusing, task, { defaultModelDir: modelDir, file: two }), /wn\.hdlm\.json: 3 levels, but the labels in .*two\.jsonl have 2/);
  const four = writeLines('four.jsonl', lines.map((l) => ({ ...l, labels: [...l.labels, `${l.labels[2]}.finer`] })));
  await assert.rejects(evaluateTask(refusing, task, { defaultModelDir: modelDir, file: four }), /wn\.hdlm\.json: 3 levels, but the labels in .*four\.jsonl have 4/);
});

test('lines that are not examples are skipped and named, and counted in the result', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const lines: (object | string)[] = fixtureLines(8);
  lines[3] = { labels: (lines[3] as { labels: string[] }).labels }; // line 4: no text
  lines[6] = '{not json'; // line 7
  const file = writeLines('invalid.jsonl', lines);
  const notices: string[] = [];
  const result = await evaluateTask(engine, task, { defaultModelDir: modelDir, file, onNotice: (m) => notices.push(m) });
  assert.equal(result.examples, 6);
  assert.equal(result.skippedLines, 2);
  const said = notices.find((n) => /skipped/.test(n));
  assert.ok(said, notices.join('\n'));
  assert.match(said, /^2 lines of .*invalid\.jsonl skipped, not evaluated:\n.*invalid\.jsonl:4: missing field 'text'\n.*invalid\.jsonl:7: not valid JSON/);
});

test('an example is left out when any path the beam may explore would not fit the context, not only its gold path', async () => {
  // Level 1 "a" has many children with long names (a long candidate list after it), "b" one short
  // child: an input under "b" whose gold path fits can still overflow once the beam tries "a".
  const children = Array.from({ length: 10 }, (_, i) => `alpha category number ${i} with a rather long descriptive name`);
  const rows = [...children.map((c, i) => ({ text: `a thing of kind ${i}`, labels: ['a', c] })), { text: 'a small dog', labels: ['b', 'b1'] }];
  const train = writeLines('lists.jsonl', rows);
  const spec = (name: string, model: string, test?: string): string => {
    const path = join(dir, `${name}.hdlm.json`);
    writeFileSync(path, JSON.stringify({ name, model, dataset: { train, ...(test ? { test } : {}) }, levels: [{ layer: 2 }, { layer: 'last' }], listCandidates: true }));
    return path;
  };
  // Measured on the roomy model: the context that the short input just fits on every path.
  const short = 'a dog';
  let long = short;
  let context: number;
  {
    const session = await openTask(engine, readTaskFile(spec('lists', 'model')), modelDir);
    try {
      const { layout } = session.classifier;
      context = layout.longestPrompt(short);
      while (layout.longestPrompt(long) <= context) long += ' and a dog';
      const prefix = layout.sharedPrefix().length;
      assert.ok(prefix + layout.teacherForced(long, ['b', 'b1']).ids.length <= context, 'the long input\'s gold path fits');
      // The bound is every path's teacher-forced length, the worst one's exactly.
      const worst = Math.max(...children.map((c) => layout.teacherForced(short, ['a', c]).ids.length), layout.teacherForced(short, ['b', 'b1']).ids.length);
      assert.equal(layout.longestPrompt(short), prefix + worst);
    } finally {
      await session.release();
    }
  }
  const smallModel = join(dir, 'small-model');
  writeTinyModel(smallModel, root, { maxPositions: context });
  const test = writeLines('lists-test.jsonl', [{ text: short, labels: ['b', 'b1'] }, { text: long, labels: ['b', 'b1'] }]);
  const task = readTaskFile(spec('small', 'small-model', test));
  const records = readHierarchicalDataset(test).records;
  const session = await openTask(engine, task, modelDir);
  try {
    const { layout } = session.classifier;
    // Training's measure (the gold path) keeps both; classifying the long one with a beam that tries both parents overflows.
    assert.equal(fitToContext(session.loaded.model, layout, records).fits.length, 2);
    await assert.rejects(session.classifier.classify(long, { beam: 2, margin: 0 }), /the input needs \d+ positions but the model's context is \d+ \(max_position_embeddings\): \d+ of them the task's fixed prompt .*, \d+ the input with its turn markers, \d+ the labels after it; the task alone leaves \d+ positions for the input: shorten the task's "system" prompt or set "listCandidates": false/);
    const any = fitToContextOnAnyPath(session.loaded.model, layout, records);
    assert.deepEqual(any.fits.map((r) => r.text), [short]);
    assert.deepEqual(any.tooLong.map((t) => t.tokens), [layout.longestPrompt(long)]);
    await session.classifier.classify(short, { beam: 2, margin: 0 }); // fits on every path
  } finally {
    await session.release();
  }
  const notices: string[] = [];
  const result = await evaluateTask(engine, task, { defaultModelDir: modelDir, beam: 2, margin: 0, onNotice: (m) => notices.push(m) });
  assert.equal(result.examples, 1);
  assert.equal(result.tooLong, 1);
  assert.ok(notices.some((n) => new RegExp(`^1 example left out as longer than the model's context of ${context} positions .*lists-test\\.jsonl:2 needs \\d+$`).test(n)), notices.join('\n'));
  // Nothing that fits: refused (no empty record), saying what the candidate lists take.
  const onlyLong = writeLines('lists-long.jsonl', [{ text: long, labels: ['b', 'b1'] }]);
  await assert.rejects(
    evaluateTask(engine, task, { defaultModelDir: modelDir, file: onlyLong }),
    /lists-long\.jsonl: no example fits the model's context of \d+ positions \(max_position_embeddings in its config\.json\): 1 too long on the taxonomy's longest path \(.*lists-long\.jsonl:1 needs \d+\); the task lists candidates .*listCandidates: false leaves only the labels/,
  );
});

