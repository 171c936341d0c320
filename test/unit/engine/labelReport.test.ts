// The per-label report of an evaluation: per level, each label's precision, recall and F1 against
// hand-counted figures, the misses a level inherits from a wrong level above, the order (worst
// first), the confusions, and the Markdown a reader gets (a label with Markdown's own characters
// stays in its cell). Figures that also exist in the evaluation record (accuracy, macro-F1) must
// equal the metrics module's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExamplePrediction, ThoughtPrediction } from '../../../engine/src/hdlm/evaluationPredictions';
import { classifyLabelReport, thoughtLabelReport, type ClassifyLabelReport, type ThoughtLabelReport } from '../../../engine/src/hdlm/labelReport';
import { labelReportMarkdown } from '../../../engine/src/hdlm/labelReportMarkdown';
import { inlineCode, markdownText } from '../../../engine/src/markdownText';
import { pathMetrics } from '../../../engine/src/hdlm/metrics';

const path = (labels: string[]): { labels: string[]; probabilities: number[] } => ({ labels, probabilities: labels.map(() => 0.5) });

/** gold / HdLM / flat, two levels. */
const rows: ExamplePrediction[] = [
  [['A', 'a1'], ['A', 'a1'], ['A', 'a1']],
  [['A', 'a2'], ['A', 'a1'], ['A', 'a2']],
  [['A', 'a2'], ['B', 'b1'], ['A', 'a2']],
  [['B', 'b1'], ['B', 'b1'], ['B', 'b1']],
  [['B', 'b1'], ['A', 'a1'], ['B', 'b2']],
  [['B', 'b2'], ['B', 'b2'], ['B', 'b1']],
].map(([gold, hdlm, flat], i) => ({ id: `e${i}`, gold: gold!, hdlm: path(hdlm!), flat: path(flat!) }));

const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} against ${expected}`);

test('per level: each label counted by hand, worst first, with the misses inherited from a wrong level above', () => {
  const [one, two] = classifyLabelReport(rows);
  assert.ok(one && two);
  close(one.accuracy, 4 / 6, 'level 1 accuracy');
  assert.equal(one.examplesGivenAbove, 6, 'level 1: every example');
  assert.deepEqual(one.labels.map((l) => [l.label, l.examples, l.predicted, l.missed, l.missedAbove]), [
    ['A', 3, 3, 1, 0],
    ['B', 3, 3, 1, 0],
  ]);
  for (const l of one.labels) {
    close(l.f1, 2 / 3, `${l.label} F1`);
    close(l.flatF1, 1, `${l.label} flat F1`);
  }
  assert.deepEqual(one.confusions, [
    { gold: 'A', predicted: 'B', count: 1, share: 1 / 3 },
    { gold: 'B', predicted: 'A', count: 1, share: 1 / 3 },
  ]);

  close(two.accuracy, 3 / 6, 'level 2 accuracy');
  assert.equal(two.examplesGivenAbove, 4);
  close(two.accuracyGivenAbove, 3 / 4, 'level 2 accuracy where level 1 was right');
  // a2 never said (F1 0); b1 and a1 tie at 0.5, b1 has more examples; b2 all right.
  assert.deepEqual(two.labels.map((l) => [l.label, l.examples, l.predicted, l.missed, l.missedAbove]), [
    ['a2', 2, 0, 2, 1],
    ['b1', 2, 2, 1, 1],
    ['a1', 1, 3, 0, 0],
    ['b2', 1, 1, 0, 0],
  ]);
  const a1 = two.labels.find((l) => l.label === 'a1')!;
  close(a1.precision, 1 / 3, 'a1 precision');
  close(a1.recall, 1, 'a1 recall');
  close(a1.f1, 0.5, 'a1 F1');
  close(two.macroF1, (0 + 0.5 + 0.5 + 1) / 4, 'level 2 macro-F1');
  close(two.flatMacroF1, (1 + 1 + 0.5 + 0) / 4, 'level 2 flat macro-F1');
  assert.deepEqual(two.confusions.map((c) => [c.gold, c.predicted, c.count, c.share]), [
    ['a2', 'a1', 1, 0.5],
    ['a2', 'b1', 1, 0.5],
    ['b1', 'a1', 1, 0.5],
  ]);
  // The figures the evaluation record keeps are the metrics module's own.
  const m = pathMetrics(rows.map((r) => r.gold), rows.map((r) => r.hdlm.labels));
  m.levels.forEach((level, d) => {
    const report = [one, two][d]!;
    close(report.accuracy, level.accuracy, `level ${d + 1} accuracy`);
    close(report.macroF1, level.macroF1, `level ${d + 1} macro-F1`);
    assert.equal(report.labels.length, level.classes);
  });
});

test('thoughts are compared as the evaluation compares them, with each thought\'s answers beside', () => {
  const thought = (gold: string, said: string, answerRight: boolean, flatRight: boolean): Omit<ThoughtPrediction, 'id'> => ({
    gold: { thought: gold, answer: 'x' },
    hdlm: { thought: said, answer: 'y', thoughtProbability: 0.5, thoughtRight: said.trim().toLowerCase() === gold.trim().toLowerCase(), answerRight },
    flat: { answer: 'z', answerRight: flatRight },
  });
  const report = thoughtLabelReport(
    [thought('Animal', 'animal ', true, false), thought('animal', 'plant', false, false), thought('plant', 'plant', true, true), thought('plant', 'Animal', false, true)].map((t, i) => ({ ...t, id: `t${i}` })),
  );
  close(report.thoughtAccuracy, 2 / 4, 'thought accuracy');
  close(report.answerAccuracy, 2 / 4, 'answer accuracy');
  close(report.flatAnswerAccuracy, 2 / 4, 'flat answer accuracy');
  // "Animal", "animal " and "animal" are one thought, named as the first gold spelling.
  assert.deepEqual(report.thoughts.map((t) => [t.thought, t.examples, t.predicted, t.answerAccuracy, t.flatAnswerAccuracy]), [
    ['Animal', 2, 2, 0.5, 0],
    ['plant', 2, 2, 0.5, 1],
  ]);
  assert.deepEqual(report.confusions.map((c) => [c.gold, c.predicted, c.count]), [
    ['Animal', 'plant', 1],
    ['plant', 'Animal', 1],
  ]);
});

test('the Markdown: one row per label in a table of the right width, Markdown characters kept as text', () => {
  const tricky: ExamplePrediction[] = [
    { id: 'a', gold: ['x|y', 'under_score'], hdlm: path(['x|y', '*star*']), flat: path(['x|y', 'under_score']) },
    { id: 'b', gold: ['x|y', '*star*'], hdlm: path(['x|y', '*star*']), flat: path(['x|y', '*star*']) },
  ];
  const report: ClassifyLabelReport = { task: 't', kind: 'classify', file: '/d/test.jsonl', examples: 2, finishedAt: '2026-12-06T16:00:00.000Z', levels: classifyLabelReport(tricky), history: [] };
  const markdown = labelReportMarkdown(report);
  assert.match(markdown, /^# Per-label report: t\n/);
  assert.match(markdown, /\(2026-12-06 16:00 UTC\) on \/d\/test\.jsonl: 2 examples/);
  const tableRows = (level: number): string[][] => {
    const section = markdown.split(`## Level ${level}`)[1]!.split('###')[0]!;
    return section.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim()));
  };
  const one = tableRows(1);
  assert.equal(one.length, 2, 'header and one label');
  assert.deepEqual(one[1], ['x\\|y', '2', '2', '1.000', '1.000', '1.000', '1.000', '0']);
  const two = tableRows(2);
  assert.equal(two[0]!.length, 9, 'level 2 has the "missed after a wrong level above" column');
  // under_score was never said: precision has nothing to divide by and shows a dash.
  assert.deepEqual(two[1], ['under\\_score', '1', '0', '—', '0.000', '0.000', '1.000', '1', '0']);
  assert.equal(two[2]![0], '\\*star\\*');
  assert.equal(markdownText('a<b>[c](d)`e`'), 'a\\<b\\>\\[c\\](d)\\`e\\`');

  const thoughts: ThoughtLabelReport = { task: 'w', kind: 'thoughtThenAnswer', file: 'f', examples: 0, finishedAt: '2026-12-06T16:00:00.000Z', ...thoughtLabelReport([]), history: [] };
  assert.match(labelReportMarkdown(thoughts), /^# Per-thought report: w\n[\s\S]*## Most confused thoughts\n\nNone: every example was right\./);
});

test('inlineCode fences a string with more backticks than any run in it, padded where it begins or ends with one', () => {
  assert.equal(inlineCode('plain'), '`plain`');
  assert.equal(inlineCode('a`b'), '``a`b``');
  assert.equal(inlineCode('`x``'), '``` `x`` ```');
  assert.equal(inlineCode('two\nlines'), '`two lines`');
});
