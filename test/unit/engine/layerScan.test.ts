// The layer scan: the suggestion rule on tables made by hand, and a scan of a small random model
// on the WordNet fixture, whose head at a level's own layer must reach exactly what fine-tuning
// that level's head there reaches (same rows, same trainer, same early stopping).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Engine } from '../../../engine/src/engine';
import { defaultScanLayers, LAYER_SCAN_FILE, readLayerScan, saveLayerScan, scanLayers, suggestLayers, type ScanEvent } from '../../../engine/src/hdlm/layerScan';
import { layerScanMarkdown, layerScanSummary } from '../../../engine/src/hdlm/layerScanMarkdown';
import { readTaskFile } from '../../../engine/src/hdlm/taskFile';
import { trainTask } from '../../../engine/src/hdlm/trainTask';
import { CancelledError } from '../../../engine/src/model/segmentedModel';
import { REPO_ROOT as root, taskWorkspace, WORDNET_FIXTURE as fixture } from '../../support/taskWorkspace';

let dir: string;
let engine: Engine;

before(async () => {
  ({ dir, engine } = await taskWorkspace('scan'));
  // ownLevel: the last level's head learns from its own level's rows, as the scan's heads do.
  const train = { epochs: 3, batchSize: 32, maxExamples: 80, devFraction: 0.2, patience: 2, lastLevelHead: 'ownLevel' };
  writeFileSync(join(dir, 'wn.hdlm.json'), JSON.stringify({ name: 'wn', model: 'model', dataset: { train: fixture }, levels: [{ layer: 2 }, { layer: 3 }, { layer: 'last' }], train }));
  writeFileSync(join(dir, 'thought.hdlm.json'), JSON.stringify({ name: 'th', kind: 'thoughtThenAnswer', model: 'model', dataset: { train: join(root, 'data', 'fixtures', 'thought.sample.jsonl') }, levels: [{ layer: 2 }, { layer: 'last' }], train: { epochs: 3, batchSize: 32, devFraction: 0.2, patience: 2 } }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('the suggestion is the cheapest layer within the tolerance, in increasing layers with room for the levels below', () => {
  const layers = [1, 2, 3, 4];
  assert.deepEqual(suggestLayers([[0.5, 0.8, 0.81, 0.8]], layers, 0.01, 4), [2], 'layer 2 is within a point of layer 3');
  assert.deepEqual(suggestLayers([[0.5, 0.8, 0.81, 0.8]], layers, 0, 4), [3], 'no tolerance: the best');
  // Level 1 is as good at 3 as at 4; level 2 then takes 4, the only deeper layer.
  assert.deepEqual(suggestLayers([[0.1, 0.2, 0.9, 0.9], [0.1, 0.2, 0.95, 0.3]], layers, 0.01, 4), [3, 4]);
  // Level 1's best is the last layer, but level 2 needs one deeper: level 1 takes the best it may.
  assert.deepEqual(suggestLayers([[0.1, 0.6, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]], layers, 0.01, 4), [2, 4]);
  // Three levels on three layers: each takes its own.
  assert.deepEqual(suggestLayers([[0.9, 0.1, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.9]], [2, 5, 8], 0.05, 8), [2, 5, 8]);
  assert.throws(() => suggestLayers([[1], [1]], [4], 0.01, 4), /2 levels needs at least 2 layers/);
});

test('a layer short of the best by more than the tolerance, but by no more than chance, is as good', () => {
  const d = (difference: number, pValue: number) => ({ aOnly: 0, bOnly: 0, difference, ci95: [difference, difference] as [number, number], pValue });
  const accuracy = [[0.3, 0.7, 0.714]];
  // 1.4 points below the best: beyond a point's tolerance; p 0.20 says the gap may be chance.
  assert.deepEqual(suggestLayers(accuracy, [1, 2, 3], 0.01, 4, [[d(-0.414, 0.001), d(-0.014, 0.2), d(0, 1)]]), [2]);
  // The same gap, shown real (p 0.01): the deeper layer earned its cost.
  assert.deepEqual(suggestLayers(accuracy, [1, 2, 3], 0.01, 4, [[d(-0.414, 0.001), d(-0.014, 0.01), d(0, 1)]]), [3]);
  assert.deepEqual(suggestLayers(accuracy, [1, 2, 3], 0.01, 4), [3], 'without the comparisons: the tolerance alone');
});

test('the last level\'s last layer costs what the layer below it does, so the more accurate of the two is suggested', () => {
  // Level 2 within a point at layers 3 and 4: at the last layer only the newest positions run.
  assert.deepEqual(suggestLayers([[0.9, 0.1, 0.1, 0.1], [0.1, 0.2, 0.845, 0.85]], [1, 2, 3, 4], 0.01, 4), [1, 4]);
  assert.deepEqual(suggestLayers([[0.9, 0.1, 0.1, 0.1], [0.1, 0.2, 0.85, 0.845]], [1, 2, 3, 4], 0.01, 4), [1, 3], 'equal cost: the more accurate');
  // Only the last level: an earlier level at the last layer would cost its whole depth.
  assert.deepEqual(suggestLayers([[0.1, 0.1, 0.845, 0.85], [0.1, 0.1, 0.1, 0.1, 0.9]], [1, 2, 3, 4, 5], 0.01, 5), [3, 5]);
  // A scan that left the last layer out has no such layer to prefer.
  assert.deepEqual(suggestLayers([[0.1, 0.845, 0.85]], [2, 3, 4], 0.01, 8), [3]);
});

test('the default layers: all of a shallow model, 12 spread over a deep one ending at the last', () => {
  assert.deepEqual(defaultScanLayers(8), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(defaultScanLayers(24), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
  const deep = defaultScanLayers(28);
  assert.equal(deep.length, 12);
  assert.equal(deep.at(-1), 28);
  assert.ok(deep.every((l, i) => i === 0 || l > deep[i - 1]!));
});

test('a scan trains every level at every layer; at a level\'s own layer it reaches what fine-tuning reaches there', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const events: ScanEvent[] = [];
  const scan = await scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), trainExamples: 80, devExamples: 200, onEvent: (e) => events.push(e) });
  assert.deepEqual(scan.layers, [1, 2, 3, 4]);
  assert.deepEqual(scan.current, [2, 3, 'last']);
  assert.equal(scan.levels.length, 3);
  assert.ok(scan.levels.every((l) => l.cells.map((c) => c.layer).join() === '1,2,3,4'));
  const cells = events.filter((e) => e.kind === 'scanCell');
  assert.deepEqual(cells.map((e) => e.done), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.ok(events.some((e) => e.kind === 'features'));
  assert.equal(scan.featuresFromCache, undefined, 'the first scan ran the backbone');
  // The suggestion follows the rule over the record's own figures, written as a task file writes layers.
  const numeric = suggestLayers(scan.levels.map((l) => l.cells.map((c) => c.accuracy)), scan.layers, scan.tolerance, scan.numLayers, scan.levels.map((l) => l.cells.map((c) => c.vsBest!)));
  assert.deepEqual(scan.suggested, numeric.map((l) => (l === 4 ? 'last' : l)));
  assert.deepEqual(scan.levels.map((l) => l.suggested), numeric);
  for (const level of scan.levels) {
    // Each cell against the best layer, paired: its difference is the accuracies'.
    for (const c of level.cells) assert.ok(Math.abs(c.vsBest!.difference - (c.accuracy - Math.max(...level.cells.map((x) => x.accuracy)))) < 1e-12);
    const best = Math.max(...level.cells.map((c) => c.accuracy));
    assert.equal(level.cells.find((c) => c.layer === level.best)!.accuracy, best);
    const suggested = level.cells.find((c) => c.layer === level.suggested)!;
    // Paired on the same dev examples: the difference is the accuracies' difference.
    assert.ok(Math.abs(level.suggestedVsBest.difference - (suggested.accuracy - best)) < 1e-12);
    for (const c of level.cells) {
      assert.ok(c.accuracy >= 0 && c.accuracy <= 1 && c.tokenAccuracy >= 0 && c.tokenAccuracy <= 1 && c.trainRows > 0);
      assert.ok(c.epochs >= 1 && c.epochs <= 3 && c.bestEpoch >= 1 && c.bestEpoch <= c.epochs);
    }
  }

  // Fine-tuning the task (levels at 2, 3 and 4) on the same sample: each head's best dev token
  // accuracy is the scan's at that level's layer, to the bit.
  const report = await trainTask(engine, { ...task, headsDir: join(dir, 'heads-trained') }, { defaultModelDir: join(dir, 'model') });
  const tokenAccuracy = (level: number, layer: number): number => scan.levels[level - 1]!.cells.find((c) => c.layer === layer)!.tokenAccuracy;
  assert.deepEqual(report.heads.slice(0, 3).map((h) => [h.layer, h.bestDevAccuracy]), [[2, tokenAccuracy(1, 2)], [3, tokenAccuracy(2, 3)], [4, tokenAccuracy(3, 4)]]);
  assert.deepEqual(report.heads.slice(0, 3).map((h) => h.trainRows), [1, 2, 3].map((d) => scan.levels[d - 1]!.cells.find((c) => c.layer === report.heads[d - 1]!.layer)!.trainRows));

  // A second scan of the same sample reads the backbone's features back, and measures the same.
  const again = await scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), trainExamples: 80, devExamples: 200 });
  assert.equal(again.featuresFromCache, true);
  assert.deepEqual(again.levels, scan.levels);
  assert.match(layerScanMarkdown(again), /read back from the feature cache of an earlier scan/);

  // Kept beside the heads and read back; the report names the suggestion and every cell.
  const file = saveLayerScan(task.headsDir, scan);
  assert.equal(file, join(task.headsDir, LAYER_SCAN_FILE));
  assert.deepEqual(readLayerScan(task.headsDir), scan);
  const markdown = layerScanMarkdown(scan);
  assert.match(markdown, new RegExp(`\\*\\*Suggested layers: ${scan.suggested.join(', ')}\\*\\* \\(the task file has 2, 3, last\\)`));
  assert.equal(markdown.split('\n').filter((l) => /^\| [123] \|/.test(l)).length, 3);
  assert.ok(layerScanSummary(scan).startsWith(`wn: suggested layers ${scan.suggested.join(', ')}`) && layerScanSummary(scan).endsWith(`on ${scan.examples.dev} dev examples`), layerScanSummary(scan));
});

test('a missing record reads as none; a damaged one names its file', () => {
  const heads = join(dir, 'heads-damaged');
  assert.equal(readLayerScan(heads), undefined);
  saveLayerScan(heads, { format: 'hdlm-layer-scan/1' } as never);
  writeFileSync(join(heads, LAYER_SCAN_FILE), '{ "format": "hdlm-layer-scan/1", "lev');
  assert.throws(() => readLayerScan(heads), new RegExp(`${LAYER_SCAN_FILE.replace('.', '\\.')}: not JSON`));
  writeFileSync(join(heads, LAYER_SCAN_FILE), '{ "format": "other" }');
  assert.throws(() => readLayerScan(heads), /not a layer scan record/);
});

test('a thought-then-answer task scans its thought below the last layer; at its own layer it reaches what fine-tuning reaches', async () => {
  const task = readTaskFile(join(dir, 'thought.hdlm.json'));
  await assert.rejects(scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), layers: [2, 4] }), /layer 4 cannot be scanned: the layers to scan are 1 to 3/, 'the last layer is the answer\'s');
  const scan = await scanLayers(engine, task, { defaultModelDir: join(dir, 'model') });
  assert.equal(scan.kind, 'thoughtThenAnswer');
  assert.deepEqual(scan.layers, [1, 2, 3]);
  assert.equal(scan.levels.length, 1, 'the thought alone');
  assert.deepEqual(scan.current, [2, 'last']);
  assert.deepEqual(scan.suggested, [scan.levels[0]!.suggested, 'last'], 'the answer stays at the last layer');
  const report = await trainTask(engine, { ...task, headsDir: join(dir, 'heads-thought') }, { defaultModelDir: join(dir, 'model') });
  const thought = report.heads.find((h) => h.name === 'thought')!;
  const cell = scan.levels[0]!.cells.find((c) => c.layer === 2)!;
  assert.deepEqual([thought.layer, thought.bestDevAccuracy, thought.trainRows], [2, cell.tokenAccuracy, cell.trainRows]);
  // A dev example is right when its whole thought is: never more often than its tokens are.
  assert.ok(scan.levels[0]!.cells.every((c) => c.accuracy <= c.tokenAccuracy + 1e-12));
  const markdown = layerScanMarkdown(scan);
  assert.match(markdown, /## Dev accuracy of the thought per layer/);
  assert.match(markdown, /^\| thought \|/m);
  assert.match(layerScanSummary(scan), /; thought [\d.]+ % at layer \d/);
});

test('a scan cancelled between heads stops with CancelledError; a missing model folder is named', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  const controller = new AbortController();
  const cells: number[] = [];
  await assert.rejects(
    scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), trainExamples: 80, devExamples: 200, signal: controller.signal, onEvent: (e) => e.kind === 'scanCell' && (cells.push(e.done), controller.abort()) }),
    CancelledError,
  );
  assert.deepEqual(cells, [1], 'no head trained after the cancel');
  const missing = { ...task, model: join(dir, 'no-such-model') };
  await assert.rejects(scanLayers(engine, missing, { defaultModelDir: join(dir, 'model') }), new RegExp(join(dir, 'no-such-model').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
});

test('layers the model lacks, or too few for the levels, are refused before any work', async () => {
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  await assert.rejects(scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), layers: [2, 9] }), /layer 9 cannot be scanned: the layers to scan are 1 to 4/);
  await assert.rejects(scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), layers: [2, 3] }), /3 levels need at least 3 layers/);
});

test('a level with no choice is refused before the backbone runs, as training refuses it', async () => {
  const data = join(dir, 'no-choice.jsonl');
  const lines = readFileSync(fixture, 'utf8').split('\n').filter((l) => l.trim());
  // Level 2 has one label under each parent: nothing to choose there.
  writeFileSync(data, `${lines.map((l) => { const r = JSON.parse(l) as { labels: string[] }; return JSON.stringify({ ...r, labels: [r.labels[0], `only-${r.labels[0]}`] }); }).join('\n')}\n`);
  const task = { ...readTaskFile(join(dir, 'wn.hdlm.json')), dataset: { train: data }, levels: [2, 4] };
  const refusal = await trainTask(engine, task, { defaultModelDir: join(dir, 'model') }).then(() => undefined, (err: Error) => err.message);
  assert.match(refusal ?? '', /level 2 has one label under each parent/);
  const events: ScanEvent[] = [];
  await assert.rejects(scanLayers(engine, task, { defaultModelDir: join(dir, 'model'), layers: [2, 4], onEvent: (e) => events.push(e) }), (err: Error) => err.message === refusal);
  assert.ok(!events.some((e) => e.kind === 'features' || (e.kind === 'stage' && /backbone/.test(e.message))), 'the backbone never ran');
});

test("a heads folder holding another task's heads, or that is a file, is refused before any work, as training refuses it", async () => {
  // The scan keeps its record in the heads folder: it must not write into another task's folder.
  const task = readTaskFile(join(dir, 'wn.hdlm.json'));
  // A copy of one shipped head (never the shipped folder itself: a regression would write there).
  const shipped = join(root, 'models', 'hdlm-tiny', 'heads', 'wordnet');
  const borrowed = join(dir, 'borrowed-heads');
  mkdirSync(borrowed, { recursive: true });
  for (const f of readdirSync(shipped).filter((f) => /^level1\./.test(f))) copyFileSync(join(shipped, f), join(borrowed, f));
  const events: ScanEvent[] = [];
  await assert.rejects(scanLayers(engine, { ...task, headsDir: borrowed }, { defaultModelDir: join(dir, 'model'), onEvent: (e) => events.push(e) }), (err: Error) => {
    // The scan's own words: it writes no head, so it does not say that it would replace any.
    assert.match(err.message, /wn\.hdlm\.json: the heads folder .*borrowed-heads holds the heads of task "wordnet" \(level1\.json\), not of task "wn": scanning its layers would keep the scan's record there, as if it were task "wordnet"'s; set "heads" to a folder of its own/);
    assert.doesNotMatch(err.message, /training|fine-tuning/);
    return true;
  });
  assert.deepEqual(events, [], 'nothing ran');
  const file = join(dir, 'heads-file');
  writeFileSync(file, 'not a folder');
  await assert.rejects(scanLayers(engine, { ...task, headsDir: file }, { defaultModelDir: join(dir, 'model') }), /the heads folder .*heads-file is a file/);
});
