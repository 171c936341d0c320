// `hdlm classify` on a task file: a small random model with the default tokenizer, the WordNet
// fixture as taxonomy source; the printed path must be a path of that taxonomy, level by level
// from the task's layers. Bad input is refused with the file and field named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { readHierarchicalDataset } from '../../../engine/src/hdlm/dataset/readDataset';
import { Taxonomy } from '../../../engine/src/hdlm/taxonomy';
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

function hdlm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'hdlm.js'), ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
