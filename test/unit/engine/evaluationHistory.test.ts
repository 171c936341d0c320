// An evaluation that replaces the kept one keeps that one as the previous evaluation and says
// what changed since: HdLM then and now, paired on the examples both measured (same id, same
// gold; the same file only), with the fixed and broken examples counted by hand; the per-label report then lists
// the labels whose F1 moved. A sample that is not kept changes nothing, and a previous record
// without predictions never pairs with older ones. The record names its file relative to the
// heads folder, so all of this holds after the project folder moves.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { EVALUATION_FILE, PREDICTIONS_FILE, saveEvaluationRecord, type EvaluationRecord } from '../../../engine/src/hdlm/evaluateTask';
import type { ExamplePrediction } from '../../../engine/src/hdlm/evaluationPredictions';
import { compareWithPrevious, HISTORY_FILE, HISTORY_LIMIT, PREVIOUS_EVALUATION_FILE, PREVIOUS_PREDICTIONS_FILE, readHistory, readHistoryResolved } from '../../../engine/src/hdlm/evaluationHistory';
import { portableRecordFile, resolveRecordFile } from '../../../engine/src/hdlm/recordFile';
import { labelChanges, type ClassifyLabelReport } from '../../../engine/src/hdlm/labelReport';
import { labelReportMarkdown } from '../../../engine/src/hdlm/labelReportMarkdown';

const path = (labels: string[]): { labels: string[]; probabilities: number[] } => ({ labels, probabilities: labels.map(() => 0.9) });
const row = (id: string, gold: string[], hdlm: string[]): ExamplePrediction => ({ id, gold, hdlm: path(hdlm), flat: path(gold) });

function record(finishedAt: string, extra: Partial<EvaluationRecord> = {}): EvaluationRecord {
  return { task: 't', file: '/d/test.jsonl', examples: 4, tooLong: 0, variants: [], level1ComputeRatio: 0.5, finishedAt, ...extra };
}

// Then: e1 right, e2 wrong at level 2, e3 wrong at level 1, e4 right, e5 (gone now).
const before = [row('e1', ['A', 'a1'], ['A', 'a1']), row('e2', ['A', 'a2'], ['A', 'a1']), row('e3', ['B', 'b1'], ['A', 'a1']), row('e4', ['B', 'b2'], ['B', 'b2']), row('e5', ['B', 'b1'], ['B', 'b1'])];
// Now: e2 fixed, e3 fixed at level 1 only, e4 broken at level 2; e6 is new; e1's gold was relabelled (not paired).
const after = [row('e1', ['B', 'b1'], ['B', 'b1']), row('e2', ['A', 'a2'], ['A', 'a2']), row('e3', ['B', 'b1'], ['B', 'b2']), row('e4', ['B', 'b2'], ['B', 'b1']), row('e6', ['A', 'a1'], ['A', 'a1'])];

test('now against then, paired on the examples both measured with the same gold', () => {
  const since = compareWithPrevious({ finishedAt: '2026-12-06T10:00:00.000Z', file: '/d/test.jsonl' }, before, after);
  assert.ok(since);
  assert.equal(since.examples, 3, 'e2, e3, e4');
  assert.deepEqual(
    since.changes.map((c) => [c.measure, c.previous, c.now, c.difference.aOnly, c.difference.bOnly]),
    [
      ['level 1', 2 / 3, 3 / 3, 1, 0], // e3 fixed
      ['level 2', 1 / 3, 1 / 3, 1, 1], // e2 fixed, e4 broken
      ['joint', 1 / 3, 1 / 3, 1, 1],
    ],
  );
  assert.equal(compareWithPrevious({ finishedAt: 'x', file: 'y' }, before, [row('z', ['A', 'a1'], ['A', 'a1'])]), undefined, 'nothing pairs');
});

test('saving keeps the replaced evaluation beside, and the new record says what changed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-history-'));
  try {
    const first = saveEvaluationRecord(dir, record('2026-12-06T10:00:00.000Z'), before);
    assert.equal(first.written?.sincePrevious, undefined, 'a first evaluation has nothing to compare with');
    assert.equal(first.notCompared, 'no evaluation was kept here before', 'and says so (hdlm eval prints it)');
    assert.equal(existsSync(join(dir, PREVIOUS_EVALUATION_FILE)), false);
    const firstRecord = readFileSync(join(dir, EVALUATION_FILE), 'utf8');
    const firstPredictions = readFileSync(join(dir, PREDICTIONS_FILE), 'utf8');

    const second = saveEvaluationRecord(dir, record('2026-12-06T11:00:00.000Z'), after);
    assert.equal(second.written?.sincePrevious?.examples, 3);
    assert.equal(second.notCompared, undefined);
    assert.equal(second.written?.sincePrevious?.finishedAt, '2026-12-06T10:00:00.000Z');
    assert.deepEqual((JSON.parse(readFileSync(join(dir, EVALUATION_FILE), 'utf8')) as EvaluationRecord).sincePrevious, second.written?.sincePrevious, 'the kept record carries it');
    assert.equal(readFileSync(join(dir, PREVIOUS_EVALUATION_FILE), 'utf8'), firstRecord);
    assert.equal(readFileSync(join(dir, PREVIOUS_PREDICTIONS_FILE), 'utf8'), firstPredictions);

    // A sample does not replace a whole evaluation made since the heads were trained: nothing moves.
    const sample = saveEvaluationRecord(dir, record('2026-12-06T12:00:00.000Z', { examples: 2, sampledFrom: 4 }), after.slice(0, 2), '2026-12-06T09:00:00.000Z');
    assert.ok(sample.kept && !sample.written);
    assert.equal(readFileSync(join(dir, PREVIOUS_EVALUATION_FILE), 'utf8'), firstRecord);

    // Another file: its examples are others, whatever their ids say; kept as the previous, not compared.
    const other = saveEvaluationRecord(dir, record('2026-12-06T12:30:00.000Z', { file: '/d/extra.jsonl' }), after);
    assert.equal(other.written?.sincePrevious, undefined);
    assert.match(other.notCompared ?? '', /^the previous evaluation \(2026-12-06T11:00:00\.000Z\) measured another file \(\/d\/test\.jsonl\)$/);
    assert.match(readFileSync(join(dir, PREVIOUS_EVALUATION_FILE), 'utf8'), /2026-12-06T11:00:00/);
    assert.ok(saveEvaluationRecord(dir, record('2026-12-06T12:40:00.000Z', { file: '/d/extra.jsonl' }), after).written?.sincePrevious, 'the same file again is compared');

    // A kept record without predictions (from before they were kept) becomes the previous one alone.
    rmSync(join(dir, PREDICTIONS_FILE));
    const third = saveEvaluationRecord(dir, record('2026-12-06T13:00:00.000Z'), after);
    assert.equal(third.written?.sincePrevious, undefined);
    assert.match(third.notCompared ?? '', /^the previous evaluation \(2026-12-06T12:40:00\.000Z\) kept no per-example predictions \(.*evaluation\.predictions\.jsonl was missing: they are not tracked in git/);
    assert.equal(existsSync(join(dir, PREVIOUS_PREDICTIONS_FILE)), false, 'no stale predictions left beside another record');
    assert.match(readFileSync(join(dir, PREVIOUS_EVALUATION_FILE), 'utf8'), /2026-12-06T12:40:00/);
    // An unreadable kept record is replaced without a comparison (a new record is better than none).
    writeFileSync(join(dir, EVALUATION_FILE), '{ half');
    const unreadable = saveEvaluationRecord(dir, record('2026-12-06T14:00:00.000Z'), after);
    assert.equal(unreadable.written?.sincePrevious, undefined);
    assert.match(unreadable.notCompared ?? '', /^the kept record .*evaluation\.json could not be read$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the report lists the labels whose F1 moved on the paired examples, and the measures then and now', () => {
  const moved = labelChanges(before, after);
  // Paired: e2, e3, e4. Level 2: a2 0 → 1 (e2 fixed), b2 1 → 0 (e4 broken), b1 0 → 0 (left out).
  // Level 1: then e3's B was said A (A: precision 1/2, B: recall 1/2, both F1 2/3), now all right.
  // Equal moves: more examples first, then by name.
  assert.deepEqual(
    moved.map((c) => [c.level, c.label, c.examples, Number(c.previousF1.toFixed(3)), Number(c.f1.toFixed(3))]),
    [
      [2, 'a2', 1, 0, 1],
      [2, 'b2', 1, 1, 0],
      [1, 'B', 2, 0.667, 1],
      [1, 'A', 1, 0.667, 1],
    ],
  );
  const since = compareWithPrevious({ finishedAt: '2026-12-06T10:00:00.000Z', file: '/d/test.jsonl' }, before, after)!;
  const report: ClassifyLabelReport = { task: 't', kind: 'classify', file: '/d/test.jsonl', examples: 5, finishedAt: '2026-12-06T11:00:00.000Z', levels: [], sincePrevious: { ...since, labels: moved }, history: [] };
  const markdown = labelReportMarkdown(report);
  assert.match(markdown, /## Since the previous evaluation\n\nHdLM now against the evaluation this one replaced \(2026-12-06 10:00 UTC, on \/d\/test\.jsonl\), paired on the 3 examples both measured/);
  assert.match(markdown, /^\| level 1 \| 66\.7 % \| 100\.0 % \| \+33\.3 points \| .* \| p 1\.00 \| 1 \| 0 \|$/m);
  assert.match(markdown, /^\| 2 \| a2 \| 1 \| 0\.000 \| 1\.000 \| \+1\.000 \|$/m);
});

test('every kept evaluation joins the history: its headline, the heads it measured; the newest 50, a damaged line skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdlm-history-log-'));
  try {
    const variants: EvaluationRecord['variants'] = [
      { name: 'hdlm', layers: [2, 4], levels: [{ level: 1, accuracy: 0.75, macroF1: 0.7 }, { level: 2, accuracy: 0.5, macroF1: 0.4 }], jointAccuracy: 0.5, msPerExample: 1, layerPositionsPerExample: 9, trainedHeads: true },
      { name: 'flat', layers: [4, 4], levels: [{ level: 1, accuracy: 0.5, macroF1: 0.5 }, { level: 2, accuracy: 0.25, macroF1: 0.2 }], jointAccuracy: 0.25, msPerExample: 1, layerPositionsPerExample: 9, trainedHeads: true },
    ];
    saveEvaluationRecord(dir, record('2026-12-06T10:00:00.000Z', { variants }), before, '2026-12-06T09:00:00.000Z');
    // A sample kept out (a whole evaluation of the same file, since the heads were trained, stays) is not an evaluation kept.
    saveEvaluationRecord(dir, record('2026-12-06T10:30:00.000Z', { variants, examples: 2, sampledFrom: 4 }), before.slice(0, 2), '2026-12-06T09:00:00.000Z');
    saveEvaluationRecord(dir, record('2026-12-06T11:00:00.000Z', { variants }), after, '2026-12-06T10:45:00.000Z');
    const history = readHistory(dir);
    assert.deepEqual(history.map((h) => [h.finishedAt, h.headsTrainedAt]), [['2026-12-06T10:00:00.000Z', '2026-12-06T09:00:00.000Z'], ['2026-12-06T11:00:00.000Z', '2026-12-06T10:45:00.000Z']]);
    assert.deepEqual(history[0], { finishedAt: '2026-12-06T10:00:00.000Z', file: '/d/test.jsonl', examples: 4, kind: 'classify', layers: [2, 4], headsTrainedAt: '2026-12-06T09:00:00.000Z', hdlm: { 'level 1': 0.75, 'level 2': 0.5, joint: 0.5 }, flat: { joint: 0.25 } });
    // A damaged line costs that line only; the file keeps the newest HISTORY_LIMIT.
    writeFileSync(join(dir, HISTORY_FILE), `${readFileSync(join(dir, HISTORY_FILE), 'utf8')}{ half\n`);
    for (let i = 0; i < HISTORY_LIMIT; i++) saveEvaluationRecord(dir, record(`2026-12-07T${String(10 + Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.000Z`, { variants }), after);
    const kept = readHistory(dir);
    assert.equal(kept.length, HISTORY_LIMIT);
    assert.equal(kept[0]!.finishedAt, '2026-12-07T10:00:00.000Z', 'the oldest dropped first');
    const report: ClassifyLabelReport = { task: 't', kind: 'classify', file: '/d/test.jsonl', examples: 4, finishedAt: kept.at(-1)!.finishedAt, levels: [], history: kept.slice(-2) };
    const markdown = labelReportMarkdown(report);
    assert.match(markdown, /## Evaluation history\n\nThe task's kept evaluations, newest first \(2;/);
    assert.match(markdown, /^\| evaluated \| file \| examples \| layers \| heads \| HdLM level 1 \| HdLM level 2 \| HdLM joint \| flat joint \|$/m);
    assert.match(markdown, /^\| 2026-12-07 10:49 UTC \| test\.jsonl \| 4 \| 2, 4 \| — \| 75\.0 % \| 50\.0 % \| 50\.0 % \| 25\.0 % \|$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a record names its file relative to the heads folder, so a moved or copied project still knows it', () => {
  const project = mkdtempSync(join(tmpdir(), 'hdlm-record-file-'));
  const moved = `${project}-moved`;
  try {
    mkdirSync(join(project, 'out', 'data'), { recursive: true });
    writeFileSync(join(project, 'out', 'data', 'test.jsonl'), '{}\n');
    const heads = (root: string): string => join(root, 'models', 'heads', 't');
    const data = (root: string): string => join(root, 'out', 'data', 'test.jsonl');
    const trained = '2026-12-06T09:00:00.000Z';
    saveEvaluationRecord(heads(project), record('2026-12-06T10:00:00.000Z', { file: data(project) }), before, trained);
    const written = JSON.parse(readFileSync(join(heads(project), EVALUATION_FILE), 'utf8')) as EvaluationRecord;
    assert.equal(written.file, '../../../out/data/test.jsonl', 'relative to the heads folder, forward slashes');
    assert.equal(readHistory(heads(project))[0]?.file, '../../../out/data/test.jsonl');

    // The whole project moves (a clone elsewhere): its old path is gone.
    renameSync(project, moved);
    const sample = saveEvaluationRecord(heads(moved), record('2026-12-06T11:00:00.000Z', { file: data(moved), examples: 2, sampledFrom: 4 }), after.slice(0, 2), trained);
    assert.ok(sample.kept && !sample.written, 'a sample does not replace the whole evaluation of the same file');
    const whole = saveEvaluationRecord(heads(moved), record('2026-12-06T12:00:00.000Z', { file: data(moved) }), after, trained);
    assert.equal(whole.written?.sincePrevious?.examples, 3, 'the same file: compared with the previous evaluation');
    assert.equal(whole.written?.sincePrevious?.file, '../../../out/data/test.jsonl');
    assert.deepEqual(readHistoryResolved(heads(moved)).map((h) => h.file), [data(moved), data(moved)], 'shown resolved where the project is now');
  } finally {
    rmSync(project, { recursive: true, force: true });
    rmSync(moved, { recursive: true, force: true });
  }
});

test('an older record naming an absolute path that is gone is taken for the task\'s dataset of the same folder and name', () => {
  const project = mkdtempSync(join(tmpdir(), 'hdlm-record-legacy-'));
  try {
    const heads = join(project, 'heads');
    const test = join(project, 'data', 'wordnet', 'test.jsonl');
    mkdirSync(heads, { recursive: true });
    mkdirSync(dirname(test), { recursive: true });
    writeFileSync(test, '{}\n');
    const old = record('2026-12-06T10:00:00.000Z', { file: '/work/gone/out/data/wordnet/test.jsonl' });
    const keep = (): void => {
      writeFileSync(join(heads, EVALUATION_FILE), JSON.stringify(old));
      writeFileSync(join(heads, PREDICTIONS_FILE), before.map((p) => `${JSON.stringify(p)}\n`).join(''));
    };
    const sample = (): EvaluationRecord => record('2026-12-06T11:00:00.000Z', { file: test, examples: 2, sampledFrom: 4 });
    keep();
    assert.ok(saveEvaluationRecord(heads, sample(), after.slice(0, 2), undefined, [join(project, 'data', 'wordnet', 'train.jsonl'), test]).kept);
    assert.ok(saveEvaluationRecord(heads, record('2026-12-06T12:00:00.000Z', { file: test }), after, undefined, [test]).written?.sincePrevious, 'compared with it');
    keep();
    assert.ok(saveEvaluationRecord(heads, sample(), after.slice(0, 2), undefined, [join(project, 'data', 'other', 'test.jsonl')]).written, 'another folder\'s test.jsonl is another file');
    assert.equal(resolveRecordFile(heads, `${old.file} (dev split, 10%)`, [test]), `${test} (dev split, 10%)`, 'the dev-split suffix kept');
    assert.equal(resolveRecordFile(heads, '/work/gone/x.jsonl', [test]), '/work/gone/x.jsonl', 'unknown: as written, for readers to say it is gone');
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});

test('portable record files: relative inside the project, absolute outside it, the dev-split suffix kept', () => {
  assert.equal(portableRecordFile('/home/u/p/heads/t', '/home/u/p/data/train.jsonl (dev split, 30%)'), '../../data/train.jsonl (dev split, 30%)');
  assert.equal(resolveRecordFile('/home/u/q/heads/t', '../../data/train.jsonl (dev split, 30%)'), '/home/u/q/data/train.jsonl (dev split, 30%)');
  assert.equal(portableRecordFile('/home/u/p/heads/t', '/srv/data/test.jsonl'), '/srv/data/test.jsonl', 'nothing but the root in common: outside the project');
  assert.equal(portableRecordFile('/home/u/p/heads/t', '../../data/test.jsonl'), '../../data/test.jsonl', 'already portable');
});
