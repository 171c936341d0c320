// `hdlm think`: the shipped model and its trained thought task (real weights, real heads), as the
// editor's Think Then Answer runs it; a classification task thinks at its first level's layer
// through the model's own head; bad input is refused before any model loads.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { runHdlm, type CliRun } from '../../support/hdlmCli';
import { writeTinyModel } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const gloss = 'a large wild cat of Africa and Asia with a tawny coat and a mane';
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-cli-think-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function hdlm(args: string[]): CliRun {
  return runHdlm(root, args, { cacheDir: join(dir, 'cache') });
}

interface Thought {
  task: string;
  thought: string;
  answer: string;
  thoughtLayer: number;
  answerLayer: number;
  thoughtProbability: number;
  trainedHeads: { thought: boolean; answer: boolean };
  caughtUp: number;
  layerPositions: number;
}

test('hdlm think drafts the thought at the shipped thought task\'s layer with its trained heads, then answers on the same state', () => {
  const run = hdlm(['think', '--json', gloss]);
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout) as Thought;
  assert.equal(r.task, 'thought');
  assert.deepEqual([r.thoughtLayer, r.answerLayer], [4, 8]);
  assert.deepEqual(r.trainedHeads, { thought: true, answer: true });
  assert.ok(r.thought.length > 0 && r.answer.length > 0, JSON.stringify(r));
  assert.ok(r.thoughtProbability > 0 && r.thoughtProbability <= 1);
  // The thought's positions went on through layers 5-8 once, before the first answer token.
  assert.ok(r.caughtUp > 0 && r.layerPositions > 0);
  // Greedy: the same input thinks the same again, and the streamed text says what the JSON says.
  const text = hdlm(['think', gloss]);
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines[0]!.replace(/^thought \(layer 4\/8\): /, '').trim(), r.thought);
  assert.equal(lines[1]!.replace(/^answer {2}\(layer 8\/8\): /, '').trim(), r.answer);
  assert.match(lines[2]!, /^task thought on cpu: layer 4 was \d+\.\d % sure of its thought; \d+ positions caught up through layers 5–8 in one pass \(no re-prefill\)/);
});

test('a classification task thinks at its first level\'s layer through the model\'s own head', () => {
  writeTinyModel(join(dir, 'model'), root, { std: 0.2, seed: 6 });
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: join(root, 'data', 'fixtures', 'wordnet.sample.jsonl'), levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }] }));
  const run = hdlm(['think', '--task', join(dir, 'wn.hdlm.json'), '--thought-tokens', '3', '--max-tokens', '2', '--json', 'a flower']);
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout) as Thought;
  assert.deepEqual([r.thoughtLayer, r.answerLayer], [2, 4]);
  assert.deepEqual(r.trainedHeads, { thought: false, answer: false });
});

test('without --task, a model of the user\'s thinks through its own head, with a notice, whether the shipped task\'s layers or its heads do not fit', () => {
  // 4 layers: the shipped thought task's layer 4 is this model's last; 8 layers: its heads are the shipped model's.
  for (const layers of [4, 8]) {
    const model = join(dir, `own-${layers}`);
    writeTinyModel(model, root, { layers, std: 0.2, seed: 7 });
    const run = hdlm(['think', '--model', model, '--thought-tokens', '2', '--max-tokens', '2', '--json', 'a flower']);
    assert.equal(run.status, 0, run.stderr);
    const r = JSON.parse(run.stdout) as Thought;
    assert.deepEqual([r.thoughtLayer, r.answerLayer], [layers / 2, layers]);
    assert.deepEqual(r.trainedHeads, { thought: false, answer: false });
    const notices = run.stderr.split('\n').filter((l) => l.startsWith('hdlm: '));
    assert.equal(notices.length, 1, run.stderr);
    assert.match(notices[0]!, new RegExp(`^hdlm: the shipped thought task does not fit .*own-${layers}: thinking at layer ${layers / 2} through the model's own head \\(pass --task for trained heads\\)$`));
  }
});

test('bad input is refused with a clear message and the usage exit status', () => {
  const none = hdlm(['think']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /hdlm: give the input to think about/);
  const zero = hdlm(['think', '--thought-tokens', '0', 'x']);
  assert.equal(zero.status, 2);
  assert.match(zero.stderr, /--thought-tokens must be a whole number ≥ 1, got 0/);
  writeFileSync(join(dir, 'deep.hdlm.json'), JSON.stringify({ name: 'deep', kind: 'thoughtThenAnswer', model: 'default', dataset: 'd.jsonl', levels: [{ layer: 12 }, { layer: 'last' }] }));
  const deep = hdlm(['think', '--task', join(dir, 'deep.hdlm.json'), 'x']);
  assert.equal(deep.status, 1);
  assert.match(deep.stderr, /deep\.hdlm\.json: level layer 12 is beyond the model's 8 layers/);
});
