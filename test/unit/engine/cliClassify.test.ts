// `hdlm classify` on a task file: a small random model with the default tokenizer, the WordNet
// fixture as taxonomy source; the printed path must be a path of that taxonomy, level by level
// from the task's layers. Bad input is refused with the file and field named.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const fixture = join(root, 'data', 'fixtures', 'wordnet.sample.jsonl');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-cls-'));
  const model = join(dir, 'model');
  writeTinyModel(model, root, { std: 0.2, seed: 6 });
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: fixture, levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }] }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[]): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
}

test('without --task on a model of the user\'s, classify refuses and says how to make a task', () => {
  const run = hdlm(['classify', '--model', join(dir, 'model'), 'a cat']);
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /hdlm: the shipped WordNet task does not fit .*model \(.*\); pass --task; make one with `hdlm new-task DATASET --model DIR`/);
});

test('hdlm classify prints a valid coarse-to-fine path with each level\'s layer', () => {
  const out = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), '--json', '--beam', '2', 'a large cat of the forests of Asia']);
  assert.equal(out.status, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { path: { label: string; layer: number; probability: number }[]; heads: string[]; layerPositions: number };
  const { records } = readHierarchicalDataset(fixture);
  const taxonomy = Taxonomy.fromPaths(records.map((r) => ({ labels: r.labels, source: r.id })));
  assert.ok(taxonomy.isPath(result.path.map((d) => d.label)), JSON.stringify(result.path));
  assert.deepEqual(result.path.map((d) => d.layer), [1, 2, 4]);
  assert.deepEqual(result.heads, ["model's own head", "model's own head", "model's own head"]);
  assert.ok(result.layerPositions > 0);
  const text = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), 'a flower']);
  assert.match(text.stdout, /level 1 @ layer 1\/4/);
});

test('a task with a bad field or a broken dataset is refused by name', () => {
  writeFileSync(join(dir, 'bad.hdlm.json'), JSON.stringify({ name: 'bad', model: 'model', dataset: fixture, levels: [{ layer: 9 }] }));
  const bad = hdlm(['classify', '--task', join(dir, 'bad.hdlm.json'), 'x']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /bad\.hdlm\.json: level layer 9 is beyond the model's 4 layers/);
  writeFileSync(join(dir, 'tree.jsonl'), '{"text":"a","labels":["x","y"]}\n{"text":"b","labels":["z","y"]}\n');
  writeFileSync(join(dir, 'tree.hdlm.json'), JSON.stringify({ name: 'tree', model: 'model', dataset: 'tree.jsonl', levels: [{ layer: 2 }, { layer: 'last' }] }));
  const tree = hdlm(['classify', '--task', join(dir, 'tree.hdlm.json'), 'x']);
  assert.equal(tree.status, 1);
  assert.match(tree.stderr, /tree\.jsonl: the label paths do not form a tree/);
  assert.match(tree.stderr, /tree\.jsonl:2: label 'y' has parent 'z' here but 'x' on line 1/);
});

test('--model says which model a task\'s "default" stands for, and a task that names its own refuses it', () => {
  writeFileSync(join(dir, 'default.hdlm.json'), JSON.stringify({ name: 'def', model: 'default', dataset: fixture, levels: [{ layer: 1 }, { layer: 2 }, { layer: 'last' }] }));
  const out = hdlm(['classify', '--task', join(dir, 'default.hdlm.json'), '--model', join(dir, 'model'), '--json', 'a flower']);
  assert.equal(out.status, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { path: { layer: number }[] };
  assert.deepEqual(result.path.map((d) => d.layer), [1, 2, 4], 'the 4-layer model given, not the shipped 8-layer one');
  const named = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), '--model', join(dir, 'model'), 'a flower']);
  assert.equal(named.status, 2);
  assert.match(named.stderr, /--model: .*wn\.hdlm\.json names its own model \(.*model\); --model applies to tasks whose "model" is "default"/);
});

test('--file classifies every input of a file: each line the single-text command\'s path, the accuracy against labels, --out whole or not at all', () => {
  const task = join(dir, 'wn.hdlm.json');
  const lines = readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 6);
  const inputs = join(dir, 'inputs.jsonl');
  // Line 4 is not an input: reported by line and skipped, the others still classified.
  writeFileSync(inputs, [...lines.slice(0, 3), '{"title": "no text"}', ...lines.slice(3)].join('\n'));
  const streamed = hdlm(['classify', '--task', task, '--file', inputs]);
  assert.equal(streamed.status, 0, streamed.stderr);
  type Row = { id: string; text: string; labels: string[]; probabilities: number[]; layers: number[]; gold?: string[] };
  const rows = streamed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
  assert.equal(rows.length, 6);
  assert.match(streamed.stderr, /inputs\.jsonl:4: expected an object with a non-empty "text"/);
  assert.match(streamed.stderr, /wn: 6 inputs classified, [\d.]+ ms each on cpu; against their labels: [\d.]+ \/ [\d.]+ \/ [\d.]+ % per level, [\d.]+ % joint/);
  const gold = lines.map((l) => JSON.parse(l) as { id: string; text: string; labels: string[] });
  assert.deepEqual(rows.map((r) => r.id), gold.map((g) => g.id));
  assert.deepEqual(rows.map((r) => r.gold), gold.map((g) => g.labels));
  // Each row is what classifying its text alone gives.
  const single = JSON.parse(hdlm(['classify', '--task', task, '--json', gold[1]!.text]).stdout) as { path: { label: string; probability: number }[] };
  assert.deepEqual(rows[1]!.labels, single.path.map((d) => d.label));
  assert.deepEqual(rows[1]!.layers, [1, 2, 4]);
  assert.ok(rows[1]!.probabilities.every((p, i) => Math.abs(p - single.path[i]!.probability) < 1e-9));
  // A plain text file: one input per non-empty line; --out written whole.
  const plain = join(dir, 'inputs.txt');
  writeFileSync(plain, 'a small dog\n\na tall tree with needles\n');
  const out = join(dir, 'labelled.jsonl');
  const written = hdlm(['classify', '--task', task, '--file', plain, '--out', out]);
  assert.equal(written.status, 0, written.stderr);
  assert.equal(written.stdout, '');
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as Row).id), ['line 1', 'line 3']);
  assert.match(hdlm(['classify', '--task', task, '--file', plain, 'and a text']).stderr, /give the text to classify or --file, not both/);
  assert.match(hdlm(['classify', '--task', task, '--file', join(dir, 'missing.txt')]).stderr, /--file .*missing\.txt: no such file/);
  assert.match(hdlm(['classify', '--task', task, '--file', plain, '--out', join(dir, 'nowhere', 'x.jsonl')]).stderr, /--out .*x\.jsonl: folder .*nowhere does not exist/);
});

test('--file FILE.JSONL (any case) is read as JSON lines: each input its text and id, not the raw line', () => {
  const upper = join(dir, 'INPUTS.JSONL');
  writeFileSync(upper, readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 2).join('\n'));
  const run = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), '--file', upper]);
  assert.equal(run.status, 0, run.stderr);
  const gold = readFileSync(upper, 'utf8').split('\n').map((l) => JSON.parse(l) as { id: string; text: string });
  const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string });
  assert.deepEqual(rows.map((r) => [r.id, r.text]), gold.map((g) => [g.id, g.text]));
});

test('--file warns of gold labels it cannot use as given, by line, and scores the others', () => {
  const task = join(dir, 'wn.hdlm.json');
  const gold = readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 5).map((l) => JSON.parse(l) as { id: string; text: string; labels: string[] });
  const inputs = join(dir, 'gold.jsonl');
  writeFileSync(
    inputs,
    [
      gold[0],
      { ...gold[1], labels: ['noun.bogus', 'x', 'y'] }, // 2: never seen in training (scored, wrong)
      gold[2],
      { ...gold[3], labels: gold[3]!.labels.slice(0, 2) }, // 4: another depth (left out)
      gold[4],
    ]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const out = hdlm(['classify', '--task', task, '--file', inputs, '--out', join(dir, 'gold.out.jsonl')]);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stderr, /gold\.jsonl:2: label 'noun\.bogus' at level 1 is not in the task's taxonomy \(never seen in training\): it cannot be predicted there, so it counts as wrong/);
  assert.match(out.stderr, /gold\.jsonl:4: 2 labels, but the task has 3 levels: left out of the accuracy against the labels/);
  assert.match(out.stderr, /\(2 inputs with labels the task cannot predict as given\)/);
  // The summary is over the four lines with three labels; the one left out is counted.
  assert.match(out.stderr, /wn: 5 inputs classified, .*; against their labels: [\d.]+ \/ [\d.]+ \/ [\d.]+ % per level, [\d.]+ % joint, over 4 of 5 inputs \(1 with labels of another depth\)/);
  const rows = readFileSync(join(dir, 'gold.out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { labels: string[]; gold?: string[] });
  assert.notEqual(rows[1]!.labels[0], 'noun.bogus');
});

test('--file warns by line of "labels" that is not a list of strings, and classifies those lines without gold', () => {
  const gold = readFileSync(fixture, 'utf8').trim().split('\n').slice(0, 4).map((l) => JSON.parse(l) as { id: string; text: string; labels: string[] });
  const inputs = join(dir, 'typed.jsonl');
  const lines = [gold[0], { ...gold[1], labels: 'noun.act' }, { ...gold[2], labels: ['noun.act', 3] }, { ...gold[3], labels: null }];
  writeFileSync(inputs, lines.map((l) => JSON.stringify(l)).join('\n'));
  const out = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), '--file', inputs, '--out', join(dir, 'typed.out.jsonl')]);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stderr, /typed\.jsonl:2: "labels" must be a list of label strings, got "noun\.act": left out of the accuracy against the labels/);
  assert.match(out.stderr, /typed\.jsonl:3: "labels" must be a list of label strings, got \["noun\.act",3\] \(item 2 is 3\): left out of the accuracy/);
  assert.doesNotMatch(out.stderr, /typed\.jsonl:[14]:/);
  assert.match(out.stderr, /\(2 inputs with labels the task cannot predict as given\)/);
  assert.equal(readFileSync(join(dir, 'typed.out.jsonl'), 'utf8').trim().split('\n').length, 4);
});

test('classify --out into the model folder is refused before the model loads, and the model is left whole', () => {
  const model = join(dir, 'model');
  const tokenizer = readFileSync(join(model, 'tokenizer.json'));
  writeFileSync(join(dir, 'in.txt'), 'a large cat\n');
  const out = hdlm(['classify', '--task', join(dir, 'wn.hdlm.json'), '--file', join(dir, 'in.txt'), '--out', join(model, 'tokenizer.json')]);
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, /--out .*tokenizer\.json: that is in the model folder .*model, which this command reads/);
  assert.deepEqual(readFileSync(join(model, 'tokenizer.json')), tokenizer);
});
