// Training a task end to end on a small random model and the WordNet fixture: heads and the flat
// baseline are trained and saved, an interrupted run resumes where it stopped (finished heads are
// skipped, the interrupted one continues from its last epoch), and evaluation compares both.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../../engine/src/engine';
import { evaluateTask } from '../../../engine/src/hdlm/evaluateTask';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { trainTask, TrainEvent } from '../../../engine/src/hdlm/trainTask';
import { CancelledError } from '../../../engine/src/model/segmentedModel';
import { writeTinyCheckpoint } from '../../support/tinyCheckpoint';

const root = resolve(__dirname, '..', '..', '..', '..');
const fixture = join(root, 'data', 'fixtures', 'wordnet.sample.jsonl');
let dir: string;
let engine: Engine;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hdlm-train-'));
  process.env['XDG_CACHE_HOME'] = join(dir, 'cache');
  writeTinyCheckpoint(join(dir, 'model'), { family: 'llama', layers: 4, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 4096, std: 0.1, seed: 5, maxPositions: 1024 });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(root, 'models', 'hdlm-tiny', f), join(dir, 'model', f));
  writeFileSync(
    join(dir, 'wn.hdlm.json'),
    JSON.stringify({ name: 'wn', model: 'model', dataset: { train: fixture, test: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train: { epochs: 2, batchSize: 64, maxExamples: 80, devFraction: 0.2, patience: 5 } }),
  );
  engine = await Engine.create({ providers: ['cpu'], threads: 1 });
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
  const level2Epochs = events.filter((e) => e.kind === 'epoch' && e.head === 'level2').map((e) => (e as { epoch: number }).epoch);
  assert.deepEqual(level2Epochs, [2], 'level 2 continues with its second epoch');
  assert.deepEqual(report.heads.map((h) => h.name), ['level1', 'level2', 'level3', 'flat']);
  assert.deepEqual(report.heads.map((h) => h.layer), [2, 3, 4, 4]);
  assert.ok(report.heads.every((h) => h.epochs.length === 2 && h.bestDevAccuracy >= 0));
  assert.ok(report.heads[3]!.trainRows > report.heads[0]!.trainRows, 'the flat head learns every level\'s tokens');
  assert.ok(existsSync(join(task.headsDir, 'train-report.json')));
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
});
